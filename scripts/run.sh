#!/usr/bin/env bash
# Sets up, builds, and runs the main job. Today: the operator CLI on the demo
# assessment (the sync server and the desktop app join as they land).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cargo build --release -p cdht-server
bin=target/release/cdht-server

echo "== Bộ tiêu chí / criteria catalogs"
"$bin" catalogs
echo "== Chấm điểm bài tự đánh giá mẫu / scoring the demo assessment (examples/demo-assessment.json)"
"$bin" score examples/demo-assessment.json
