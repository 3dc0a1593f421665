#!/usr/bin/env bash
# Supply-chain checks with cargo-deny (installed by scripts/setup.sh):
#  1. the workspace against deny.toml: advisories, licences, bans, sources;
#  2. cdht-core alone against crates/core/deny.toml: no IO crate in its tree.
#
# Advisories need the RustSec database, a git repository on GitHub. It is fetched when
# reachable (60 s at most). When it is not (CI here reaches package registries only),
# the check runs against .ci/advisory-db instead: a small hand-kept snapshot of the
# advisories that concern crates of our Cargo.lock, turned into the local git repository
# cargo-deny expects. That fallback is partial by nature, so it is printed as such;
# refresh it (and run this script where GitHub is reachable) when dependencies change.
set -euo pipefail
cd "$(dirname "$0")/.."

# The database's folder name under db-path is derived by cargo-deny from db-urls in
# deny.toml (seen with `cargo deny -L debug fetch db`).
db_dir_name=advisory-db-3157b0e258782691
live_root=target/advisory-dbs/live
snapshot_root=target/advisory-dbs/snapshot

# The crates' manifests and licence files, which the checks read (offline from here on).
cargo fetch --quiet

fetch_log=$(mktemp)
trap 'rm -f "$fetch_log"' EXIT
if CDHT_ADVISORY_DB_ROOT=$live_root timeout 60 cargo deny --log-level error fetch db >"$fetch_log" 2>&1; then
  export CDHT_ADVISORY_DB_ROOT=$live_root
  head=$(git -C "$live_root/$db_dir_name" log -1 --format='%h of %cs')
  echo "advisory database: live RustSec database, fetched now (commit $head)"
else
  export CDHT_ADVISORY_DB_ROOT=$snapshot_root
  db="$snapshot_root/$db_dir_name"
  rm -rf "$db"
  mkdir -p "$db"
  cp -R .ci/advisory-db/crates "$db/"
  # cargo-deny opens the database as a git repository with a HEAD commit.
  git -C "$db" init -q
  git -C "$db" add -A
  git -C "$db" -c user.name=cdht -c user.email=cdht@localhost commit -q -m "vendored snapshot"
  count=$(find "$db/crates" -name 'RUSTSEC-*.md' | wc -l)
  echo "advisory database: live RustSec database NOT reachable; using the vendored snapshot"
  echo "  (fetch: $(grep -v '^\s*$' "$fetch_log" | tail -n 1 | cut -c1-160))"
  echo "  .ci/advisory-db ($count advisories, see .ci/advisory-db/README.md): PARTIAL, not the full database"
fi

echo "== cargo deny: workspace (advisories, licences, bans, sources)"
cargo deny --offline --log-level warn check --hide-inclusion-graph
echo "== cargo deny: core purity (no IO crate under cdht-core)"
cargo deny --offline --log-level warn --manifest-path crates/core/Cargo.toml \
  --config crates/core/deny.toml check bans
