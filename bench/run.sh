#!/usr/bin/env bash
# Runs basehttp's benchmarks against their peers and writes the results into
# BENCHMARKS.md at the repository root, each benchmark in its own section
# between HTML comment markers (other sections of the file are kept).
#
# usage: bench/run.sh [BENCHMARK...]     (no argument: all of them)
#
#   idle   the connection model: 10,000 idle keep-alive connections,
#          1,000 slowloris connections, sequential mode (bench/src/bin/idle.rs)
#   files  static files: the basehttp binary against nginx, Python's
#          http.server and Caddy (when installed: Debian's `caddy` package;
#          skipped without it), 13 B / 4 KiB / 1 MiB at 16 and 64
#          connections, a 100 KiB HTML page compressed on the fly (gzip
#          against nginx's `gzip on`, br, zstd), a precompressed `.br`
#          against a plain file of its size, a sparse 4 GiB file streamed,
#          and multi-range requests on a sparse 1 GiB file
#          (bench/src/bin/files.rs)
#   forms  a 1 GiB multipart upload through the post example against Python's
#          python-multipart, and 100,000 urlencoded fields
#          (bench/src/bin/form_upload.rs)
#   throughput
#          requests/s, latency and server CPU per request under wrk: the
#          hello example (pool and sequential modes) against hyper, tiny_http,
#          a raw epoll server (the ceiling) and Python's http.server, with
#          keep-alive, Connection: close, POST and pipelined loads
#          (bench/src/bin/throughput.rs)
#   hostile
#          clients that misbehave on purpose, against the hello example (pool
#          mode) and hyper: slow request bodies, a flood of slow forms, resets
#          in the middle of a body, a burst of split bodies followed by probes,
#          and handlers that block (bench/src/bin/basehttp_blocking.rs), while
#          a normal client's latency is measured (bench/src/bin/hostile.rs)
#   fleet  restarts under load: the basehttp binary restarted 10 times with
#          SIGUSR2, and three behind HAProxy (the README's configuration)
#          restarted in turn, while a fixed-rate load checks every answer and
#          counts refused, reset, timed-out and wrong ones
#          (bench/src/bin/fleet_load.rs)
#
# Extra arguments for a benchmark program go in an environment variable, e.g.
# IDLE_ARGS="--connections 2000" bench/run.sh idle
# FILES_ARGS="--rounds 2 --duration 1" bench/run.sh files
# THROUGHPUT_ARGS="--rounds 1 --duration 1" bench/run.sh throughput
# HOSTILE_ARGS="--scale 0.1 --duration 2 --drip 4 --probe 3" bench/run.sh hostile
# FLEET_ARGS="--restarts 3 --rolling-rounds 1" bench/run.sh fleet
#
# THROUGHPUT_BASELINE="COMMIT..." also builds the `hello` example of each
# commit given (in a temporary git worktree) and measures it beside the
# current one in the same run, e.g.
# THROUGHPUT_BASELINE=7903550 bench/run.sh throughput
#
# On a fresh Debian machine it installs what the benchmarks asked for need
# (nginx-light, wrk, python3, haproxy), builds the root's `hello` example and this crate in release mode, then runs.
set -euo pipefail

bench_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$bench_dir/.." && pwd)"
root_target="${CARGO_TARGET_DIR:-$root/target}"
bench_target="${CARGO_TARGET_DIR:-$bench_dir/target}"
results="$root/BENCHMARKS.md"

all_benchmarks=(idle files forms throughput hostile fleet)
benchmarks=("$@")
if [ ${#benchmarks[@]} -eq 0 ]; then
    benchmarks=("${all_benchmarks[@]}")
fi
for b in "${benchmarks[@]}"; do
    case "$b" in
        idle | files | forms | throughput | hostile | fleet) ;;
        *) echo "run.sh: unknown benchmark '$b' (known: ${all_benchmarks[*]})" >&2; exit 2 ;;
    esac
done

# --- What the machine needs -------------------------------------------------

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

nginx_bin() {
    command -v nginx 2>/dev/null || { [ -x /usr/sbin/nginx ] && echo /usr/sbin/nginx; } || true
}

haproxy_bin() {
    command -v haproxy 2>/dev/null || { [ -x /usr/sbin/haproxy ] && echo /usr/sbin/haproxy; } || true
}

# needs BENCHMARK: the tools that benchmark runs besides this crate's programs.
needs() {
    case "$1" in
        idle) echo nginx ;;
        files) echo nginx wrk python3 ;;
        forms) echo python3 ;;
        throughput) echo wrk python3 ;;
        hostile) ;;
        fleet) echo haproxy ;;
    esac
}
needed=" $(for b in "${benchmarks[@]}"; do needs "$b"; done | tr '\n' ' ') "

missing=()
case "$needed" in *" nginx "*) [ -n "$(nginx_bin)" ] || missing+=(nginx) ;; esac
case "$needed" in *" wrk "*) command -v wrk >/dev/null 2>&1 || missing+=(wrk) ;; esac
command -v taskset >/dev/null 2>&1 || missing+=(util-linux)
case "$needed" in *" python3 "*) command -v python3 >/dev/null 2>&1 || missing+=(python3) ;; esac
case "$needed" in *" haproxy "*) [ -n "$(haproxy_bin)" ] || missing+=(haproxy) ;; esac
if [ ${#missing[@]} -gt 0 ]; then
    echo "run.sh: installing ${missing[*]}" >&2
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update
    packages=()
    for m in "${missing[@]}"; do
        if [ "$m" = nginx ]; then
            # nginx-light where the release still has it, else nginx.
            if apt-cache show nginx-light >/dev/null 2>&1; then
                packages+=(nginx-light)
            else
                packages+=(nginx)
            fi
        else
            packages+=("$m")
        fi
    done
    as_root apt-get install -y "${packages[@]}"
fi
nginx="$(nginx_bin)"
haproxy="$(haproxy_bin)"

# --- Build --------------------------------------------------------------------

(cd "$root" && cargo build --release --example hello)
(cd "$root" && cargo build --release --bin basehttp)
(cd "$root" && cargo build --release --example post)
(cd "$bench_dir" && cargo build --release)

# --- Results ------------------------------------------------------------------

# Paths as they are written into BENCHMARKS.md: relative to the repository root.
rel() {
    case "$1" in
        "$root"/*) echo "${1#"$root"/}" ;;
        *) echo "$1" ;;
    esac
}

# replace_section NAME FILE: puts FILE's text between NAME's markers in
# BENCHMARKS.md, replacing what was there, or appends it.
replace_section() {
    local start="<!-- bench:$1:start -->" end="<!-- bench:$1:end -->" body="$2"
    if [ ! -f "$results" ]; then
        # shellcheck disable=SC2016 # backquotes are Markdown
        printf '# Benchmarks\n\nFigures produced by `bench/run.sh` (see bench/); each section says when, where and with which command.\n' >"$results"
    fi
    local tmp
    tmp="$(mktemp)"
    if grep -qF "$start" "$results"; then
        awk -v start="$start" -v end="$end" -v body="$body" '
            $0 == start { print; while ((getline line < body) > 0) print line; skipping = 1; next }
            $0 == end { skipping = 0 }
            !skipping { print }
        ' "$results" >"$tmp"
    else
        { cat "$results"; printf '\n%s\n' "$start"; cat "$body"; printf '%s\n' "$end"; } >"$tmp"
    fi
    cat "$tmp" >"$results"
    rm -f "$tmp"
}

machine_line() {
    local cpu cores
    cpu="$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')"
    cores="$(nproc)"
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), CPU: $cpu ($cores cores), Linux $(uname -r)"
}

# lock_version LOCKFILE CRATE: the version of CRATE that LOCKFILE pins.
lock_version() {
    awk -v n="$2" '$0 == "name = \"" n "\"" { getline; gsub(/version = |"/, ""); print; exit }' "$1"
}

versions_line() {
    local lock="$bench_dir/Cargo.lock" hyper tiny nginx_v commit
    hyper="$(lock_version "$lock" hyper)"
    tiny="$(lock_version "$lock" tiny_http)"
    nginx_v="$("$nginx" -v 2>&1 | sed 's/.*nginx\///')"
    commit="$(cd "$root" && git describe --always --dirty 2>/dev/null || echo unknown)"
    echo "basehttp at \`$commit\`; hyper $hyper (hyper-util, tokio current-thread), tiny_http $tiny, nginx $nginx_v"
}

# run_program NAME PROGRAM ARGS...: runs this crate's PROGRAM from the
# repository root with ARGS, then the words of $NAME_ARGS (NAME in capitals:
# IDLE_ARGS, ...); shows its output and keeps it in the file $out, and sets
# $cmd to the command as BENCHMARKS.md quotes it.
run_program() {
    local var program
    var="$(printf '%s' "$1" | tr '[:lower:]' '[:upper:]')_ARGS"
    program="$(rel "$bench_target/release/$2")"
    shift 2
    # shellcheck disable=SC2206 # the variable is split into arguments on purpose
    local args=("$@" ${!var:-})
    cmd="$program ${args[*]}"
    echo "run.sh: $cmd" >&2
    (cd "$root" && "$program" "${args[@]}") | tee "$out"
}

# command_paragraph NAME: how BENCHMARKS.md says that benchmark NAME was run
# (the command in $cmd).
command_paragraph() {
    local env=""
    if [ "$1" = throughput ] && [ -n "${THROUGHPUT_BASELINE:-}" ]; then
        env="THROUGHPUT_BASELINE=\"$THROUGHPUT_BASELINE\" "
    fi
    echo "Command: \`${env}bench/run.sh $1\`, which builds in release mode and runs, from the repository root:"
    echo
    echo '```'
    echo "$cmd"
    echo '```'
}

run_idle() {
    local out body cmd
    out="$(mktemp)"
    body="$(mktemp)"
    run_program idle idle --hello "$(rel "$root_target/release/examples/hello")" \
        --peers "$(rel "$bench_target/release")" --nginx "$nginx"
    {
        echo "## Connection model: idle and slow connections"
        echo
        echo "$(machine_line)."
        echo "$(versions_line)."
        echo
        command_paragraph idle
        echo
        echo "Servers: basehttp is \`examples/hello --mode pool\` (and \`--mode sequential\` for the last rows);"
        echo "hyper, tiny_http are \`bench/src/bin/{hyper_hello,tiny_http_hello}.rs\`; nginx is started with its own"
        echo "configuration (one process, access log off, keep-alive 75 s). Every server and the benchmark share"
        echo "the machine's open-file limit (each raises its soft limit to the hard one). The client is one epoll"
        echo "loop over nonblocking sockets, at most 100 requests in flight. \"closed by the server\" is checked"
        echo "without sending anything (a peek on every idle socket). The slowloris connections each send one"
        echo "byte of a never-ending request head per second; the normal client sends a keep-alive \`GET /\`"
        echo "every millisecond, and its latency is the time from the request's first byte to the response's last."
        echo
        echo "What the peers do, from their source: tiny_http serves each connection on a thread of its own"
        echo "and holds two descriptors for it (the socket and a \`try_clone\` of it), and its accept thread"
        echo "ends the server at the first \`accept\` error, EMFILE included; hyper's 30 s header-read timeout"
        echo "takes effect only with a timer, which its defaults do not set, so slow heads are never timed out."
        echo
        cat "$out"
    } >"$body"
    replace_section idle "$body"
    rm -f "$out" "$body"
    echo "run.sh: results written to $(rel "$results")" >&2
}

run_files() {
    local out body cmd
    out="$(mktemp)"
    body="$(mktemp)"
    # python3 as found on PATH, named as such in BENCHMARKS.md.
    local python_bin=python3
    # Caddy only where it is installed (Debian packages it as `caddy`).
    local caddy_bin caddy_args=() caddy_version=""
    caddy_bin="$(command -v caddy 2>/dev/null || true)"
    if [ -n "$caddy_bin" ]; then
        caddy_args=(--caddy "$caddy_bin")
        caddy_version="; Caddy $("$caddy_bin" version 2>/dev/null | cut -d' ' -f1)"
    else
        echo "run.sh: caddy is not installed: the files benchmark runs without it" >&2
    fi
    run_program files files --basehttp "$(rel "$root_target/release/basehttp")" \
        --nginx "$nginx" --python "$python_bin" "${caddy_args[@]}"
    {
        echo "## Static files: basehttp, nginx, Python's http.server${caddy_bin:+ and Caddy}"
        echo
        echo "$(machine_line)."
        echo "$(versions_line); $("$python_bin" --version 2>&1)$caddy_version; $(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2)."
        echo
        command_paragraph files
        echo
        echo "Servers, all serving the same temporary directory: basehttp is the \`basehttp\` binary with \`-q\`"
        echo "(its \`PoolHttpServer\`, default settings); nginx runs one process with \`sendfile on\`,"
        echo "\`tcp_nopush on\`, \`open_file_cache max=1000\`, \`access_log off\` and \`keepalive_requests\` raised so"
        echo "it never closes a connection; Python is \`SimpleHTTPRequestHandler\` on \`ThreadingHTTPServer\`, as"
        echo "\`python -m http.server\` runs it, with \`protocol_version = \"HTTP/1.1\"\` (keep-alive like the others)"
        echo "and \`log_message\` silenced (like \`-q\` and \`access_log off\`). The load is wrk, one thread,"
        echo "keep-alive, fetching one file over and over. Server CPU per request is the growth of utime + stime in"
        echo "\`/proc/PID/stat\` during a measurement, divided by the requests wrk completed."
        echo
        echo "Python's small-file figures are low because its handler writes the head and the body in separate"
        echo "unbuffered sends on a connection that keeps Nagle's algorithm on: each response waits for the"
        echo "client's delayed ACK (up to 40 ms). That is how \`http.server\` behaves with HTTP/1.1, not a flaw of"
        echo "the measurement."
        echo
        echo "Compression: basehttp compresses on the fly by default (gzip through flate2's zlib-rs backend at"
        echo "level $(awk '/^pub const GZIP_LEVEL/ { gsub(";", ""); print $NF }' "$root/src/files/compress.rs"), brotli, zstd); nginx has \`gzip on\` and gzip's other settings at their defaults"
        echo "(\`gzip_comp_level 1\`, \`gzip_types text/html\`), and Debian's nginx has no brotli or zstd module, so"
        echo "it takes part in gzip only.${caddy_bin:+ Caddy runs \`file_server\` with \`precompressed br\` and \`encode zstd gzip\`}"
        echo "${caddy_bin:+(its default levels; it has no brotli encoder), with admin and automatic HTTPS off.}"
        echo "The HTML page is made up by the benchmark (\`html_page\` in files.rs): a blog's front page with"
        echo "varied words, links, dates and tables, deterministic; nginx's gzip makes it 2.8 times smaller, less"
        echo "than real pages (Rust's HTML documentation, 60 to 100 KiB: 3.5 to 5.5 times), so it is harder work."
        echo
        echo "The machine may be shared: other sessions' builds and fuzzers (at \`nice 19\`) can run on the same two"
        echo "cores during a run. Absolute figures vary from run to run; ratios measured in the same run, the servers"
        echo "taking turns in the same rounds, are the meaningful ones."
        echo
        cat "$out"
    } >"$body"
    replace_section files "$body"
    rm -f "$out" "$body"
    echo "run.sh: results written to $(rel "$results")" >&2
}

run_forms() {
    local out body cmd
    # The Python peer parses with python-multipart (PyPI).
    if ! python3 -c "import python_multipart" 2>/dev/null; then
        python3 -m pip install --quiet python-multipart
    fi
    out="$(mktemp)"
    body="$(mktemp)"
    # shellcheck disable=SC2206 # FORMS_ARGS is split into arguments on purpose
    local extra=(${FORMS_ARGS:-})
    local args=(--post "$(rel "$root_target/release/examples/post")" "${extra[@]}")
    local program
    program="$(rel "$bench_target/release/form_upload")"
    cmd="$program ${args[*]}"
    echo "run.sh: $cmd" >&2
    (cd "$root" && "$program" "${args[@]}" 2>/dev/null) | tee "$out"
    {
        echo "## Forms: a 1 GiB upload and a flood of fields"
        echo
        echo "$(machine_line)."
        echo "basehttp at \`$(cd "$root" && git describe --always --dirty)\`; $(python3 --version 2>&1) with python-multipart."
        echo
        command_paragraph forms
        echo
        echo "The basehttp figures include the HTTP and socket work (the \`post\` example over loopback);"
        echo "Python's are python-multipart's parser alone, fed from a pipe."
        echo
        cat "$out"
    } >"$body"
    replace_section forms "$body"
    rm -f "$out" "$body"
    echo "run.sh: results written to $(rel "$results")" >&2
}

# baseline_builds: for each commit in THROUGHPUT_BASELINE (space-separated),
# builds that commit's `hello` example in a temporary git worktree (target
# directory bench/target/baseline) and prints `--also COMMIT=PATH` for it.
baseline_builds() {
    local commit dir path
    for commit in ${THROUGHPUT_BASELINE:-}; do
        dir="$(mktemp -d)"
        (cd "$root" && git worktree add --quiet --detach "$dir" "$commit") >&2
        (cd "$dir" && CARGO_TARGET_DIR="$bench_target/baseline" cargo build --quiet --release --example hello) >&2
        path="$bench_target/baseline/$commit-hello"
        cp "$bench_target/baseline/release/examples/hello" "$path"
        (cd "$root" && git worktree remove --force "$dir") >&2
        printf '%s\n' --also "$commit=$(rel "$path")"
    done
}

run_throughput() {
    local out body cmd
    out="$(mktemp)"
    body="$(mktemp)"
    # python3 as found on PATH, named as such in BENCHMARKS.md.
    local python_bin=python3
    local also=()
    mapfile -t also < <(baseline_builds)
    run_program throughput throughput --hello "$(rel "$root_target/release/examples/hello")" \
        "${also[@]}" \
        --peers "$(rel "$bench_target/release")" --python "$python_bin" \
        --python-server "$(rel "$bench_dir/python/hello_server.py")" --scripts "$(rel "$bench_dir/wrk")"
    local lock="$bench_dir/Cargo.lock" commit
    commit="$(cd "$root" && git describe --always --dirty 2>/dev/null || echo unknown)"
    {
        echo "## Throughput: basehttp, hyper, tiny_http, a raw epoll ceiling and Python's http.server"
        echo
        echo "$(machine_line)."
        echo "basehttp at \`$commit\`; hyper $(lock_version "$lock" hyper) (hyper-util, tokio current-thread),"
        echo "tiny_http $(lock_version "$lock" tiny_http); $("$python_bin" --version 2>&1); $(wrk --version 2>&1 | head -n1 | cut -d' ' -f1-2)."
        echo
        command_paragraph throughput
        echo
        echo "Servers, all answering \`GET /\` with \`Hello, World!\` (13 bytes, \`text/plain\`) and a \`POST\` with its"
        echo "body, and all but tiny_http setting \`TCP_NODELAY\` on their connections:"
        echo
        echo "- **basehttp pool**, **basehttp sequential**: \`examples/hello.rs\` with \`--mode pool\` or"
        echo "  \`--mode sequential\`, default settings; its handler is quoted below."
        echo "- **hyper**: \`bench/src/bin/hyper_hello.rs\`, hyper's \`http1\` connections on a tokio current-thread"
        echo "  runtime, default settings. **hyper pipeline_flush**: the same with \`http1::Builder::pipeline_flush(true)\`,"
        echo "  which gathers the responses to pipelined requests into one write; it is the yardstick for pipelining."
        echo "- **tiny_http**: \`bench/src/bin/tiny_http_hello.rs\`, one loop answering the requests that tiny_http's"
        echo "  connection threads parse, as its documentation shows. It leaves Nagle's algorithm on and sends a"
        echo "  response's head and a 4 KiB body in two writes, so under \`POST\` the body waits for wrk's delayed"
        echo "  ACK (about 40 ms): its \`POST\` row measures that, not its parsing."
        echo "- **ceiling**: \`bench/src/bin/ceiling.rs\`, not a server but a yardstick: one thread, one edge-triggered"
        echo "  epoll loop, reads until \`EAGAIN\`, finds the end of each request head (and a \`POST\`'s"
        echo "  \`Content-Length\` body), appends a canned response (with a \`Date\` made once a second) for every"
        echo "  complete request in the buffer and writes them all with one \`write\`. It is the syscall-bound limit"
        echo "  of one core."
        echo "- **python**: \`bench/python/hello_server.py\`, \`http.server.ThreadingHTTPServer\` (a thread per"
        echo "  connection) with a \`BaseHTTPRequestHandler\` subclass, \`protocol_version = \"HTTP/1.1\"\`, logging off."
        echo "  **python --no-nodelay** is the same with Nagle's algorithm left on, as \`http.server\` leaves it:"
        echo "  its head and body go out in two writes and the second waits for the client's delayed ACK. It runs"
        echo "  \`keep-alive 16\` only, reported below that table."
        echo
        echo "Method. The load is wrk with one thread, \`--latency\` and \`--timeout 10s\`, for the duration given"
        echo "below, in seven scenarios: keep-alive \`GET /\` over 1, 16, 64 and 256 connections; \`GET /\` with"
        echo "\`Connection: close\` over 16; a 4 KiB \`POST\` over 64 (\`bench/wrk/post.lua\`); 16 pipelined \`GET /\`"
        echo "per batch over 16 (\`bench/wrk/pipeline.lua\`). The servers run on CPU 1 and wrk on CPU 0 (taskset),"
        echo "so the load never takes the server's core. A round starts each server afresh in turn, checks that it"
        echo "answers a \`GET\` with 200 \`Hello, World!\` and echoes a \`POST\` (else the run fails), runs the seven"
        echo "scenarios against it in the order above and stops it; the order of the servers rotates by one from"
        echo "round to round, so none always goes first or follows the same neighbour. Keeping a server's scenarios"
        echo "together costs one start per server per round instead of one per measurement; a slow spell of the"
        echo "machine then hits one server's scenarios rather than one scenario's servers, which the rounds and their"
        echo "medians even out (the min–max spread of CPU per request is printed for two scenarios to show the"
        echo "noise). Each figure is the median over the rounds. req/s is wrk's \`Requests/sec\`; p50 and p99 are its"
        echo "latency distribution, which includes wrk's correction for coordinated omission (a stalled response"
        echo "adds samples for the requests it held back), so a few long stalls move p99 a long way. Server CPU per"
        echo "request is the growth of \`utime + stime\` of the server process, all threads (\`/proc/PID/stat\`, in"
        echo "clock ticks), over the wrk run, divided by the responses wrk counted; on loopback the kernel's TCP work"
        echo "for a segment is partly done by the sender, so this mixes some of wrk's side in, alike for every server."
        echo "Ratios are to hyper with its defaults, and for pipelining to hyper pipeline_flush as well. The"
        echo "last table says how much of CPU 1 went to other work during the runs (other processes, interrupts,"
        echo "the hypervisor): when the core is shared, a server with several runnable threads gets a larger share"
        echo "of it than a single-threaded one, so its req/s and latency gain; CPU per request is the steadier figure."
        echo
        local commit_
        for commit_ in ${THROUGHPUT_BASELINE:-}; do
            echo "Rows named \`basehttp pool $commit_\` and \`basehttp sequential $commit_\` are the \`hello\` example"
            echo "built from commit \`$commit_\`, measured in the same run for a before-and-after comparison."
            echo
        done
        echo "The basehttp handler (\`examples/hello.rs\`):"
        echo
        echo '```rust'
        awk '/^impl Handler for Hello/ { p = 1 } p { print } p && /^}/ { exit }' "$root/examples/hello.rs"
        echo '```'
        echo
        cat "$out"
    } >"$body"
    replace_section throughput "$body"
    rm -f "$out" "$body"
    echo "run.sh: results written to $(rel "$results")" >&2
}

run_hostile() {
    local out body cmd
    out="$(mktemp)"
    body="$(mktemp)"
    run_program hostile hostile --hello "$(rel "$root_target/release/examples/hello")" \
        --peers "$(rel "$bench_target/release")"
    local commit
    commit="$(cd "$root" && git describe --always --dirty 2>/dev/null || echo unknown)"
    {
        echo "## Hostile clients: slow bodies, a flood of forms, resets, a burst, slow handlers"
        echo
        echo "$(machine_line)."
        echo "basehttp at \`$commit\`; hyper $(lock_version "$bench_dir/Cargo.lock" hyper) (hyper-util, tokio current-thread)."
        echo
        command_paragraph hostile
        echo
        echo "Servers: basehttp is \`examples/hello --mode pool\` with default settings (\`GET /\` answers"
        echo "\`Hello, World!\`, \`POST\` echoes the body), and for the slow handlers"
        echo "\`bench/src/bin/basehttp_blocking.rs\`, a \`PoolHttpServer\` with \`ServerConfig::default()\` whose"
        echo "\`GET /sleep\` handler calls \`thread::sleep(1 s)\`; hyper is \`bench/src/bin/hyper_hello.rs\` (the"
        echo "same answers, the body read in full before the echo; with \`--sleep\`, \`GET /sleep\` waits with"
        echo "\`tokio::time::sleep\`, which holds no thread). Every scenario starts a fresh server, on CPU 1;"
        echo "the benchmark runs on CPU 0 (taskset)."
        echo
        echo "The normal client sends a keep-alive \`GET /\` every millisecond on one connection (reconnecting"
        echo "after a failure, 5 s timeouts) while a scenario runs; a latency is the time from the request's first"
        echo "byte to the response's last. Its baseline is the same client alone, per server, in the same run."
        echo "The client waits for each answer, so a stall of the server holds back the requests it would have"
        echo "sent meanwhile and counts as one slow request: \"p99 with held-back requests counted\" adds them"
        echo "back as wrk does (a request that took L adds L − 1 ms, L − 2 ms, … down to 1 ms). The hostile"
        echo "connections are one epoll loop over nonblocking sockets; the server's threads and VmHWM are read"
        echo "from \`/proc/PID/status\` every 20 ms, its sockets from \`/proc/PID/fd\`; a server that exits by"
        echo "itself is reported as dead, with what it wrote to standard error."
        echo
        cat "$out"
    } >"$body"
    replace_section hostile "$body"
    rm -f "$out" "$body"
    echo "run.sh: results written to $(rel "$results")" >&2
}

run_fleet() {
    local out body cmd
    out="$(mktemp)"
    body="$(mktemp)"
    # By its name where it is on PATH, as BENCHMARKS.md then shows it.
    local haproxy_arg="$haproxy"
    if command -v haproxy >/dev/null 2>&1; then haproxy_arg=haproxy; fi
    run_program fleet fleet_load --basehttp "$(rel "$root_target/release/basehttp")" \
        --haproxy "$haproxy_arg" --readme README.md
    local commit
    commit="$(cd "$root" && git describe --always --dirty 2>/dev/null || echo unknown)"
    {
        echo "## Restarts under load: SIGUSR2, alone and behind HAProxy"
        echo
        echo "$(machine_line)."
        echo "basehttp at \`$commit\`; $("$haproxy" -v 2>&1 | head -n1 | cut -d' ' -f1-3)."
        echo
        command_paragraph fleet
        echo
        echo "Servers: the \`basehttp\` binary with \`-q\`, serving a directory with \`hello.txt\` (13 bytes), with"
        echo "\`NOTIFY_SOCKET\` set to a socket the program reads. **alone, restarted**: one binary on"
        echo "127.0.0.1, restarted 10 times, one restart after the other; **alone, no restart** is its baseline,"
        echo "the same load for as long on a process never restarted (what the machine's own hiccups give)."
        echo "**behind HAProxy, rolling**: the README's HAProxy configuration (\`mode http\`, \`send-proxy-v2\`,"
        echo "\`retry-on\`, three servers) in front of the README's three"
        echo "\`--proxy-protocol --trusted-proxy 127.0.0.1/32\` backends, restarted in turn, three rounds; its"
        echo "baseline likewise, without restarts."
        echo "A restart is \`SIGUSR2\` to the process serving, then the new copy's \`READY=1\` (with its"
        echo "\`MAINPID=\`) on the notify socket, then the old process's exit, seen on its pidfd; the load runs"
        echo "on meanwhile and for the time given between restarts."
        echo
        echo "The load (\`tests/common/load.rs\`, the same code \`tests/fleet.rs\` runs) sends \`GET /hello.txt\`"
        echo "from 127.0.0.2 at a fixed rate and never pipelines: half its workers keep a connection for 100"
        echo "requests, half open one per request (\`Connection: close\`). Each answer is read in full and checked"
        echo "(status 200 and the body), and each request counts once: **ok**; **refused** (\`ECONNREFUSED\`);"
        echo "**reset** (reset, or closed before the whole answer); **timeout** (10 s without the connection"
        echo "or the answer); **wrong** (another status, a bad framing or body). A keep-alive connection the"
        echo "server closed while idle is noticed before a request is sent on it (a peek, as a client's pool"
        echo "does) and replaced, losing nothing; a request sent is never retried. **longest stall** is the"
        echo "longest time between two answered requests, all workers together, over the whole run."
        echo
        echo "The old process exits once its connections are done: one idle between requests is closed after a"
        echo "second of idleness (a connection in use gets its next request answered with \`Connection: close\`"
        echo "instead), so a backend behind HAProxy that holds a connection HAProxy keeps idle exits up to about"
        echo "1 s after the signal. The new copy serves from its \`READY=1\` on: the old one's exit delays nothing."
        echo
        cat "$out"
    } >"$body"
    replace_section fleet "$body"
    rm -f "$out" "$body"
    echo "run.sh: results written to $(rel "$results")" >&2
}

for b in "${benchmarks[@]}"; do
    "run_$b"
done
