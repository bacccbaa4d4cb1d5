#!/usr/bin/env bash
# Runs every fuzz target for N seconds each, one after the other, and prints
# libFuzzer's final stats line per target. Usage: fuzz/run-all.sh <seconds>
# Full logs: fuzz/target/run-all/<target>.log. Exits non-zero if any target failed.
set -uo pipefail

seconds="${1:?usage: fuzz/run-all.sh <seconds>}"
cd "$(dirname "$0")/.."
logs=fuzz/target/run-all
mkdir -p "$logs"

cargo +nightly fuzz build || exit 1

failed=()
for target in $(cargo +nightly fuzz list); do
    log="$logs/$target.log"
    cargo +nightly fuzz run "$target" -- -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1
    status=$?
    done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -n 1)
    executed=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
    if [ "$status" -eq 0 ]; then
        printf '%-10s ok      executions=%s  %s\n' "$target" "${executed:-?}" "$done_line"
    else
        failed+=("$target")
        printf '%-10s FAILED  exit=%s  see %s\n' "$target" "$status" "$log"
        grep -E 'panicked at|Test unit written to' "$log" | head -n 2 | sed 's/^/           /'
    fi
done

if [ "${#failed[@]}" -gt 0 ]; then
    echo "failed: ${failed[*]}"
    exit 1
fi
