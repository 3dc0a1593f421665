#!/usr/bin/env bash
# The desktop app's shipped binary, built as it is shipped (the `release-app`
# profile: LTO, one codegen unit, stripped; the UI embedded), and its size
# against the 15 MB goal of issue 14 (BENCHMARKS.md, "App binary size").
# Needs the UI built (scripts/setup.sh does it). Prints a markdown table.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
target=${CARGO_TARGET_DIR:-$PWD/target}
(cd src-tauri && ../ui/node_modules/.bin/tauri build --no-bundle -- --profile release-app) >&2
bin="$target/release-app/cdht"
bytes=$(stat -c %s "$bin")
stripped=$(mktemp)
trap 'rm -f "$stripped"' EXIT
strip -o "$stripped" "$bin"
stripped_bytes=$(stat -c %s "$stripped")
goal=$((15 * 1000 * 1000))
python3 - "$bytes" "$stripped_bytes" "$goal" <<'PY'
import sys
b, s, goal = map(int, sys.argv[1:])
print("| build | file, bytes | stripped, bytes | stripped, MB | goal | |")
print("|---|---:|---:|---:|---:|---|")
print(f"| `release-app` (target/release-app/cdht) | {b:,} | {s:,} | {s / 1e6:.2f} | {goal / 1e6:.0f} MB | {'met' if s <= goal else 'NOT MET'} |")
PY
