#!/usr/bin/env bash
# Run every cargo-fuzz target for SECONDS (default 600), two at a time (2 cores).
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Each target starts from its committed seeds (fuzz/seeds/<target>, read only)
# and the corpus grown by earlier runs; what it finds is written to
# fuzz/corpus/<target>, which git ignores. Crashes land in fuzz/artifacts/
# (keep a fixed one as fuzz/regressions/<target>/<name>: CI replays those).
# To refresh the seeds from a grown corpus: python3 scripts/fuzz_seeds.py.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-600}
targets=(from_response token_catalog clouds_yaml redactor)
cargo +nightly fuzz build -O
run() {
  mkdir -p "corpus/$1"
  # libFuzzer writes new inputs to the first directory and reads them all.
  cargo +nightly fuzz run -O "$1" "corpus/$1" "seeds/$1" -- -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 > "/tmp/fuzz-$1.log" 2>&1
  echo "$1 exit=$?"
}
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  run "${targets[i]}" &
  [ -n "${targets[i+1]:-}" ] && run "${targets[i+1]}" &
  wait
done
