//! Forms: a 1 GiB multipart upload streamed through the `post` example, and
//! a flood of 100,000 tiny urlencoded fields, each side by side with Python
//! 3.11 parsing the same body in the same run.
//!
//! ```text
//! form_upload --post target/release/examples/post [--python python3]
//!             [--size BYTES] [--rounds N] [--fields N]
//! ```
//!
//! Upload: the client sends `Content-Length`, a part head, SIZE bytes of
//! pseudo-random data and the close delimiter over loopback, and the time is
//! from its first byte to the end of the response (`Uploaded datafile (SIZE
//! bytes)`). The server's peak RSS is `VmHWM` from `/proc/PID/status` after
//! the upload. Python: `bench/python/form_parse.py multipart`, the streaming
//! `python-multipart` parser fed the same body through a pipe (so it is
//! spared the HTTP and socket work basehttp does); its time is measured
//! inside Python from the first byte read, its peak RSS is `ru_maxrss`.
//!
//! Flood: `f0=1&f1=1&…` with FIELDS fields, posted as
//! `application/x-www-form-urlencoded`: basehttp's default `max_num_fields`
//! (1000) answers 413; Python's `parse_qsl(max_num_fields=1000)` raises
//! `ValueError`, and with its default (no limit) parses them all.

use basehttp_bench::{Pinning, Server, exe_dir, mib, proc_status};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

const BOUNDARY: &str = "----basehttpBenchBoundary7MA4YWxkTrZu0gW";

struct Args {
    post: PathBuf,
    python: PathBuf,
    script: PathBuf,
    size: u64,
    rounds: usize,
    fields: usize,
}

fn usage(message: &str) -> ! {
    eprintln!(
        "form_upload: {message}\nusage: form_upload --post PATH [--python PYTHON] \
         [--size BYTES] [--rounds N] [--fields N]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    // bench/target/release/form_upload -> the repository root.
    let root = exe_dir()
        .ancestors()
        .nth(3)
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let mut args = Args {
        post: root.join("target/release/examples/post"),
        python: PathBuf::from("python3"),
        script: root.join("bench/python/form_parse.py"),
        size: 1 << 30,
        rounds: 3,
        fields: 100_000,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{arg} needs a value")))
        };
        match arg.as_str() {
            "--post" => args.post = PathBuf::from(value()),
            "--python" => args.python = PathBuf::from(value()),
            "--size" => args.size = value().parse().unwrap_or_else(|_| usage("bad --size")),
            "--rounds" => args.rounds = value().parse().unwrap_or_else(|_| usage("bad --rounds")),
            "--fields" => args.fields = value().parse().unwrap_or_else(|_| usage("bad --fields")),
            other => usage(&format!("unknown argument {other:?}")),
        }
    }
    args
}

/// xorshift64*: incompressible-looking bytes, the same on every run.
fn random_block(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut out = Vec::with_capacity(len + 8);
    while out.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        out.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    out.truncate(len);
    out
}

fn part_head() -> String {
    format!(
        "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"datafile\"; \
         filename=\"big.bin\"\r\nContent-Type: application/octet-stream\r\n\r\n"
    )
}

fn part_tail() -> String {
    format!("\r\n--{BOUNDARY}--\r\n")
}

/// Writes the multipart body: part head, `size` bytes, close delimiter.
fn write_body(w: &mut (impl Write + ?Sized), size: u64, block: &[u8]) -> io::Result<()> {
    w.write_all(part_head().as_bytes())?;
    let mut left = size;
    while left > 0 {
        let n = left.min(block.len() as u64) as usize;
        w.write_all(&block[..n])?;
        left -= n as u64;
    }
    w.write_all(part_tail().as_bytes())
}

/// Reads one response; returns its status and body.
fn read_response(stream: TcpStream) -> io::Result<(u16, String)> {
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| io::Error::other(format!("bad status line {line:?}")))?;
    let mut length = None;
    loop {
        let mut h = String::new();
        reader.read_line(&mut h)?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((n, v)) = h.split_once(':')
            && n.eq_ignore_ascii_case("content-length")
        {
            length = v.trim().parse::<usize>().ok();
        }
    }
    let mut body = Vec::new();
    match length {
        Some(n) => {
            body.resize(n, 0);
            reader.read_exact(&mut body)?;
        }
        None => {
            reader.read_to_end(&mut body)?;
        }
    }
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

fn connect(addr: SocketAddr) -> io::Result<TcpStream> {
    let s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(600)))?;
    s.set_write_timeout(Some(Duration::from_secs(600)))?;
    Ok(s)
}

/// One upload through the example: seconds from the first byte sent to the
/// end of the response.
fn upload(addr: SocketAddr, size: u64, block: &[u8]) -> io::Result<f64> {
    let length = part_head().len() as u64 + size + part_tail().len() as u64;
    let mut s = connect(addr)?;
    let start = Instant::now();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: bench\r\nContent-Type: multipart/form-data; \
         boundary={BOUNDARY}\r\nContent-Length: {length}\r\nConnection: close\r\n\r\n"
    )?;
    write_body(&mut s, size, block)?;
    let (status, body) = read_response(s)?;
    let seconds = start.elapsed().as_secs_f64();
    let expected = format!("\tUploaded datafile ({size} bytes)\n");
    if status != 200 || !body.ends_with(&expected) {
        return Err(io::Error::other(format!(
            "unexpected answer {status}: {body:?}"
        )));
    }
    Ok(seconds)
}

/// Runs the Python helper with `args`, feeding it `feed`; returns its
/// `key=value` figures.
fn python(
    args: &Args,
    pinning: Pinning,
    mode_args: &[&str],
    feed: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> io::Result<Vec<(String, String)>> {
    let mut command = pinning.command(&args.python);
    let mut child = command
        .arg(&args.script)
        .args(mode_args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| io::Error::other(format!("cannot run {}: {e}", args.python.display())))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let fed = feed(&mut stdin);
    drop(stdin);
    let output = child.wait_with_output()?;
    fed?;
    if !output.status.success() {
        return Err(io::Error::other(format!(
            "python failed: {}",
            output.status
        )));
    }
    Ok(String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect())
}

fn figure<'a>(figures: &'a [(String, String)], key: &str) -> &'a str {
    figures
        .iter()
        .find(|(k, _)| k == key)
        .map_or("?", |(_, v)| v.as_str())
}

fn mb_per_s(bytes: u64, seconds: f64) -> f64 {
    bytes as f64 / 1e6 / seconds
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn main() -> io::Result<()> {
    let args = parse_args();
    if !args.post.is_file() {
        usage(&format!(
            "{} is missing: build it with `cargo build --release --example post`",
            args.post.display()
        ));
    }
    let pinning = Pinning::setup();
    println!(
        "# Forms: {} ({})",
        pinning.describe(),
        std::env::consts::ARCH
    );
    let block = random_block(1 << 20);
    let size = args.size;
    let body_len = part_head().len() as u64 + size + part_tail().len() as u64;

    // --- The upload -----------------------------------------------------------
    let mut server = Server::start("post", pinning, &args.post, &["127.0.0.1:0"])?;
    let idle_rss = server.status()?.vm_rss_kib;
    let mut ours = Vec::new();
    for round in 1..=args.rounds {
        let seconds = upload(server.addr, size, &block)?;
        println!(
            "basehttp post example, round {round}: {seconds:.2} s, {:.0} MB/s",
            mb_per_s(body_len, seconds)
        );
        ours.push(seconds);
    }
    let peak = server.status()?.vm_hwm_kib;
    server.stop(Duration::from_secs(10));

    let mut theirs = Vec::new();
    let mut py_rss = 0;
    let mut py_version = String::from("?");
    for round in 1..=args.rounds {
        let figures = python(&args, pinning, &["multipart", BOUNDARY], |w| {
            write_body(w, size, &block)
        })?;
        let seconds: f64 = figure(&figures, "seconds").parse().unwrap_or(f64::NAN);
        let largest = figure(&figures, "largest");
        if largest != size.to_string() {
            return Err(io::Error::other(format!(
                "python-multipart counted {largest} bytes, not {size}"
            )));
        }
        py_rss = py_rss.max(figure(&figures, "maxrss_kib").parse().unwrap_or(0));
        py_version = figure(&figures, "python").to_owned();
        println!(
            "Python {py_version} python-multipart, round {round}: {seconds:.2} s, {:.0} MB/s",
            mb_per_s(body_len, seconds)
        );
        theirs.push(seconds);
    }
    let (ours_s, theirs_s) = (median(ours), median(theirs));
    println!();
    println!(
        "| {} MiB multipart upload | median time | throughput | peak RSS |",
        size >> 20
    );
    println!("| --- | --- | --- | --- |");
    println!(
        "| basehttp `post` example (HTTP over loopback, release) | {ours_s:.2} s | {:.0} MB/s | {} (idle: {}) |",
        mb_per_s(body_len, ours_s),
        mib(peak),
        mib(idle_rss)
    );
    println!(
        "| Python {py_version}, python-multipart (parser only, from a pipe) | {theirs_s:.2} s | {:.0} MB/s | {} |",
        mb_per_s(body_len, theirs_s),
        mib(py_rss)
    );

    // --- The flood of fields ----------------------------------------------------
    let flood: String = (0..args.fields)
        .map(|i| format!("f{i}=1"))
        .collect::<Vec<_>>()
        .join("&");
    let mut server = Server::start("post", pinning, &args.post, &["127.0.0.1:0"])?;
    let before = server.status()?.vm_hwm_kib;
    let mut s = connect(server.addr)?;
    let start = Instant::now();
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: bench\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{flood}",
        flood.len()
    )?;
    let (status, answer) = read_response(s)?;
    let ours_flood = start.elapsed();
    let after = proc_status(server.pid())?.vm_hwm_kib;
    server.stop(Duration::from_secs(10));
    let reason = answer
        .lines()
        .find(|l| l.contains("Message:"))
        .unwrap_or("")
        .replace("<p>", "")
        .replace("</p>", "")
        .trim()
        .to_owned();
    println!();
    println!(
        "| {} urlencoded fields ({} KiB body) | outcome | time | peak RSS |",
        args.fields,
        flood.len() >> 10
    );
    println!("| --- | --- | --- | --- |");
    println!(
        "| basehttp `post` example, default max_num_fields (1000) | {status} ({}) | {:.2} ms (request to response) | {} (before: {}) |",
        reason.replace('|', "/"),
        ours_flood.as_secs_f64() * 1e3,
        mib(after),
        mib(before)
    );
    for (limit, label) in [("1000", "max_num_fields=1000"), ("0", "default (no limit)")] {
        let figures = python(&args, pinning, &["urlencoded", limit], |w| {
            w.write_all(flood.as_bytes())
        })?;
        let seconds: f64 = figure(&figures, "seconds").parse().unwrap_or(f64::NAN);
        println!(
            "| Python {} `parse_qsl`, {label} | {} | {:.2} ms (parse only) | {} |",
            figure(&figures, "python"),
            figure(&figures, "outcome").replace('|', "/"),
            seconds * 1e3,
            mib(figure(&figures, "maxrss_kib").parse().unwrap_or(0))
        );
    }
    Ok(())
}
