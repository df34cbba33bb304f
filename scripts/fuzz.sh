#!/usr/bin/env bash
# Fuzzing campaign: every target in fuzz/ (libFuzzer through cargo-fuzz, on the nightly toolchain), each for
# SECONDS (default 30) from its committed seed corpus, one after another.
#
#   scripts/fuzz.sh [SECONDS] [TARGET ...]
#
# New inputs go to fuzz/corpus-run/TARGET (not committed); a crash fails the script (the others still run), its input under
# fuzz/artifacts/TARGET. Each target's executions, coverage and crashes are printed as one line, and the
# table is written to fuzz/last-run.txt. The nightly toolchain and cargo-fuzz are installed when missing.
# FUZZ_RUNS=N also stops each target after N executions (a campaign: FUZZ_RUNS=10000000 scripts/fuzz.sh 3600).
# FUZZ_BUILD=--dev builds without optimisation (a quicker build for the test command's short runs).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

seconds="${1:-30}"
shift || true
if ! rustup toolchain list | grep -q '^nightly'; then
    rustup toolchain install nightly --profile minimal
fi
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --locked --version 0.13.2
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    mapfile -t targets < <(cargo +nightly fuzz list)
fi
build="${FUZZ_BUILD:--O}"
runs=()
[ -n "${FUZZ_RUNS:-}" ] && runs=(-runs="${FUZZ_RUNS}")
cargo +nightly fuzz build "$build"
printf '%-16s %12s %8s %8s %s\n' target execs cov ft crashes | tee fuzz/last-run.txt
status=0
for t in "${targets[@]}"; do
    mkdir -p "fuzz/corpus-run/$t"
    log="fuzz/corpus-run/$t.log"
    # The http target keeps one router, runtime and SQLite pool across inputs; their background allocations
    # made LeakSanitizer scan the heap after nearly every input (half the time). Its memory is held to the
    # 2 GB rss limit instead, which a leak per request would reach over a campaign.
    extra=()
    [ "$t" = http ] && extra=(-detect_leaks=0)
    if cargo +nightly fuzz run "$build" "$t" "fuzz/corpus-run/$t" "fuzz/corpus/$t" -- "${runs[@]}" "${extra[@]}" \
        -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 -max_len=262144 >"$log" 2>&1; then
        crashes=0
    else
        crashes=1
        status=1
    fi
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    printf '%-16s %12s %8s %8s %s\n' "$t" "${execs:-?}" "${cov:-?}" "${ft:-?}" "$crashes" | tee -a fuzz/last-run.txt
    if [ "$crashes" -ne 0 ]; then
        echo "== $t crashed: its input is under fuzz/artifacts/$t; the log ends:" >&2
        tail -40 "$log" >&2
    fi
done
exit "$status"
