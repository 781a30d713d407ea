//! The static-files benchmark: the `basehttp` binary (`-q`) beside nginx and
//! Python's `http.server`, serving the same directory in the same run,
//! printed as Markdown tables.
//!
//! 1. Throughput: `wrk` (one thread, keep-alive) fetches one file, a 13-byte
//!    `index.html` (as `/`), 4 KiB or 1 MiB, over 16 and 64 connections, for
//!    a few seconds per measurement. Server CPU per request is the growth of
//!    `utime + stime` in `/proc/PID/stat` over the requests wrk counted. The
//!    servers take turns within each round, and the rounds repeat (6 by
//!    default), so a slow spell of the machine hits every server alike; the
//!    tables give the median of the rounds.
//! 2. Streaming: one client reads a sparse 4 GiB file to the end, then the
//!    server's peak resident memory (VmHWM) is read. The file is read once
//!    beforehand so every server finds it in the page cache.
//!
//! Servers run on CPU 1 and wrk on CPU 0 (taskset) when there are two CPUs.
//! Traffic goes to 127.0.0.1 only; every measurement is bounded in time;
//! every server is stopped by its own `Drop` guard.
//!
//! `files [--rounds N] [--duration SECS] [--servers basehttp,nginx,python]
//!        [--basehttp PATH] [--nginx PATH] [--python PATH] [--wrk PATH]
//!        [--no-stream]`

use basehttp_bench::{
    CommandLine, Pinning, Server, median, mib, parse_response_head, proc_status, run_wrk, thousands,
};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

struct Options {
    rounds: usize,
    duration: Duration,
    servers: Vec<String>,
    basehttp: PathBuf,
    nginx: PathBuf,
    python: PathBuf,
    wrk: PathBuf,
    stream: bool,
}

fn usage(message: &str) -> ! {
    eprintln!(
        "files: {message}\nusage: files [--rounds N] [--duration SECS] \
         [--servers basehttp,nginx,python] [--basehttp PATH] [--nginx PATH] [--python PATH] \
         [--wrk PATH] [--no-stream]"
    );
    std::process::exit(2)
}

fn parse_options() -> Options {
    let mut o = Options {
        rounds: 6,
        duration: Duration::from_secs(3),
        servers: ["basehttp", "nginx", "python"].map(String::from).to_vec(),
        // Defaults for `cargo run` from bench/: the root's target directory.
        basehttp: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/basehttp"),
        nginx: PathBuf::from("/usr/sbin/nginx"),
        python: PathBuf::from("python3"),
        wrk: PathBuf::from("wrk"),
        stream: true,
    };
    let mut args = CommandLine::new(usage);
    while let Some(arg) = args.next_name() {
        match arg.as_str() {
            "--rounds" => o.rounds = args.number(&arg).max(1) as usize,
            "--duration" => o.duration = Duration::from_secs(args.number(&arg).max(1)),
            "--servers" => o.servers = args.list(&arg, &["basehttp", "nginx", "python"]),
            "--basehttp" => o.basehttp = args.value(&arg).into(),
            "--nginx" => o.nginx = args.value(&arg).into(),
            "--python" => o.python = args.value(&arg).into(),
            "--wrk" => o.wrk = args.value(&arg).into(),
            "--no-stream" => o.stream = false,
            _ => args.unknown(&arg),
        }
    }
    o
}

// ---------------------------------------------------------------------------
// The served directory
// ---------------------------------------------------------------------------

/// The files every server serves: (request path, file name, size).
const FILES: [(&str, &str, usize); 3] = [
    ("/", "index.html", 13),
    ("/4k.bin", "4k.bin", 4096),
    ("/1m.bin", "1m.bin", 1 << 20),
];

const CONNECTIONS: [usize; 2] = [16, 64];

/// The sparse file of the streaming test.
const BIG: (&str, u64) = ("big.bin", 4 << 30);

/// A temporary directory, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(tag: &str) -> io::Result<TempDir> {
        let dir =
            std::env::temp_dir().join(format!("basehttp-bench-files-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Bytes that do not compress or repeat: a xorshift stream.
fn noise(len: usize, mut seed: u64) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        out.extend_from_slice(&seed.to_le_bytes());
    }
    out.truncate(len);
    out
}

fn make_site(www: &Path) -> io::Result<()> {
    std::fs::create_dir_all(www)?;
    std::fs::write(www.join("index.html"), b"Hello, World!")?;
    for (i, (_, name, size)) in FILES.iter().enumerate().skip(1) {
        std::fs::write(www.join(name), noise(*size, 0x9E37_79B9 + i as u64))?;
    }
    // Sparse: takes no disk space, reads as zeros.
    std::fs::File::create(www.join(BIG.0))?.set_len(BIG.1)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Servers
// ---------------------------------------------------------------------------

fn start_basehttp(pin: Pinning, program: &Path, www: &Path) -> io::Result<Server> {
    let www = www.to_string_lossy();
    Server::start(
        "basehttp",
        pin,
        program,
        &["-q", "-b", "127.0.0.1", "-d", &www, "0"],
    )
}

/// Python's `SimpleHTTPRequestHandler` on `ThreadingHTTPServer`, as
/// `python -m http.server` runs it, but with HTTP/1.1 (keep-alive, as the
/// other two), without its per-request log line (as `basehttp -q` and
/// nginx's `access_log off`), and without a traceback on standard error for
/// each connection wrk drops when it stops.
const PYTHON_SERVER: &str = r#"
import functools, http.server, sys
class Handler(http.server.SimpleHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def log_message(self, *args):
        pass
class Server(http.server.ThreadingHTTPServer):
    def handle_error(self, request, client_address):
        pass  # wrk closing its connections at the end is no news
server = Server(("127.0.0.1", 0), functools.partial(Handler, directory=sys.argv[1]))
print(f"Serving HTTP on 127.0.0.1 port {server.server_address[1]} ...", flush=True)
server.serve_forever()
"#;

fn start_python(pin: Pinning, python: &Path, www: &Path) -> io::Result<Server> {
    let www = www.to_string_lossy();
    Server::start("python", pin, python, &["-c", PYTHON_SERVER, &www])
}

fn start_nginx(pin: Pinning, nginx: &Path, www: &Path) -> io::Result<Server> {
    let http = "sendfile on;
    tcp_nopush on;
    open_file_cache max=1000 inactive=60s;
    types {
        text/html html;
        application/octet-stream bin;
    }";
    Server::start_nginx_with(pin, nginx, http, &format!("root {};", www.display()))
}

// ---------------------------------------------------------------------------
// Clients
// ---------------------------------------------------------------------------

/// One `GET`, the response head's header lines returned, body read and
/// dropped.
fn fetch_head(addr: SocketAddr, path: &str) -> io::Result<Vec<String>> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut all = Vec::new();
    s.read_to_end(&mut all)?;
    let end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| io::Error::other("no response head"))?;
    Ok(String::from_utf8_lossy(&all[..end])
        .lines()
        .map(String::from)
        .collect())
}

/// Reads `path` to its end over one connection; returns the bytes of body
/// read, the time, and the server's VmHWM afterwards (KiB).
fn stream(server: &Server, path: &str, expect: u64) -> io::Result<(u64, Duration, u64)> {
    let start = Instant::now();
    let mut s = TcpStream::connect(server.addr)?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    )?;
    let mut buf = vec![0u8; 1 << 20];
    let mut filled = 0;
    let body_start = loop {
        let n = s.read(&mut buf[filled..])?;
        if n == 0 {
            return Err(io::Error::other("closed before the response head"));
        }
        filled += n;
        match parse_response_head(&buf[..filled]) {
            Some(Ok((head_len, 200, _))) => break head_len,
            Some(Ok((_, status, _))) => return Err(io::Error::other(format!("status {status}"))),
            Some(Err(e)) => return Err(e),
            None => {}
        }
    };
    let mut got = (filled - body_start) as u64;
    let deadline = start + Duration::from_secs(120);
    while got < expect {
        let n = s.read(&mut buf)?;
        if n == 0 {
            break;
        }
        got += n as u64;
        if Instant::now() > deadline {
            return Err(io::Error::other("streaming took over 120 s"));
        }
    }
    let elapsed = start.elapsed();
    let hwm = proc_status(server.pid())?.vm_hwm_kib;
    Ok((got, elapsed, hwm))
}

// ---------------------------------------------------------------------------
// The run
// ---------------------------------------------------------------------------

fn main() {
    let o = parse_options();
    let pin = Pinning::setup();
    let site = TempDir::new("www").unwrap_or_else(|e| usage(&format!("temporary directory: {e}")));
    let www = site.0.join("www");
    if let Err(e) = make_site(&www) {
        usage(&format!("cannot write the served files: {e}"));
    }
    let mut servers: Vec<Server> = Vec::new();
    for name in &o.servers {
        let started = match name.as_str() {
            "basehttp" => start_basehttp(pin, &o.basehttp, &www),
            "nginx" => start_nginx(pin, &o.nginx, &www),
            _ => start_python(pin, &o.python, &www),
        };
        match started {
            Ok(s) => servers.push(s),
            Err(e) => {
                eprintln!("files: {e}");
                std::process::exit(1);
            }
        }
    }

    // Which validators each server sends for a file.
    let mut validators = Vec::new();
    for s in &servers {
        let head = fetch_head(s.addr, "/4k.bin").unwrap_or_default();
        let has = |name: &str| {
            head.iter()
                .any(|l| l.to_ascii_lowercase().starts_with(&format!("{name}:")))
        };
        validators.push(format!(
            "{}: ETag {}, Last-Modified {}, Accept-Ranges {}",
            s.name,
            if has("etag") { "yes" } else { "no" },
            if has("last-modified") { "yes" } else { "no" },
            if has("accept-ranges") { "yes" } else { "no" },
        ));
    }

    // results[file][conns][server] = (req/s samples, µs/request samples)
    let mut rps = vec![vec![vec![Vec::new(); servers.len()]; CONNECTIONS.len()]; FILES.len()];
    let mut cpu = rps.clone();
    let mut notes: Vec<String> = Vec::new();
    for round in 0..o.rounds {
        for (fi, (path, _, _)) in FILES.iter().enumerate() {
            for (ci, &conns) in CONNECTIONS.iter().enumerate() {
                // Rotate the order each round so no server always goes first.
                for k in 0..servers.len() {
                    let si = (k + round) % servers.len();
                    let s = &servers[si];
                    let before = s.cpu_time().unwrap_or_default();
                    let url = format!("http://{}{path}", s.addr);
                    let run = match run_wrk(&o.wrk, &url, conns, o.duration, &[] as &[&str]) {
                        Ok(run) => run,
                        Err(e) => {
                            eprintln!("files: {e}");
                            std::process::exit(1);
                        }
                    };
                    let after = s.cpu_time().unwrap_or_default();
                    if !run.errors.is_empty() {
                        notes.push(format!(
                            "round {}, {} {path} c={conns}: {}",
                            round + 1,
                            s.name,
                            run.errors
                        ));
                    }
                    let requests = run.requests.max(1) as f64;
                    rps[fi][ci][si].push(run.requests_per_second);
                    cpu[fi][ci][si].push((after - before).as_secs_f64() * 1e6 / requests);
                    eprintln!(
                        "files: round {}/{}: {} {path} c={conns}: {:.0} req/s, {:.2} µs CPU/request",
                        round + 1,
                        o.rounds,
                        s.name,
                        rps[fi][ci][si].last().unwrap_or(&0.0),
                        cpu[fi][ci][si].last().unwrap_or(&0.0)
                    );
                }
            }
        }
    }

    // Streaming a sparse 4 GiB file, one server at a time.
    let mut streams = Vec::new();
    if o.stream {
        // Read it once first, so that whichever server goes first does not
        // pay alone for filling the page cache with the file's zero pages.
        if let Err(e) =
            std::fs::File::open(www.join(BIG.0)).and_then(|mut f| io::copy(&mut f, &mut io::sink()))
        {
            eprintln!("files: reading {}: {e}", BIG.0);
        }
        for s in &servers {
            let result = stream(s, &format!("/{}", BIG.0), BIG.1);
            streams.push((s.name.as_str(), result));
        }
    }

    // --- Report ------------------------------------------------------------
    let names: Vec<&str> = servers.iter().map(|s| s.name.as_str()).collect();
    let base = names.iter().position(|n| *n == "basehttp");
    let ngx = names.iter().position(|n| *n == "nginx");
    println!("| file | connections | {} |", {
        let mut cols: Vec<String> = names
            .iter()
            .map(|n| format!("{n} req/s | {n} µs CPU/req"))
            .collect();
        if base.is_some() && ngx.is_some() {
            cols.push("basehttp / nginx CPU".to_string());
        }
        cols.join(" | ")
    });
    let columns = names.len() * 2 + 2 + usize::from(base.is_some() && ngx.is_some());
    println!("|{}", " ---: |".repeat(columns).replacen("---:", "---", 2));
    let mut bar_lines = Vec::new();
    for (fi, (path, name, size)) in FILES.iter().enumerate() {
        for (ci, &conns) in CONNECTIONS.iter().enumerate() {
            let mut cells = Vec::new();
            let mut cpu_medians = Vec::new();
            for si in 0..servers.len() {
                let r = median(&mut rps[fi][ci][si].clone());
                let c = median(&mut cpu[fi][ci][si].clone());
                cpu_medians.push(c);
                cells.push(format!("{} | {:.2}", thousands(r.round() as u64), c));
            }
            if let (Some(b), Some(n)) = (base, ngx) {
                let ratio = cpu_medians[b] / cpu_medians[n];
                cells.push(format!("{ratio:.2}×"));
                bar_lines.push(format!(
                    "- {}: CPU µs/request ≤ 1.25× nginx's, {} ({size} B) at {conns} connections: {:.2} vs {:.2} ({ratio:.2}×)",
                    if ratio <= 1.25 { "meets" } else { "misses" },
                    if *path == "/" { "index.html as /" } else { name },
                    cpu_medians[b],
                    cpu_medians[n],
                ));
            }
            let label = if *path == "/" {
                format!("`/` (index.html, {size} B)")
            } else {
                format!("`{path}` ({})", human(*size as u64))
            };
            println!("| {label} | {conns} | {} |", cells.join(" | "));
        }
    }
    println!();
    println!(
        "Median of {} rounds, {} s of wrk (1 thread, keep-alive) per measurement, servers taking turns in a rotating order; {}.",
        o.rounds,
        o.duration.as_secs(),
        if pin.enabled {
            "servers pinned to CPU 1, wrk to CPU 0 (taskset)"
        } else {
            "no CPU pinning (taskset missing or a single CPU)"
        }
    );
    println!();
    println!("Validators sent for a file: {}.", validators.join("; "));
    if !notes.is_empty() {
        println!();
        println!("wrk reported errors:");
        println!();
        for n in &notes {
            println!("- {n}");
        }
    }
    if !streams.is_empty() {
        println!();
        println!("Streaming a sparse {} file to one client:", human(BIG.1));
        println!();
        println!("| server | bytes received | time | server VmHWM after |");
        println!("| --- | ---: | ---: | ---: |");
        for (name, result) in &streams {
            match result {
                Ok((got, elapsed, hwm)) => {
                    println!(
                        "| {name} | {} | {:.2} s | {} |",
                        thousands(*got),
                        elapsed.as_secs_f64(),
                        mib(*hwm)
                    );
                    if *name == "basehttp" {
                        bar_lines.push(format!(
                            "- {}: a {} file streams with server RSS under 32 MiB: VmHWM {}, {} of {} bytes",
                            if *hwm < 32 * 1024 && *got == BIG.1 { "meets" } else { "misses" },
                            human(BIG.1),
                            mib(*hwm),
                            thousands(*got),
                            thousands(BIG.1),
                        ));
                    }
                }
                Err(e) => println!("| {name} | failed: {e} | | |"),
            }
        }
    }
    if !bar_lines.is_empty() {
        println!();
        println!("basehttp against its bars:");
        println!();
        for l in &bar_lines {
            println!("{l}");
        }
    }
}

fn human(bytes: u64) -> String {
    match bytes {
        b if b >= 1 << 30 && b.is_multiple_of(1 << 30) => format!("{} GiB", b >> 30),
        b if b >= 1 << 20 && b.is_multiple_of(1 << 20) => format!("{} MiB", b >> 20),
        b if b >= 1 << 10 && b.is_multiple_of(1 << 10) => format!("{} KiB", b >> 10),
        b => format!("{b} B"),
    }
}
