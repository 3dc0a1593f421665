#!/usr/bin/env bash
# Sets up, then runs every check and test: formatting, lints, unit, property,
# integration, browser and end-to-end tests. This is the README's test command; CI runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# A clean build gains nothing from incremental caches, which only take disk.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== supply chain: cargo deny (advisories, licences, bans, sources, core purity)"
bash scripts/deny.sh
echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test (one private PostgreSQL cluster for the PostgreSQL backend's tests)"
pg_dir=$(mktemp -d /tmp/cdht-pg.XXXXXX)
trap 'bash scripts/pg-cluster.sh stop "$pg_dir"' EXIT
CDHT_TEST_PG_URL=$(bash scripts/pg-cluster.sh start "$pg_dir")
export CDHT_TEST_PG_URL
cargo test --workspace
echo "== every command of the README, as written (cdht-server from the test build)"
bash scripts/check-readme.sh target/debug
echo "== browser tests of the dashboard (Chromium, the real server)"
bash scripts/dashboard-test.sh
echo "== end-to-end tests of the desktop app (tauri-driver under Xvfb)"
bash scripts/e2e.sh
