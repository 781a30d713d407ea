#!/usr/bin/env bash
# Uploads: a 1 GiB `curl -T` (PUT) to the `basehttp` binary (`-u`) and to
# nginx's WebDAV module (`dav_methods PUT`), in one run, servers taking turns;
# prints the BENCHMARKS.md section (kept there between the `bench:uploads`
# markers) on standard output.
#
# usage: bench/uploads.sh [ROUNDS]      (default 3)
#
# Needs curl, taskset and nginx with the dav module (Debian's `nginx` has it);
# builds the binary in release mode. Each upload is read from a file in the
# page cache (read once before the first round) and written to a temporary
# directory on the same file system for both servers; the uploaded file is
# removed after each round. Server pinned to CPU 1, curl to CPU 0.
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$bench_dir/.." && pwd)"
rounds="${1:-3}"
size=$((1 << 30))

(cd "$root" && cargo build --release --bin basehttp)
basehttp="${CARGO_TARGET_DIR:-$root/target}/release/basehttp"
nginx="$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)"

work="$(mktemp -d)"
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    rm -rf "$work"
}
trap cleanup EXIT

head -c "$size" /dev/zero >"$work/source"
cat "$work/source" >/dev/null

# basehttp: the port from its startup line.
mkdir "$work/basehttp-root"
taskset -c 1 "$basehttp" -q -u -b 127.0.0.1 -d "$work/basehttp-root" 0 >"$work/basehttp.out" 2>&1 &
basehttp_pid=$!
pids+=("$basehttp_pid")
for _ in $(seq 100); do grep -q ' port ' "$work/basehttp.out" && break; sleep 0.1; done
basehttp_port="$(sed -n 's/.* port \([0-9]*\) .*/\1/p' "$work/basehttp.out")"

# nginx: one worker, WebDAV PUT only, bodies buffered in its temp path on the
# same file system (nginx always writes a body to a temporary file first).
nginx_port=$((20000 + RANDOM % 20000))
mkdir "$work/nginx-root" "$work/nginx-temp"
cat >"$work/nginx.conf" <<EOF
user root;
worker_processes 1;
daemon off;
master_process off;
pid $work/nginx.pid;
error_log $work/nginx-error.log;
events {}
http {
    access_log off;
    client_body_temp_path $work/nginx-temp;
    client_max_body_size 2g;
    server {
        listen 127.0.0.1:$nginx_port;
        root $work/nginx-root;
        location / { dav_methods PUT; }
    }
}
EOF
taskset -c 1 "$nginx" -p "$work" -c "$work/nginx.conf" -e "$work/nginx-error.log" &
nginx_pid=$!
pids+=("$nginx_pid")
for _ in $(seq 100); do curl -s -o /dev/null "http://127.0.0.1:$nginx_port/" && break; sleep 0.1; done

# upload PORT DIR: one PUT of the source; prints the seconds it took.
upload() {
    local t code
    read -r code t < <(taskset -c 0 curl -s -o /dev/null -w '%{http_code} %{time_total}\n' \
        -T "$work/source" "http://127.0.0.1:$1/big.bin")
    case "$code" in 201 | 204) ;; *) echo "uploads.sh: port $1 answered $code" >&2; exit 1 ;; esac
    [ "$(stat -c %s "$2/big.bin")" -eq "$size" ] || { echo "uploads.sh: short file" >&2; exit 1; }
    rm -f "$2/big.bin"
    echo "$t"
}

basehttp_times=()
nginx_times=()
for round in $(seq "$rounds"); do
    if [ $((round % 2)) -eq 1 ]; then
        basehttp_times+=("$(upload "$basehttp_port" "$work/basehttp-root")")
        nginx_times+=("$(upload "$nginx_port" "$work/nginx-root")")
    else
        nginx_times+=("$(upload "$nginx_port" "$work/nginx-root")")
        basehttp_times+=("$(upload "$basehttp_port" "$work/basehttp-root")")
    fi
    echo "round $round: basehttp ${basehttp_times[-1]} s, nginx ${nginx_times[-1]} s" >&2
done

median() { printf '%s\n' "$@" | sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
mbs() { awk -v s="$size" -v t="$1" 'BEGIN { printf "%.0f", s / t / 1e6 }'; }
hwm() { awk '/VmHWM/ { printf "%.1f MiB", $2 / 1024 }' "/proc/$1/status"; }

b_med="$(median "${basehttp_times[@]}")"
n_med="$(median "${nginx_times[@]}")"
b_hwm="$(hwm "$basehttp_pid")"
n_hwm="$(hwm "$nginx_pid")"
commit="$(cd "$root" && git describe --always --dirty 2>/dev/null || echo unknown)"

{
    echo "## Uploads: a 1 GiB PUT, basehttp and nginx's WebDAV"
    echo
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), CPU: $(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//') ($(nproc) cores), Linux $(uname -r)."
    echo "basehttp at \`$commit\`; nginx $("$nginx" -v 2>&1 | sed 's/.*nginx\///'); $(curl --version | head -1 | cut -d' ' -f1-2)."
    echo
    echo "Command: \`bench/uploads.sh $rounds\`. \`curl -T\` of a 1 GiB file (in the page cache) with"
    echo "\`Content-Length\`, to \`basehttp -q -u\` and to nginx (one process, \`dav_methods PUT\`,"
    echo "\`access_log off\`), servers taking turns, server on CPU 1 and curl on CPU 0; each writes into"
    echo "a temporary file on the same file system and renames it into place (nginx first buffers the"
    echo "body in its \`client_body_temp_path\`, on the same file system, then renames it). Times are"
    echo "curl's, request to response; peak RSS is the server's VmHWM after all rounds."
    echo
    echo "| server | median time ($rounds rounds) | throughput | server peak RSS |"
    echo "| --- | ---: | ---: | ---: |"
    echo "| basehttp | $b_med s | $(mbs "$b_med") MB/s | $b_hwm |"
    echo "| nginx | $n_med s | $(mbs "$n_med") MB/s | $n_hwm |"
    echo
    echo "Rounds: basehttp ${basehttp_times[*]} s; nginx ${nginx_times[*]} s."
}
