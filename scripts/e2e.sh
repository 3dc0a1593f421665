#!/usr/bin/env bash
# End-to-end tests of the real desktop app: builds the UI and the debug app
# (UI embedded), starts a private Xvfb and tauri-driver, runs tests/e2e, and
# leaves screenshots in e2e-artifacts/. Every process it starts is stopped on
# exit, pass or fail. Needs what scripts/setup.sh installs.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

target_dir=${CARGO_TARGET_DIR:-$repo/target}
app_binary="$target_dir/debug/cdht"
artifacts="$repo/e2e-artifacts"
work=$(mktemp -d /tmp/cdht-e2e.XXXXXX)
rm -rf "$artifacts"
mkdir -p "$artifacts"

pids=()
cleanup() {
  local status=$?
  for pid in "${pids[@]}"; do
    # The process group: tauri-driver's WebKitWebDriver and the app go with it.
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  done
  sleep 0.5
  for pid in "${pids[@]}"; do
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
  done
  cp -f "$work"/*.log "$artifacts"/ 2>/dev/null || true
  rm -rf "$work"
  exit "$status"
}
trap cleanup EXIT INT TERM

echo "== e2e: building the UI"
(cd ui && { [ -d node_modules ] || npm install --no-audit --no-fund; } && npm run check --silent && npm run build --silent)
echo "== e2e: building the app (debug, UI embedded)"
(cd src-tauri && ../ui/node_modules/.bin/tauri build --debug --no-bundle)
# The sync server the tests start (tests/e2e/harness.mjs builds it the same
# way): built here, so that its build never counts against a test's timeout.
echo "== e2e: building the sync server"
cargo build --quiet -p cdht-server
(cd tests/e2e && { [ -d node_modules ] || npm install --no-audit --no-fund; })

free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }

# A private X display: Xvfb picks a free number and writes it to fd 5.
setsid Xvfb -displayfd 5 -screen 0 1280x900x24 -nolisten tcp 5>"$work/display" 2>"$work/xvfb.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
display=":$(tr -d '\n' <"$work/display")"
[ "$display" != ":" ] || { echo "e2e: Xvfb did not start" >&2; exit 1; }

port=$(free_port)
native_port=$(free_port)
# XDG_DATA_HOME: whatever the app might write outside --data-dir stays in the temp folder.
DISPLAY="$display" XDG_DATA_HOME="$work/xdg-data" XDG_CONFIG_HOME="$work/xdg-config" \
  XDG_CACHE_HOME="$work/xdg-cache" NO_AT_BRIDGE=1 \
  setsid tauri-driver --port "$port" --native-port "$native_port" >"$work/tauri-driver.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do
  (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 0.1
done

echo "== e2e: running tests (display $display, driver port $port)"
cd tests/e2e
WEBDRIVER_URL="http://127.0.0.1:$port" CDHT_APP_BINARY="$app_binary" CDHT_E2E_WORK="$work" \
  CDHT_E2E_ARTIFACTS="$artifacts" node --test --test-concurrency=1 --test-reporter=spec app.test.mjs next_steps.test.mjs wrong_server.test.mjs deletes.test.mjs
echo "== e2e: passed; screenshots in e2e-artifacts/"
