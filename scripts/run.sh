#!/usr/bin/env bash
# Sets up, builds and runs the main job: the sync server on embedded SQLite
# with a demo unit tree, plus the desktop app when there is a display. Without
# a display, the server keeps running (Ctrl+C stops it).
#   CDHT_RUN_DATA    server data folder   (default ./cdht-data, kept between runs)
#   CDHT_LISTEN      server address       (default 127.0.0.1:8080; 0.0.0.0:8080 for
#                    phones on the same network)
#   CDHT_PUBLIC_URL  the server's address as phones reach it, printed in the QR
#                    (default: this machine's LAN address when listening on all
#                    interfaces, else the listen address)
#   CDHT_SERVER_BIN  an already built cdht-server: skips setup and the build
#                    (the test of this script uses it)
set -euo pipefail
cd "$(dirname "$0")/.."

data=${CDHT_RUN_DATA:-$PWD/cdht-data}
listen=${CDHT_LISTEN:-127.0.0.1:8080}
url="http://$listen"
host=${listen%:*}
port=${listen##*:}

if [ -n "${CDHT_SERVER_BIN:-}" ]; then
  server=$CDHT_SERVER_BIN
else
  bash scripts/setup.sh
  echo "== building the sync server (release)"
  cargo build --release -p cdht-server
  server=target/release/cdht-server
fi

# The address phones reach the server at: it goes into every poster's QR.
reach_note=""
if [ -n "${CDHT_PUBLIC_URL:-}" ]; then
  public=$CDHT_PUBLIC_URL
  reach_note="from CDHT_PUBLIC_URL"
elif [ "$host" = "0.0.0.0" ] || [ "$host" = "[::]" ]; then
  lan=$(ip -4 route get 192.0.2.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
  [ -n "$lan" ] || lan=$(hostname -I 2>/dev/null | awk '{print $1}')
  public="http://${lan:-127.0.0.1}:$port"
  reach_note="this machine's address on the local network (set CDHT_PUBLIC_URL to choose another).
   Note: the app sends over plain HTTP only to this computer itself; phones need the server
   behind HTTPS (serve --tls-cert/--tls-key, then CDHT_PUBLIC_URL=https://…)"
else
  public=$url
  case "$host" in
    127.*|localhost|"[::1]")
      reach_note="WARNING: only this computer can reach $host; phones cannot join from this poster.
   Phones on the same Wi-Fi: CDHT_LISTEN=0.0.0.0:$port bash scripts/run.sh
   Behind a proxy or a domain name: CDHT_PUBLIC_URL=https://your.domain bash scripts/run.sh"
      ;;
  esac
fi

if [ ! -f "$data/cdht.sqlite3" ]; then
  echo "== first run: creating the demo unit tree in $data"
  mkdir -p "$data"
  "$server" init --data "$data" --demo --public-url "$public" >"$data/demo.json"
else
  # Keeps the demo tree; stores the address the posters and QR URLs print.
  "$server" init --data "$data" --public-url "$public" >/dev/null
fi
poster="$data/poster-DEMO-X1-C1.png"
"$server" units qr DEMO-X1-C1 --data "$data" --public-url "$public" --out "$poster" >/dev/null
echo "== a printable unit poster: $poster (cdht-server units qr CODE --data $data --out FILE.pdf for others)"
echo "   its QR points phones to $public${reach_note:+ ($reach_note)}"
echo "== demo units (cdht-server units list --data $data)"
"$server" units list --data "$data" >"$data/units.json"
python3 - "$data/units.json" <<'PY'
import json, sys
for u in json.load(open(sys.argv[1])):
    print(f"  {u.get('code', ''):12} {u.get('name', '')}  join key {u.get('join_key', '')}  QR {u.get('qr_url') or ''}")
PY
echo "== demo officers (also in $data/demo.json): each logs in to the dashboard ($url/dashboard/)"
python3 - "$data/demo.json" "$url" <<'PY' || cat "$data/demo.json"
import json, sys
does = {
    "admin": "manages units, join keys and officers",
    "reviewer": "approves or returns submitted assessments",
    "recogniser": "records the recognition decision (number, date)",
    "collector": "binds a tablet to collect door to door for the unit",
    "viewer": "reads assessments and totals",
}
d = json.load(open(sys.argv[1]))
for o in d.get("officers", []):
    role = o.get("role", "")
    print(f"  {o.get('username', ''):14} password {o.get('password', ''):14} {role} of {o.get('unit', '')}: {does.get(role, '')}")
print(f"   also through the HTTP API: POST {sys.argv[2]}/api/v1/login, then the routes of {sys.argv[2]}/api/openapi.json")
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
# The dashboard's address and one demo login that works (a reviewer of a commune).
login=$(python3 - "$data/demo.json" <<'PY' || true
import json, sys
for o in json.load(open(sys.argv[1])).get("officers", []):
    if o.get("role") == "reviewer":
        print(f"{o['username']} / {o['password']} (reviewer of {o['unit']})")
        break
PY
)
echo "== the dashboard: $url/dashboard/   log in as ${login:-one of the demo officers above}"

if [ -z "${CDHT_SERVER_BIN:-}" ] && [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  if command -v xdg-open >/dev/null 2>&1; then
    echo "== opening the dashboard in the default browser"
    xdg-open "$url/dashboard/" >/dev/null 2>&1 || true
  fi
  # The plain release profile: it builds faster than the
  # size-trimmed release-app profile the app is shipped with (README).
  echo "== building the desktop app (release, UI embedded)"
  (cd src-tauri && ../ui/node_modules/.bin/tauri build --no-bundle)
  echo "== starting the app: join a unit by typing the server $public, a unit code and its join key above"
  target/release/cdht
else
  echo "== no display: the server keeps running; press Ctrl+C to stop"
  wait "$server_pid"
fi
