#!/usr/bin/env bash
# Sets up, builds and runs the main job: the sync server on embedded SQLite
# with a demo unit tree, plus the desktop app when there is a display. Without
# a display, the server keeps running (Ctrl+C stops it).
#   CDHT_RUN_DATA  server data folder   (default ./cdht-data, kept between runs)
#   CDHT_LISTEN    server address       (default 127.0.0.1:8080)
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

data=${CDHT_RUN_DATA:-$PWD/cdht-data}
listen=${CDHT_LISTEN:-127.0.0.1:8080}
url="http://$listen"

echo "== building the sync server (release)"
cargo build --release -p cdht-server
server=target/release/cdht-server

if [ ! -f "$data/cdht.sqlite3" ]; then
  echo "== first run: creating the demo unit tree in $data"
  mkdir -p "$data"
  "$server" init --data "$data" --demo --public-url "$url" >"$data/demo.json"
  "$server" units qr DEMO-X1-C1 --data "$data" --out "$data/poster-DEMO-X1-C1.png" >/dev/null
fi
echo "== a printable unit poster: $data/poster-DEMO-X1-C1.png (cdht-server units qr CODE --out FILE.pdf for others)"
echo "== demo units and officers (also in $data/demo.json)"
python3 - "$data/demo.json" <<'PY' || cat "$data/demo.json"
import json, sys
d = json.load(open(sys.argv[1]))
for u in d.get("units", []):
    print(f"  {u.get('code', ''):12} {u.get('name', '')}  join key {u.get('join_key', '')}  QR {u.get('qr_url', '')}")
for o in d.get("officers", []):
    print(f"  officer {o.get('username', ''):14} password {o.get('password', '')}  {o.get('role', '')} of {o.get('unit', '')}")
PY

echo "== starting the sync server on $url"
"$server" serve --data "$data" --listen "$listen" &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT INT TERM
for _ in $(seq 100); do
  curl -fsS "$url/healthz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$url/healthz" >/dev/null || { echo "the server did not start" >&2; exit 1; }
echo "   health: $url/healthz   API: $url/api/openapi.json   unit page: $url/j/DEMO-X1-C1"

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  echo "== building the desktop app (release, UI embedded)"
  (cd src-tauri && ../ui/node_modules/.bin/tauri build --no-bundle)
  echo "== starting the app: join a unit by typing the server $url, a unit code and its join key above"
  target/release/cdht
else
  echo "== no display: the server keeps running; press Ctrl+C to stop"
  wait "$server_pid"
fi
