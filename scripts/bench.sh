#!/usr/bin/env bash
# Runs the benchmarks and rewrites the "Latest run" section at the top of
# BENCHMARKS.md with their figures, the machine and the commit (the sections
# below it keep each benchmark's method, history and reading, by hand).
#
#   bash scripts/bench.sh                 # every benchmark, full size
#   bash scripts/bench.sh report sync     # some of them
#   CDHT_BENCH_SMALL=1 bash scripts/bench.sh   # smaller sizes, a quick look
#
# Benchmarks: photo, store, sync, report, crowd, links, crash, durability, ui, size. Each runs in release
# mode, one after the other (they would skew each other on two cores); its
# whole output is kept in target/bench/NAME.txt. A benchmark that fails is
# written as failed, with the end of its output, and the script exits 1.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
out_dir=${CARGO_TARGET_DIR:-$PWD/target}/bench
mkdir -p "$out_dir"

all=(photo store sync scale report crowd links crash durability ui size)
chosen=("$@")
[ ${#chosen[@]} -gt 0 ] || chosen=("${all[@]}")
small=${CDHT_BENCH_SMALL:-}

# The full size, or the small one under CDHT_BENCH_SMALL.
size() { if [ -n "$small" ]; then echo "$2"; else echo "$1"; fi; }

# name → the command that runs it (what BENCHMARKS.md says to reproduce it).
command_of() {
  case "$1" in
    photo) echo "cargo run --release -p cdht-photo --example photo_bench -- 4 $(size 3 1)" ;;
    # The encryption ratio at 500 people, then an officer's tablet after a season
    # (issue 14, item 6): 10,000 people, open-assessment latency, size on disk, memory.
    store) echo "cargo run --release -p cdht-store --features bench-unencrypted --example store_bench -- $(size 500 200) 3 && cargo run --release -p cdht-store --features bench-unencrypted --example store_bench -- $(size 10000 1000) 1" ;;
    sync) echo "cargo run --release -p cdht-server --example sync_bench -- $(size 50000 5000)" ;;
    # Issue 15: 1 and 2 serve instances on SQLite and on PostgreSQL (a durable
    # private cluster, started below for this run).
    scale) echo "cargo build --release -p cdht-server --bin cdht-server && cargo run --release -p cdht-server --example scale_bench -- $(size 20000 2000)" ;;
    report) echo "cargo run --release -p cdht-server --example report_bench -- $(size 500000 50000)" ;;
    crowd) echo "cargo run --release -p cdht-server --example crowd_bench -- $(size 200 50)" ;;
    links) echo "cargo run --release -p cdht-sync-engine --example link_bench$(size '' ' -- small')" ;;
    crash) echo "CDHT_CRASH_ROUNDS=$(size 200 20) cargo test --release -p cdht-server --test crash_rounds -- --nocapture" ;;
    durability) echo "CDHT_DURABILITY_ROUNDS=$(size 100 10) cargo test --release -p cdht-app --test durability -- --nocapture" ;;
    ui) echo "bash scripts/e2e.sh >/dev/null && bash scripts/ui-budget.sh" ;;
    size) echo "bash scripts/app-size.sh" ;;
    *) return 1 ;;
  esac
}

# The links benchmark makes a network namespace and a veth pair named after
# this run (as root; without, it falls back to the relay's pacing and says
# so); a run killed half-way leaves nothing behind either.
export CDHT_NETNS_SUFFIX="b$$"
cleanup_links() {
  ip netns del "cdhtl-$CDHT_NETNS_SUFFIX" 2>/dev/null || true
  ip link del "cdu$CDHT_NETNS_SUFFIX" 2>/dev/null || true
}
# One PostgreSQL cluster with its durable defaults for the benchmarks that use
# it (scale), stopped at the end.
pg_dir=$(mktemp -d /tmp/cdht-bench-pg.XXXXXX)
cleanup() {
  cleanup_links
  bash scripts/pg-cluster.sh stop "$pg_dir" 2>/dev/null || true
}
trap cleanup EXIT
if printf '%s\n' "${chosen[@]}" | grep -qx scale; then
  CDHT_TEST_PG_URL=$(CDHT_PG_DURABLE=1 bash scripts/pg-cluster.sh start "$pg_dir")
  export CDHT_TEST_PG_URL
fi

failed=0
for name in "${chosen[@]}"; do
  cmd=$(command_of "$name") || { echo "bench: unknown benchmark '$name' (known: ${all[*]})" >&2; exit 2; }
  echo "== bench $name: $cmd"
  start=$(date +%s)
  if bash -c "$cmd" >"$out_dir/$name.txt" 2>"$out_dir/$name.err"; then
    echo "ok" >"$out_dir/$name.status"
  else
    echo "failed" >"$out_dir/$name.status"
    failed=1
  fi
  echo "$(( $(date +%s) - start ))" >"$out_dir/$name.seconds"
  echo "$cmd" >"$out_dir/$name.cmd"
  echo "   $(cat "$out_dir/$name.status") in $(cat "$out_dir/$name.seconds") s"
done

python3 scripts/bench_write.py BENCHMARKS.md "$out_dir" "${chosen[@]}"
echo "== BENCHMARKS.md: the latest run written"
exit $failed
