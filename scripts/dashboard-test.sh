#!/usr/bin/env bash
# Browser tests of the officers' dashboard (tests/dashboard): builds the
# dashboard and the sync server (dashboard embedded), then drives Debian's
# Chromium with playwright-core against the real server on 127.0.0.1 (each
# test file starts its own, with a temporary data folder). Screenshots and
# axe-core findings land in target/dashboard-shots/. Needs what
# scripts/setup.sh installs (chromium, poppler-utils, the npm packages).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

echo "== dashboard: building the pages and the sync server that embeds them"
(cd ui && npm run check --silent && npm run build:dashboard --silent >/dev/null)
cargo build --quiet -p cdht-server
target_dir=${CARGO_TARGET_DIR:-$PWD/target}
export CDHT_SERVER_BIN=${CDHT_SERVER_BIN:-$target_dir/debug/cdht-server}
export CDHT_DASHBOARD_SHOTS=${CDHT_DASHBOARD_SHOTS:-$target_dir/dashboard-shots}
rm -rf "$CDHT_DASHBOARD_SHOTS"

echo "== dashboard: browser tests (Chromium $(chromium --version 2>/dev/null | awk '{print $2}'))"
(cd tests/dashboard && { [ -d node_modules ] || npm ci --no-audit --no-fund --loglevel=error; } && npm test --silent)
echo "== dashboard: screenshots in $CDHT_DASHBOARD_SHOTS"
