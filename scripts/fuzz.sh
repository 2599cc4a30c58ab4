#!/usr/bin/env bash
# Run every cargo-fuzz target for SECONDS (default 600), two at a time (2 cores).
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# The corpus lives in fuzz/corpus/<target>; crashes land in fuzz/artifacts/.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-600}
targets=(from_response token_catalog clouds_yaml redactor)
cargo +nightly fuzz build -O
run() { cargo +nightly fuzz run -O "$1" "corpus/$1" -- -max_total_time="$secs" -rss_limit_mb=2048 -print_final_stats=1 > "/tmp/fuzz-$1.log" 2>&1; echo "$1 exit=$?"; }
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  run "${targets[i]}" &
  [ -n "${targets[i+1]:-}" ] && run "${targets[i+1]}" &
  wait
done
