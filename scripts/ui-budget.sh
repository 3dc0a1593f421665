#!/usr/bin/env bash
# The UI's budget figures for BENCHMARKS.md (not a test): the app bundle's JS + CSS
# gzipped and its fonts (ui/scripts/budget.mjs on ui/app/dist), then the median of
# 5 times from app start to an interactive first screen, through tauri-driver under
# a private Xvfb. Uses the debug app scripts/e2e.sh built, or the binary given:
#   bash scripts/ui-budget.sh [APP_BINARY [DIST_DIR]]
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)
app_binary=${1:-${CARGO_TARGET_DIR:-$repo/target}/debug/cdht}
dist=$(realpath "${2:-$repo/ui/app/dist}")
[ -x "$app_binary" ] || { echo "ui-budget: no app at $app_binary (run scripts/e2e.sh first)" >&2; exit 1; }

echo "== bundle: $dist"
(cd ui && node scripts/budget.mjs "$dist") || true

work=$(mktemp -d /tmp/cdht-budget.XXXXXX)
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
  sleep 0.5
  for pid in "${pids[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT INT TERM
free_port() { node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
setsid Xvfb -displayfd 5 -screen 0 1280x900x24 -nolisten tcp 5>"$work/display" 2>"$work/xvfb.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$work/display" ] && break; sleep 0.1; done
display=":$(tr -d '\n' <"$work/display")"
port=$(free_port)
native_port=$(free_port)
DISPLAY="$display" XDG_DATA_HOME="$work/xdg-data" XDG_CONFIG_HOME="$work/xdg-config" \
  XDG_CACHE_HOME="$work/xdg-cache" NO_AT_BRIDGE=1 \
  setsid tauri-driver --port "$port" --native-port "$native_port" >"$work/tauri-driver.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do (echo >"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.1; done
echo "== start to interactive first screen: $app_binary"
cd tests/e2e
WEBDRIVER_URL="http://127.0.0.1:$port" CDHT_APP_BINARY="$app_binary" CDHT_E2E_WORK="$work" node startup-time.mjs
