#!/usr/bin/env bash
# Counts what a request costs in a way a noisy machine cannot blur:
# user-space instructions per request (valgrind's callgrind) and system calls
# per request (strace -c), for basehttp's `hello` example (one or more builds
# of it) beside hyper. Prints a Markdown table.
#
# usage: bench/profile.sh [LABEL=PATH_TO_HELLO ...]
#        (default: current=target/release/examples/hello)
#
# Instructions: `hello --mode sequential` under callgrind answers N keep-alive
# requests over one connection (bench/python/counted_client.py), one at a
# time and 16 pipelined; two runs of different N are subtracted, so start-up
# and shutdown cancel out. System calls: strace -f -c attached while wrk
# (one thread, 2 s) sends keep-alive requests over 16 connections, and
# Connection: close requests over 16; counts are divided by wrk's requests.
#
# Installs valgrind, strace and wrk from Debian's packages if missing; builds
# the bench crate (for hyper) in release mode. The `hello` builds given must
# exist (e.g. built from an older commit with a separate CARGO_TARGET_DIR).
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$bench_dir/.." && pwd)"
bench_target="${CARGO_TARGET_DIR:-$bench_dir/target}"
client="$bench_dir/python/counted_client.py"

missing=()
for tool in valgrind strace wrk; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
    as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
    as_root apt-get update
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y "${missing[@]}"
fi

specs=("$@")
if [ ${#specs[@]} -eq 0 ]; then
    (cd "$root" && cargo build --release --example hello)
    specs=("current=$root/target/release/examples/hello")
fi
(cd "$bench_dir" && cargo build --release --bin hyper_hello)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# start_server OUT COMMAND...: starts a server writing its startup line to
# OUT; sets $pid and $port.
start_server() {
    local out="$1"
    shift
    "$@" >"$out" 2>/dev/null &
    pid=$!
    port=""
    for _ in $(seq 300); do
        port="$(grep -o '127\.0\.0\.1[: ][a-z ]*[0-9]*' "$out" 2>/dev/null | grep -o '[0-9]*$' | head -n1 || true)"
        [ -n "$port" ] && return 0
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    echo "profile.sh: no startup line from $*" >&2
    exit 1
}

stop_server() {
    kill -TERM "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

# instructions N DEPTH COMMAND...: user-space instructions of the whole run.
instructions() {
    local n="$1" depth="$2"
    shift 2
    start_server "$work/out" valgrind --tool=callgrind --callgrind-out-file="$work/cg" "$@" 127.0.0.1:0
    python3 "$client" "$port" "$n" "$depth" >/dev/null
    stop_server
    callgrind_annotate "$work/cg" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }'
}

# per_request DEPTH COMMAND...: instructions per request, by difference.
per_request() {
    local depth="$1"
    shift
    local small large
    small="$(instructions 1000 "$depth" "$@")"
    large="$(instructions 5000 "$depth" "$@")"
    echo $(((large - small) / 4000))
}

# syscalls keep-alive|close COMMAND...: system calls per request under wrk,
# with the three most frequent.
syscalls() {
    local wrk_args=()
    # (wrk ignores a header without a space after its colon.)
    [ "$1" = close ] && wrk_args=(-H "Connection: close")
    shift
    start_server "$work/out" "$@" 127.0.0.1:0
    strace -f -c -o "$work/st" -p "$pid" 2>/dev/null &
    local tracer=$!
    # Let strace attach to every thread before the load starts.
    sleep 1
    local requests
    requests="$(wrk -t1 -c16 -d2s "${wrk_args[@]}" "http://127.0.0.1:$port/" | awk '/requests in/ { print $1 }')"
    kill -INT "$tracer"
    wait "$tracer" 2>/dev/null || true
    stop_server
    awk -v r="$requests" '
        $NF == "total" { total = $4 }
        NR > 2 && $NF != "total" && $NF != "syscall" && $1 !~ /^-/ {
            calls = ($4 ~ /^[0-9]+$/) ? $4 : $3
            if (calls ~ /^[0-9]+$/) { n[$NF] = calls }
        }
        END {
            printf "%.2f (", total / r
            sep = ""
            for (k = 0; k < 3; k++) {
                best = ""
                for (s in n) if (best == "" || n[s] > n[best]) best = s
                if (best == "") break
                printf "%s%s %.2f", sep, best, n[best] / r
                sep = ", "
                delete n[best]
            }
            printf ")"
        }' "$work/st"
}

echo "| server | instructions/request, one at a time | instructions/request, 16 pipelined | system calls/request, keep-alive ×16 | system calls/request, \`Connection: close\` ×16 |"
echo "|---|--:|--:|---|---|"
row() {
    local name="$1"
    shift
    local one sixteen ka close
    one="$(per_request 1 "$@")"
    sixteen="$(per_request 16 "$@")"
    ka="$(syscalls keep-alive "$@")"
    close="$(syscalls close "$@")"
    echo "| $name | $one | $sixteen | $ka | $close |"
}
for spec in "${specs[@]}"; do
    label="${spec%%=*}"
    path="${spec#*=}"
    row "basehttp $label (sequential)" "$path" --mode sequential
    row "basehttp $label (pool)" "$path" --mode pool
done
row "hyper" "$bench_target/release/hyper_hello"
row "hyper pipeline_flush" "$bench_target/release/hyper_hello" --pipeline-flush
