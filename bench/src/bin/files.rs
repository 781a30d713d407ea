//! The static-files benchmark: the `basehttp` binary (`-q`) beside nginx,
//! Python's `http.server` and, when it is installed, Caddy, serving the same
//! directory in the same run, printed as Markdown tables.
//!
//! 1. Throughput: `wrk` (one thread, keep-alive) fetches one file, a 13-byte
//!    `index.html` (as `/`), 4 KiB or 1 MiB, over 16 and 64 connections, for
//!    a few seconds per measurement. Server CPU per request is the growth of
//!    `utime + stime` in `/proc/PID/stat` over the requests wrk counted. The
//!    servers take turns within each round, and the rounds repeat (6 by
//!    default), so a slow spell of the machine hits every server alike; the
//!    tables give the median of the rounds.
//!    In the same rounds, at 16 connections: a 100 KiB HTML page fetched
//!    with `Accept-Encoding: gzip` (basehttp, nginx with `gzip on` at its
//!    default level 1, Caddy with `encode`), `br` and `zstd` (by those that
//!    compress in that coding on the fly); and a precompressed `.br`
//!    sidecar fetched with `Accept-Encoding: br` beside a plain file of the
//!    sidecar's size (basehttp, and Caddy with `precompressed br`).
//! 2. Streaming: the server's peak resident memory (VmHWM) is reset, one
//!    client reads a sparse 4 GiB file to the end, then VmHWM is read. The
//!    file is read once beforehand so every server finds it in the page
//!    cache.
//! 3. Multi-range: a freshly started server of each kind answers wrk's
//!    requests for 8 ranges of 64 KiB spread over a sparse 1 GiB file,
//!    then its VmHWM is read.
//!
//! Servers run on CPU 1 and wrk on CPU 0 (taskset) when there are two CPUs.
//! Traffic goes to 127.0.0.1 only; every measurement is bounded in time;
//! every server is stopped by its own `Drop` guard.
//!
//! `files [--rounds N] [--duration SECS] [--servers basehttp,nginx,python,caddy]
//!        [--basehttp PATH] [--nginx PATH] [--python PATH] [--caddy PATH]
//!        [--wrk PATH] [--no-stream]`
//!
//! Caddy takes part only with `--caddy PATH` (`bench/run.sh` passes it when
//! `caddy` is installed).

use basehttp::files::{Coding, Encoder};
use basehttp_bench::{
    CommandLine, Pinning, Server, median, mib, parse_response_head, proc_status, reset_peak_rss,
    run_wrk, thousands,
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
    caddy: Option<PathBuf>,
    wrk: PathBuf,
    stream: bool,
}

fn usage(message: &str) -> ! {
    eprintln!(
        "files: {message}\nusage: files [--rounds N] [--duration SECS] \
         [--servers basehttp,nginx,python,caddy] [--basehttp PATH] [--nginx PATH] \
         [--python PATH] [--caddy PATH] [--wrk PATH] [--no-stream]"
    );
    std::process::exit(2)
}

fn parse_options() -> Options {
    let mut o = Options {
        rounds: 6,
        duration: Duration::from_secs(3),
        servers: ["basehttp", "nginx", "python", "caddy"]
            .map(String::from)
            .to_vec(),
        // Defaults for `cargo run` from bench/: the root's target directory.
        basehttp: PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/release/basehttp"),
        nginx: PathBuf::from("/usr/sbin/nginx"),
        python: PathBuf::from("python3"),
        caddy: None,
        wrk: PathBuf::from("wrk"),
        stream: true,
    };
    let mut args = CommandLine::new(usage);
    while let Some(arg) = args.next_name() {
        match arg.as_str() {
            "--rounds" => o.rounds = args.number(&arg).max(1) as usize,
            "--duration" => o.duration = Duration::from_secs(args.number(&arg).max(1)),
            "--servers" => o.servers = args.list(&arg, &["basehttp", "nginx", "python", "caddy"]),
            "--basehttp" => o.basehttp = args.value(&arg).into(),
            "--nginx" => o.nginx = args.value(&arg).into(),
            "--python" => o.python = args.value(&arg).into(),
            "--caddy" => o.caddy = Some(args.value(&arg).into()),
            "--wrk" => o.wrk = args.value(&arg).into(),
            "--no-stream" => o.stream = false,
            _ => args.unknown(&arg),
        }
    }
    // Caddy is listed by default, but runs only where it is installed.
    if o.caddy.is_none() {
        o.servers.retain(|s| s != "caddy");
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

/// The HTML page compressed on the fly: 100 KiB, from [`html_page`].
const PAGE: (&str, usize) = ("page.html", 100 * 1024);

/// The same page with a precompressed copy beside it (`pre.html.br`).
const PRE: &str = "pre.html";

/// A plain file of the size of `pre.html.br` (which the run decides), of
/// bytes that do not compress, served as `application/octet-stream`.
const SAME_SIZE: &str = "same-size.bin";

/// The sparse file of the multi-range test.
const RANGED: (&str, u64) = ("ranged.bin", 1 << 30);

/// The `Range` of the multi-range test: 8 ranges of 64 KiB, one at the
/// start of every 128 MiB of [`RANGED`].
fn multi_range() -> String {
    let ranges: Vec<String> = (0..8u64)
        .map(|i| {
            let first = i * (128 << 20);
            format!("{first}-{}", first + (64 << 10) - 1)
        })
        .collect();
    format!("bytes={}", ranges.join(","))
}

/// Writes the served files; returns the size of `pre.html.br`.
fn make_site(www: &Path) -> io::Result<usize> {
    std::fs::create_dir_all(www)?;
    std::fs::write(www.join("index.html"), b"Hello, World!")?;
    for (i, (_, name, size)) in FILES.iter().enumerate().skip(1) {
        std::fs::write(www.join(name), noise(*size, 0x9E37_79B9 + i as u64))?;
    }
    // Sparse: takes no disk space, reads as zeros.
    std::fs::File::create(www.join(BIG.0))?.set_len(BIG.1)?;
    std::fs::File::create(www.join(RANGED.0))?.set_len(RANGED.1)?;
    let page = html_page(PAGE.1);
    std::fs::write(www.join(PAGE.0), &page)?;
    std::fs::write(www.join(PRE), &page)?;
    // The sidecar, made with basehttp's own brotli encoder (quality 5; a
    // real site would use 11, a little smaller: only the size matters here).
    let mut br = Encoder::new(Some(Coding::Brotli), Vec::new())?;
    br.write_all(&page)?;
    let br = br.finish()?;
    std::fs::write(www.join(format!("{PRE}.br")), &br)?;
    std::fs::write(www.join(SAME_SIZE), noise(br.len(), 0x5EED))?;
    Ok(br.len())
}

/// A deterministic, varied HTML page of exactly `len` bytes: a blog's
/// front page (a stylesheet, navigation, articles with titles, bylines,
/// paragraphs, links, tags and now and then a table of figures), its words
/// drawn from an English vocabulary with a skewed (Zipf-like) frequency by
/// a xorshift generator, so it compresses like real HTML rather than like
/// one repeated string.
fn html_page(len: usize) -> Vec<u8> {
    const WORDS: &str = "the of and to a in is that for it as was with be by on not he this are or his from at which \
        but have an they you were her she there one all we their been has when who will more no if out so said what \
        up its about into than them can only other new some could time these two may then do first any my now such \
        like our over man me even most made after also did many before must through back years where much your way \
        well down should because each just those people how too little state good very make world still own see men \
        work long get here between both life being under never day same another know while last might us great old \
        year off come since against go came right used take three small house place water number part people server \
        request response header file directory client browser cache connection protocol network memory thread socket \
        stream buffer length content encoding range listing archive upload download version status error message \
        handler method path query form field boundary chunk timeout limit option command program library module \
        function value string byte table index page section chapter letter garden river mountain city village road \
        morning evening winter summer spring autumn window door street market harbour island forest bridge station";
    const NAMES: [&str; 12] = [
        "Ada Lovelace",
        "Grace Hopper",
        "Alan Turing",
        "Edsger Dijkstra",
        "Barbara Liskov",
        "Ken Thompson",
        "Dennis Ritchie",
        "Donald Knuth",
        "Frances Allen",
        "John McCarthy",
        "Margaret Hamilton",
        "Niklaus Wirth",
    ];
    const MONTHS: [&str; 12] = [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ];
    let words: Vec<&str> = WORDS.split_whitespace().collect();
    let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    // Zipf-like: small indices (common words) far more often.
    let word = |next: &mut dyn FnMut() -> u64| {
        let u = (next() >> 11) as f64 / (1u64 << 53) as f64;
        words[((u * u * u) * words.len() as f64) as usize % words.len()]
    };
    let mut out = String::with_capacity(len + 4096);
    out.push_str(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>Notes from the workshop</title>\n<style>\n\
         body { font-family: Georgia, serif; margin: 0 auto; max-width: 46rem; padding: 1rem; color: #222; background: #fdfdfb; }\n\
         header nav a { margin-right: 1rem; color: #0645ad; text-decoration: none; }\n\
         article { border-bottom: 1px solid #ddd; padding: 1.5rem 0; }\n\
         article h2 { font-size: 1.4rem; margin: 0 0 .3rem; }\n\
         .meta { color: #666; font-size: .9rem; }\n\
         .tags li { display: inline; margin-right: .5rem; }\n\
         table { border-collapse: collapse; } td, th { padding: .2rem .6rem; text-align: right; }\n\
         @media (prefers-color-scheme: dark) { body { background: #111; color: #ddd; } }\n\
         </style>\n</head>\n<body>\n<header>\n<h1>Notes from the workshop</h1>\n<nav>\n",
    );
    for section in ["Home", "Archive", "Projects", "Reading", "About", "Contact"] {
        out.push_str(&format!(
            "<a href=\"/{}/\">{section}</a>\n",
            section.to_ascii_lowercase()
        ));
    }
    out.push_str("</nav>\n</header>\n<main>\n");
    let footer = "</main>\n<footer><p>&copy; 2024 The workshop. Written by hand, served by a small server.</p></footer>\n</body>\n</html>\n";
    let mut post = 0;
    while out.len() + footer.len() < len {
        post += 1;
        let title: Vec<String> = (0..3 + next() % 5)
            .map(|i| {
                let w = word(&mut next);
                if i == 0 || w.len() > 3 {
                    let mut c = w.chars();
                    c.next()
                        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
                } else {
                    w.to_string()
                }
            })
            .collect();
        let slug = title.join("-").to_ascii_lowercase();
        let (year, month, day) = (2015 + next() % 10, next() % 12, 1 + next() % 28);
        let author = NAMES[(next() % NAMES.len() as u64) as usize];
        out.push_str(&format!(
            "<article id=\"post-{post}\">\n<h2><a href=\"/{year}/{:02}/{slug}.html\">{}</a></h2>\n\
             <p class=\"meta\">Posted on <time datetime=\"{year}-{:02}-{day:02}\">{} {day}, {year}</time> by \
             <a href=\"/authors/{}\">{author}</a> &middot; {} comments</p>\n",
            month + 1,
            title.join(" "),
            month + 1,
            MONTHS[month as usize],
            author.to_ascii_lowercase().replace(' ', "-"),
            next() % 60,
        ));
        for _ in 0..2 + next() % 4 {
            out.push_str("<p>");
            for s in 0..3 + next() % 5 {
                if s > 0 {
                    out.push(' ');
                }
                let n = 6 + next() % 16;
                for i in 0..n {
                    let w = word(&mut next);
                    if i == 0 {
                        let mut c = w.chars();
                        if let Some(f) = c.next() {
                            out.extend(f.to_uppercase());
                            out.push_str(c.as_str());
                        }
                    } else if next() % 23 == 0 {
                        out.push_str(&format!(
                            " <a href=\"/notes/{w}-{}\">{w}</a>",
                            next() % 1000
                        ));
                    } else if next() % 31 == 0 {
                        out.push_str(&format!(" <em>{w}</em>"));
                    } else {
                        out.push(' ');
                        out.push_str(w);
                    }
                    if i + 1 < n && next() % 11 == 0 {
                        out.push(',');
                    }
                }
                out.push(if next() % 9 == 0 { '?' } else { '.' });
            }
            out.push_str("</p>\n");
        }
        if next() % 4 == 0 {
            out.push_str("<table>\n<tr><th>run</th><th>requests/s</th><th>latency (ms)</th><th>bytes</th></tr>\n");
            for row in 1..=3 + next() % 4 {
                out.push_str(&format!(
                    "<tr><td>{row}</td><td>{}</td><td>{}.{:02}</td><td>{}</td></tr>\n",
                    1000 + next() % 90_000,
                    next() % 40,
                    next() % 100,
                    next() % 10_000_000
                ));
            }
            out.push_str("</table>\n");
        }
        out.push_str("<ul class=\"tags\">");
        for _ in 0..1 + next() % 4 {
            let w = word(&mut next);
            out.push_str(&format!("<li><a href=\"/tags/{w}\">{w}</a></li>"));
        }
        out.push_str("</ul>\n</article>\n");
    }
    // Cut back to the last whole article, then pad to the exact length
    // with a comment (a few hundred bytes at most).
    let cut = out
        .rfind("<article")
        .filter(|&c| c > 0 && out.len() + footer.len() > len)
        .unwrap_or(out.len());
    out.truncate(cut);
    let pad = len.saturating_sub(out.len() + footer.len());
    if pad >= 7 {
        out.push_str("<!--");
        for i in 0..pad - 7 {
            out.push(if i % 64 == 63 { '\n' } else { ' ' });
        }
        out.push_str("-->");
    }
    out.push_str(footer);
    let mut bytes = out.into_bytes();
    bytes.resize(len, b'\n');
    bytes
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

/// nginx with `gzip on` and nothing else of gzip's settings: level 1
/// (`gzip_comp_level`), `text/html` only (`gzip_types`), from 20 bytes
/// (`gzip_min_length`). Debian's nginx has no brotli or zstd module.
fn start_nginx(pin: Pinning, nginx: &Path, www: &Path) -> io::Result<Server> {
    let http = "sendfile on;
    tcp_nopush on;
    open_file_cache max=1000 inactive=60s;
    gzip on;
    types {
        text/html html;
        application/octet-stream bin;
    }";
    Server::start_nginx_with(pin, nginx, http, &format!("root {};", www.display()))
}

/// Caddy's `file_server` with `encode zstd gzip` (on-the-fly compression at
/// its default levels; Caddy has no brotli encoder) and `precompressed br`
/// (sidecars, as basehttp serves them).
fn start_caddy(pin: Pinning, caddy: &Path, www: &Path) -> io::Result<Server> {
    let site = format!(
        "\troot * {}\n\tencode zstd gzip\n\tfile_server {{\n\t\tprecompressed br\n\t}}",
        www.display()
    );
    Server::start_caddy(pin, caddy, &site)
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

/// One response as [`probe`] read it.
struct Probe {
    status: u16,
    /// The head's header lines.
    headers: Vec<String>,
    /// The body's bytes, chunked framing removed: the encoded size for an
    /// encoded response.
    body: usize,
}

impl Probe {
    /// The value of header `name`, if sent.
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find_map(|l| {
            let (n, v) = l.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// One `GET path` with `headers` (`Name: value` lines), over a connection
/// of its own, read to the end.
fn probe(addr: SocketAddr, path: &str, headers: &[String]) -> io::Result<Probe> {
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut request = format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for h in headers {
        request.push_str(h);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    s.write_all(request.as_bytes())?;
    let mut all = Vec::new();
    s.read_to_end(&mut all)?;
    let end = all
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| io::Error::other("no response head"))?;
    let head = String::from_utf8_lossy(&all[..end]).into_owned();
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| io::Error::other("no status line"))?;
    let mut probe = Probe {
        status,
        headers: lines.map(String::from).collect(),
        body: 0,
    };
    let body = &all[end + 4..];
    probe.body = if probe
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        dechunked_len(body).ok_or_else(|| io::Error::other("bad chunked body"))?
    } else {
        body.len()
    };
    Ok(probe)
}

/// The payload length of a complete chunked body.
fn dechunked_len(mut body: &[u8]) -> Option<usize> {
    let mut total = 0;
    loop {
        let line_end = body.windows(2).position(|w| w == b"\r\n")?;
        let size = std::str::from_utf8(&body[..line_end]).ok()?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(total);
        }
        total += size;
        body = body.get(line_end + 2 + size + 2..)?;
    }
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
    let br_len =
        make_site(&www).unwrap_or_else(|e| usage(&format!("cannot write the served files: {e}")));
    let start = |name: &str| match name {
        "basehttp" => start_basehttp(pin, &o.basehttp, &www),
        "nginx" => start_nginx(pin, &o.nginx, &www),
        "caddy" => start_caddy(pin, o.caddy.as_deref().unwrap_or(Path::new("caddy")), &www),
        _ => start_python(pin, &o.python, &www),
    };
    let mut servers: Vec<Server> = Vec::new();
    for name in &o.servers {
        match start(name) {
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

    // The compression and precompressed measurements, checked once first.
    let mut extras = extras(&servers, br_len);
    let mut notes: Vec<String> = Vec::new();
    let mut skipped: Vec<String> = Vec::new();
    extras.retain_mut(|x| {
        let s = &servers[x.server];
        match probe(s.addr, &x.path, &x.headers) {
            Ok(p) if p.status == 200 && p.header("content-encoding") == x.coding => {
                x.body = p.body;
                true
            }
            Ok(p) => {
                skipped.push(format!(
                    "{} {} with {:?}: status {}, Content-Encoding {:?} (expected {:?}): not measured",
                    s.name,
                    x.path,
                    x.headers,
                    p.status,
                    p.header("content-encoding"),
                    x.coding
                ));
                false
            }
            Err(e) => {
                skipped.push(format!("{} {}: {e}: not measured", s.name, x.path));
                false
            }
        }
    });

    // What is measured as one: each compression measurement alone, each
    // server's sidecar with its plain file of the same size.
    let mut units: Vec<Vec<usize>> = Vec::new();
    for (i, x) in extras.iter().enumerate() {
        match x.table {
            Table::Compression => units.push(vec![i]),
            Table::Precompressed => match units.iter_mut().find(|u| {
                u.iter()
                    .any(|&j| extras[j].table == x.table && extras[j].server == x.server)
            }) {
                Some(unit) => unit.push(i),
                None => units.push(vec![i]),
            },
        }
    }

    // results[file][conns][server] = (req/s samples, µs/request samples)
    let mut rps = vec![vec![vec![Vec::new(); servers.len()]; CONNECTIONS.len()]; FILES.len()];
    let mut cpu = rps.clone();
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
        // The compression and precompressed measurements, in a rotating
        // order too; a sidecar and its plain counterpart back to back, the
        // one or the other first in turn, so that they are compared as a
        // pair measured under the same conditions.
        let order: Vec<usize> = (0..units.len())
            .flat_map(|k| {
                let unit = &units[(k + round) % units.len()];
                let flip = round % 2 == 1;
                let mut unit = unit.clone();
                if flip {
                    unit.reverse();
                }
                unit
            })
            .collect();
        for xi in order {
            let x = &mut extras[xi];
            let s = &servers[x.server];
            let url = format!("http://{}{}", s.addr, x.path);
            let wrk_headers: Vec<String> = x
                .headers
                .iter()
                .flat_map(|h| ["-H".to_string(), h.clone()])
                .collect();
            let before = s.cpu_time().unwrap_or_default();
            let run = match run_wrk(&o.wrk, &url, EXTRA_CONNECTIONS, o.duration, &wrk_headers) {
                Ok(run) => run,
                Err(e) => {
                    eprintln!("files: {e}");
                    std::process::exit(1);
                }
            };
            let after = s.cpu_time().unwrap_or_default();
            if !run.errors.is_empty() {
                notes.push(format!(
                    "round {}, {} {} ({}): {}",
                    round + 1,
                    s.name,
                    x.path,
                    x.label,
                    run.errors
                ));
            }
            let requests = run.requests.max(1) as f64;
            x.rps.push(run.requests_per_second);
            x.cpu.push((after - before).as_secs_f64() * 1e6 / requests);
            x.wire.push(run.bytes as f64 / requests);
            eprintln!(
                "files: round {}/{}: {} {} ({}): {:.0} req/s, {:.2} µs CPU/request, {:.0} B/response",
                round + 1,
                o.rounds,
                s.name,
                x.path,
                x.label,
                run.requests_per_second,
                x.cpu.last().unwrap_or(&0.0),
                x.wire.last().unwrap_or(&0.0),
            );
        }
    }
    // Peak memory after all the rounds, compression included.
    let hwm_after_rounds: Vec<String> = servers
        .iter()
        .map(|s| match s.status() {
            Ok(st) => format!("{} {}", s.name, mib(st.vm_hwm_kib)),
            Err(e) => format!("{} ({e})", s.name),
        })
        .collect();

    // Streaming a sparse 4 GiB file, one server at a time.
    let mut streams = Vec::new();
    let mut stream_notes: Vec<String> = Vec::new();
    if o.stream {
        // Read it once first, so that whichever server goes first does not
        // pay alone for filling the page cache with the file's zero pages.
        if let Err(e) =
            std::fs::File::open(www.join(BIG.0)).and_then(|mut f| io::copy(&mut f, &mut io::sink()))
        {
            eprintln!("files: reading {}: {e}", BIG.0);
        }
        for s in &servers {
            // The peak of the stream alone, not of the rounds before it.
            if let Err(e) = reset_peak_rss(s.pid()) {
                stream_notes.push(format!(
                    "{}: VmHWM not reset ({e}): its figure is the peak of its whole run",
                    s.name
                ));
            }
            let rss = s.status().map_or(0, |st| st.vm_rss_kib);
            let result = stream(s, &format!("/{}", BIG.0), BIG.1);
            streams.push((s.name.clone(), rss, result));
        }
    }

    // Multi-range requests on a fresh server of each kind that serves them
    // (Python's http.server ignores `Range`).
    let names: Vec<String> = servers.iter().map(|s| s.name.clone()).collect();
    drop(servers);
    let mut ranged = Vec::new();
    let range_header = format!("Range: {}", multi_range());
    for name in o.servers.iter().filter(|n| *n != "python") {
        ranged.push((
            name.clone(),
            multi_range_run(&o, &start, name, &range_header),
        ));
    }

    // --- Report ------------------------------------------------------------
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
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
            for si in 0..names.len() {
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
        println!(
            "Streaming a sparse {} file to one client, after the rounds; each server's VmHWM is reset to its VmRSS first (`/proc/PID/clear_refs`), so that it is the peak of the stream (the VmRSS before counts what the allocator kept from the rounds):",
            human(BIG.1)
        );
        println!();
        println!("| server | bytes received | time | server VmRSS before | server VmHWM after |");
        println!("| --- | ---: | ---: | ---: | ---: |");
        for (name, rss, result) in &streams {
            match result {
                Ok((got, elapsed, hwm)) => {
                    println!(
                        "| {name} | {} | {:.2} s | {} | {} |",
                        thousands(*got),
                        elapsed.as_secs_f64(),
                        mib(*rss),
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
                Err(e) => println!("| {name} | failed: {e} | | | |"),
            }
        }
        for n in &stream_notes {
            println!();
            println!("{n}.");
        }
    }
    report_extras(&names, &extras, &mut bar_lines);
    report_ranged(&ranged, &range_header, o.duration * 2, &mut bar_lines);
    if !hwm_after_rounds.is_empty() {
        println!();
        println!(
            "Server VmHWM after all the rounds (files, compression and precompressed files): {}.",
            hwm_after_rounds.join(", ")
        );
    }
    if !skipped.is_empty() {
        println!();
        println!("Not measured, the check before the rounds failed:");
        println!();
        for n in &skipped {
            println!("- {n}");
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

/// Connections for the compression, precompressed and multi-range
/// measurements.
const EXTRA_CONNECTIONS: usize = 16;

/// Which table a measurement of [`Extra`] belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Table {
    /// `page.html` compressed on the fly.
    Compression,
    /// `pre.html.br` and the plain file of its size.
    Precompressed,
}

/// One measurement beside the files table: a server, a path, the request's
/// headers, measured in the same rounds at [`EXTRA_CONNECTIONS`].
struct Extra {
    table: Table,
    server: usize,
    /// What the row says: the coding, or which file.
    label: String,
    path: String,
    headers: Vec<String>,
    /// The `Content-Encoding` the response must carry.
    coding: Option<&'static str>,
    /// The body's length in the check before the rounds.
    body: usize,
    rps: Vec<f64>,
    cpu: Vec<f64>,
    /// wrk's bytes read per response: heads, bodies and chunk framing.
    wire: Vec<f64>,
}

/// The compression and precompressed measurements for these servers:
/// on-the-fly gzip from all but Python, br and zstd from those that have
/// them; the `.br` sidecar and the plain file of `br_len` bytes from
/// basehttp and Caddy (Debian's nginx has no brotli module).
fn extras(servers: &[Server], br_len: usize) -> Vec<Extra> {
    let mut out = Vec::new();
    let mut add = |table, server, label: String, path: &str, accept: &str, coding| {
        out.push(Extra {
            table,
            server,
            label,
            path: path.to_string(),
            headers: vec![format!("Accept-Encoding: {accept}")],
            coding,
            body: 0,
            rps: Vec::new(),
            cpu: Vec::new(),
            wire: Vec::new(),
        });
    };
    let page = format!("/{}", PAGE.0);
    for (si, s) in servers.iter().enumerate() {
        let codings: &[(&str, &str)] = match s.name.as_str() {
            "basehttp" => &[("gzip", "gzip"), ("br", "brotli"), ("zstd", "zstd")],
            "nginx" => &[("gzip", "gzip")],
            "caddy" => &[("gzip", "gzip"), ("zstd", "zstd")],
            _ => &[],
        };
        for &(coding, label) in codings {
            let level = match (s.name.as_str(), coding) {
                ("basehttp", "gzip") => format!(" (level {})", basehttp::files::GZIP_LEVEL),
                ("basehttp", "br") => {
                    format!(" (quality {})", basehttp::files::BROTLI_QUALITY)
                }
                ("basehttp", "zstd") => format!(" (level {})", basehttp::files::ZSTD_LEVEL),
                ("nginx", _) => " (level 1, the default)".to_string(),
                _ => " (default level)".to_string(),
            };
            add(
                Table::Compression,
                si,
                format!("{label}{level}"),
                &page,
                coding,
                Some(coding),
            );
        }
        if matches!(s.name.as_str(), "basehttp" | "caddy") {
            add(
                Table::Precompressed,
                si,
                format!("`{PRE}.br` ({br_len} B), sent as `{PRE}` in br"),
                &format!("/{PRE}"),
                "br",
                Some("br"),
            );
            add(
                Table::Precompressed,
                si,
                format!("`{SAME_SIZE}` ({br_len} B), plain"),
                &format!("/{SAME_SIZE}"),
                "br",
                None,
            );
        }
    }
    out
}

/// The two tables of [`Extra`] measurements, and their bar lines.
fn report_extras(names: &[&str], extras: &[Extra], bar_lines: &mut Vec<String>) {
    let medians = |x: &Extra| {
        (
            median(&mut x.rps.clone()),
            median(&mut x.cpu.clone()),
            median(&mut x.wire.clone()),
        )
    };
    let nginx_gzip = extras
        .iter()
        .find(|x| x.table == Table::Compression && names[x.server] == "nginx")
        .map(|x| medians(x).1);
    let rows: Vec<&Extra> = extras
        .iter()
        .filter(|x| x.table == Table::Compression)
        .collect();
    if !rows.is_empty() {
        println!();
        println!(
            "On-the-fly compression: `/{}`, {} of varied HTML (made up by the benchmark), fetched with `Accept-Encoding` naming one coding, {EXTRA_CONNECTIONS} connections:",
            PAGE.0,
            human(PAGE.1 as u64),
        );
        println!();
        println!(
            "| server | coding | req/s | µs CPU/req | encoded body (B) | bytes/response on the wire | CPU vs nginx gzip |"
        );
        println!("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
        for x in &rows {
            let (r, c, w) = medians(x);
            let ratio = nginx_gzip.map_or("—".to_string(), |n| format!("{:.2}×", c / n));
            println!(
                "| {} | {} | {} | {c:.1} | {} | {} | {ratio} |",
                names[x.server],
                x.label,
                thousands(r.round() as u64),
                thousands(x.body as u64),
                thousands(w.round() as u64),
            );
        }
        let ngx = rows.iter().find(|x| names[x.server] == "nginx");
        let base = rows
            .iter()
            .find(|x| names[x.server] == "basehttp" && x.coding == Some("gzip"));
        if let (Some(n), Some(b)) = (ngx, base) {
            let (bc, nc) = (medians(b).1, medians(n).1);
            bar_lines.push(format!(
                "- {}: gzip on the fly costs ≤ 1.0× nginx's CPU per request (gzip on, level 1), {} of HTML: {bc:.1} vs {nc:.1} µs ({:.2}×), {} vs {} bytes of body",
                if bc <= nc { "meets" } else { "misses" },
                human(PAGE.1 as u64),
                bc / nc,
                thousands(b.body as u64),
                thousands(n.body as u64),
            ));
        }
    }
    let rows: Vec<&Extra> = extras
        .iter()
        .filter(|x| x.table == Table::Precompressed)
        .collect();
    if !rows.is_empty() {
        println!();
        println!(
            "A precompressed sidecar against a plain file of the same size, both fetched with `Accept-Encoding: br`, {EXTRA_CONNECTIONS} connections, one after the other in each round (medians of the rounds):"
        );
        println!();
        println!("| server | file | req/s | µs CPU/req | body (B) | bytes/response on the wire |");
        println!("| --- | --- | ---: | ---: | ---: | ---: |");
        for x in &rows {
            let (r, c, w) = medians(x);
            println!(
                "| {} | {} | {} | {c:.1} | {} | {} |",
                names[x.server],
                x.label,
                thousands(r.round() as u64),
                thousands(x.body as u64),
                thousands(w.round() as u64),
            );
        }
        let base: Vec<&&Extra> = rows
            .iter()
            .filter(|x| names[x.server] == "basehttp")
            .collect();
        if let [pre, plain] = base[..] {
            let (pc, qc) = (medians(pre).1, medians(plain).1);
            // The pair was measured back to back in each round: the median
            // of the rounds' ratios.
            let mut ratios: Vec<f64> = pre.cpu.iter().zip(&plain.cpu).map(|(a, b)| a / b).collect();
            let ratio = median(&mut ratios);
            let (low, high) = ratios
                .iter()
                .fold((f64::MAX, f64::MIN), |(l, h), &r| (l.min(r), h.max(r)));
            bar_lines.push(format!(
                "- {}: a precompressed `.br` costs the same CPU per request as a plain file of its size (within 10 %): {pc:.1} vs {qc:.1} µs; the ratio of the pair, measured back to back in each round: median {ratio:.2}× (rounds from {low:.2}× to {high:.2}×)",
                if ratio <= 1.10 { "meets" } else { "misses" },
            ));
        }
    }
}

/// What one server did under the multi-range load.
struct Ranged {
    rps: f64,
    cpu_us: f64,
    wire: f64,
    /// The body of the check request, and its parts.
    body: usize,
    hwm_before_kib: u64,
    hwm_after_kib: u64,
    errors: String,
}

/// Starts a fresh `name` server, checks that it answers `range_header`
/// with a 206 `multipart/byteranges`, puts wrk's load on it for twice the
/// duration and reads its VmHWM.
fn multi_range_run(
    o: &Options,
    start: &dyn Fn(&str) -> io::Result<Server>,
    name: &str,
    range_header: &str,
) -> io::Result<Ranged> {
    let s = start(name)?;
    let path = format!("/{}", RANGED.0);
    let headers = [range_header.to_string()];
    let check = probe(s.addr, &path, &headers)?;
    let content_type = check.header("content-type").unwrap_or_default();
    if check.status != 206 || !content_type.starts_with("multipart/byteranges") {
        return Err(io::Error::other(format!(
            "answered {} {content_type}, not 206 multipart/byteranges",
            check.status
        )));
    }
    let hwm_before_kib = s.status()?.vm_hwm_kib;
    let before = s.cpu_time()?;
    let url = format!("http://{}{path}", s.addr);
    let run = run_wrk(
        &o.wrk,
        &url,
        EXTRA_CONNECTIONS,
        o.duration * 2,
        &["-H", range_header],
    )?;
    let after = s.cpu_time()?;
    let hwm_after_kib = s.status()?.vm_hwm_kib;
    let requests = run.requests.max(1) as f64;
    eprintln!(
        "files: multi-range: {name}: {:.0} req/s, VmHWM {}",
        run.requests_per_second,
        mib(hwm_after_kib)
    );
    Ok(Ranged {
        rps: run.requests_per_second,
        cpu_us: (after - before).as_secs_f64() * 1e6 / requests,
        wire: run.bytes as f64 / requests,
        body: check.body,
        hwm_before_kib,
        hwm_after_kib,
        errors: run.errors,
    })
}

/// The multi-range table and its bar line.
fn report_ranged(
    ranged: &[(String, io::Result<Ranged>)],
    range_header: &str,
    duration: Duration,
    bar_lines: &mut Vec<String>,
) {
    if ranged.is_empty() {
        return;
    }
    println!();
    println!(
        "Multi-range: a freshly started server of each kind, then {} s of wrk ({EXTRA_CONNECTIONS} connections) asking a sparse {} file for 8 ranges of 64 KiB, one every 128 MiB (`{range_header}`); one run:",
        duration.as_secs(),
        human(RANGED.1),
    );
    println!();
    println!(
        "| server | req/s | µs CPU/req | multipart body (B) | bytes/response on the wire | VmHWM at start | VmHWM after |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for (name, result) in ranged {
        match result {
            Ok(r) => {
                println!(
                    "| {name} | {} | {:.1} | {} | {} | {} | {} |{}",
                    thousands(r.rps.round() as u64),
                    r.cpu_us,
                    thousands(r.body as u64),
                    thousands(r.wire.round() as u64),
                    mib(r.hwm_before_kib),
                    mib(r.hwm_after_kib),
                    if r.errors.is_empty() {
                        String::new()
                    } else {
                        format!(" wrk: {}", r.errors)
                    }
                );
                if name == "basehttp" {
                    bar_lines.push(format!(
                        "- {}: multi-range requests on a {} file with server RSS under 32 MiB: VmHWM {} after {} requests/s for {} s",
                        if r.hwm_after_kib < 32 * 1024 && r.errors.is_empty() {
                            "meets"
                        } else {
                            "misses"
                        },
                        human(RANGED.1),
                        mib(r.hwm_after_kib),
                        thousands(r.rps.round() as u64),
                        duration.as_secs(),
                    ));
                }
            }
            Err(e) => println!("| {name} | failed: {e} | | | | | |"),
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
