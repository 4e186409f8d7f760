#!/usr/bin/env bash
# Runs every fuzz target (or the ones named) for SECONDS each, one after the other, starting from
# the seeds in fuzz/seeds/<target> plus whatever fuzz/corpus/<target> (not committed) already holds.
#
#   fuzz/run.sh 30                       # what .ci/run does
#   fuzz/run.sh 600 segment_document     # a longer run of one target
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`, installed here when missing). The stable toolchain
# runs it with RUSTC_BOOTSTRAP=1 (cargo-fuzz passes nightly-only -Z flags). FUZZ_SANITIZER picks
# the sanitizer (default `address`; `none` where the ASan runtime is missing). A crash, a hang
# (-timeout, 10 s per input) or an out-of-memory (-rss_limit_mb) fails the script; the input is
# left in fuzz/artifacts/<target>/ and the log in fuzz/logs/<target>.log. A summary line per target gives executions and seconds.
set -euo pipefail
cd "$(dirname "$0")"

seconds=${1:?usage: fuzz/run.sh SECONDS [TARGET...]}
shift
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(trace_header daemon_address sampling_rules sampling_responses local_datagram segment_document)
fi
sanitizer=${FUZZ_SANITIZER:-address}
export RUSTC_BOOTSTRAP=1

if ! cargo fuzz --version >/dev/null 2>&1; then
    cargo install cargo-fuzz --locked
fi

build_start=$(date +%s)
cargo fuzz build -O -a --sanitizer "$sanitizer"
echo "fuzz: built in $(( $(date +%s) - build_start ))s (sanitizer: $sanitizer)"

summary=()
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t" "artifacts/$t" logs
    dict=()
    case $t in
        sampling_rules | sampling_responses | local_datagram | segment_document) dict=(-dict=json.dict) ;;
    esac
    log="logs/$t.log"
    start=$(date +%s)
    if ! cargo fuzz run -O -a --sanitizer "$sanitizer" "$t" "corpus/$t" "seeds/$t" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
        -print_final_stats=1 "${dict[@]}" >"$log" 2>&1; then
        grep -E -m 20 -A 6 "panicked at|ERROR: (libFuzzer|AddressSanitizer)|SUMMARY" "$log" | cut -c 1-400 || tail -n 30 "$log" | cut -c 1-400
        echo "fuzz: $t FAILED; the input is in fuzz/artifacts/$t/" >&2
        exit 1
    fi
    execs=$(grep -a -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' || echo '?')
    line="fuzz: $t: $execs executions in $(( $(date +%s) - start ))s, no crash"
    echo "$line"
    summary+=("$line")
done
printf '%s\n' "${summary[@]}"
