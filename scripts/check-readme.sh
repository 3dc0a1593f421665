#!/usr/bin/env bash
# Runs every command of the README's ```sh blocks, as written, in a fresh
# folder, and fails on the first that fails. Not run: the block with the two
# top commands (run.sh has its own test, test.sh is what calls this) and the
# block that builds cdht-server and puts it on PATH (done here by the
# argument: the folder holding an already built cdht-server).
#   bash scripts/check-readme.sh target/debug
set -euo pipefail
cd "$(dirname "$0")/.."
bin_dir=$(cd "${1:?usage: check-readme.sh DIR_WITH_CDHT_SERVER}" && pwd)
readme=$PWD/README.md
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export PATH="$bin_dir:$PATH"
unset CDHT_DATA CDHT_PUBLIC_URL CDHT_LISTEN

# The commands, one per line, from the sh blocks (skipping the two above).
python3 - "$readme" >"$work/commands" <<'PY'
import sys
blocks, cur = [], None
for line in open(sys.argv[1], encoding="utf-8"):
    line = line.rstrip("\n")
    if cur is None and line.strip() == "```sh":
        cur = []
    elif cur is not None and line.strip() == "```":
        blocks.append(cur)
        cur = None
    elif cur is not None:
        cur.append(line)
for block in blocks:
    text = "\n".join(block)
    if "scripts/run.sh" in text or "export PATH" in text:
        continue
    for line in block:
        if line.strip() and not line.lstrip().startswith("#"):
            print(line)
PY

n=0
cd "$work"
while IFS= read -r cmd; do
  n=$((n + 1))
  echo "== README command $n: $cmd"
  case "$cmd" in
    "cdht-server serve "*)
      # Runs until stopped: it must come up and answer.
      port=$(sed -n 's/.*--listen 127.0.0.1:\([0-9]*\).*/\1/p' <<<"$cmd")
      bash -c "$cmd" >"$work/serve.log" 2>&1 &
      pid=$!
      ok=""
      for _ in $(seq 100); do
        if curl -fsS "http://127.0.0.1:$port/healthz" >/dev/null 2>&1; then ok=1; break; fi
        sleep 0.1
      done
      kill "$pid" 2>/dev/null || true
      wait "$pid" 2>/dev/null || true
      [ -n "$ok" ] || { cat "$work/serve.log" >&2; echo "README command failed: $cmd" >&2; exit 1; }
      ;;
    *)
      bash -c "$cmd" >"$work/out.log" 2>&1 || {
        cat "$work/out.log" >&2
        echo "README command failed: $cmd" >&2
        exit 1
      }
      ;;
  esac
done <"$work/commands"
[ "$n" -ge 5 ] || { echo "check-readme: found only $n commands" >&2; exit 1; }
echo "== all $n README commands ran"
