//! The throughput benchmark: basehttp's `hello` example (pool and sequential
//! modes) beside hyper (with and without `pipeline_flush`), tiny_http, a raw
//! epoll server that only does the syscalls (`ceiling`), and Python's
//! `http.server`, all answering `GET /` with `Hello, World!` and echoing a
//! `POST`'s body, printed as Markdown tables.
//!
//! wrk (one thread, `--latency`, `--timeout 10s`) loads each server in seven
//! scenarios: keep-alive `GET /` over 1, 16, 64 and 256 connections;
//! `Connection: close` over 16; a 4 KiB `POST` over 64 (`bench/wrk/post.lua`);
//! 16 pipelined `GET`s per batch over 16 (`bench/wrk/pipeline.lua`). Each
//! measurement gives requests/s, p50 and p99 latency, and the server's CPU
//! time per request: the growth of `utime + stime` of the server process
//! (all threads) during the run over the requests wrk completed.
//!
//! A round starts each server in turn (the first one rotating from round to
//! round), checks that it answers a `GET` and echoes a `POST`, runs the seven
//! scenarios against it and stops it; the tables give the median of the
//! rounds (6 by default). Python without `TCP_NODELAY` takes part in every
//! round with `keep-alive 16` only. Servers run on CPU 1, wrk on CPU 0
//! (taskset), when there are two CPUs. Traffic goes to 127.0.0.1 only;
//! every measurement is bounded in time; every server is stopped by its own
//! `Drop` guard.
//!
//! `throughput [--rounds N] [--duration SECS] [--servers NAME,…]
//!             [--hello PATH] [--also LABEL=PATH]… [--peers DIR]
//!             [--python PATH] [--python-server PATH] [--scripts DIR]
//!             [--wrk PATH]`
//!
//! `--servers` takes the keys pool, sequential, hyper, hyper-flush,
//! tiny_http, ceiling, python, python-no-nodelay (default: all).
//! `--also LABEL=PATH` adds another build of `hello` (e.g. from an older
//! commit) in pool and sequential modes, named `basehttp pool LABEL` and
//! `basehttp sequential LABEL`, to measure a change before and after in one
//! run; the bars judge only `--hello`.

use basehttp_bench::{
    Client, CommandLine, Pinning, Server, cpu_busy, median, parse_response_head, run_wrk, thousands,
};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::time::{Duration, Instant};

struct Options {
    rounds: usize,
    duration: Duration,
    servers: Vec<String>,
    hello: PathBuf,
    /// Other builds of `hello`: (label, path).
    also: Vec<(String, PathBuf)>,
    peers: PathBuf,
    python: PathBuf,
    python_server: PathBuf,
    scripts: PathBuf,
    wrk: PathBuf,
}

const SERVER_KEYS: [&str; 8] = [
    "pool",
    "sequential",
    "hyper",
    "hyper-flush",
    "tiny_http",
    "ceiling",
    "python",
    "python-no-nodelay",
];

fn usage(message: &str) -> ! {
    eprintln!(
        "throughput: {message}\nusage: throughput [--rounds N] [--duration SECS] \
         [--servers {}] [--hello PATH] [--also LABEL=PATH]... [--peers DIR] [--python PATH] \
         [--python-server PATH] \
         [--scripts DIR] [--wrk PATH]",
        SERVER_KEYS.join(",")
    );
    std::process::exit(2)
}

fn parse_options() -> Options {
    // Defaults for `cargo run` from bench/.
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut o = Options {
        rounds: 6,
        duration: Duration::from_secs(3),
        servers: SERVER_KEYS.map(String::from).to_vec(),
        hello: manifest.join("../target/release/examples/hello"),
        also: Vec::new(),
        peers: basehttp_bench::exe_dir(),
        python: PathBuf::from("python3"),
        python_server: manifest.join("python/hello_server.py"),
        scripts: manifest.join("wrk"),
        wrk: PathBuf::from("wrk"),
    };
    let mut args = CommandLine::new(usage);
    while let Some(arg) = args.next_name() {
        match arg.as_str() {
            "--rounds" => o.rounds = args.number(&arg).max(1) as usize,
            "--duration" => o.duration = Duration::from_secs(args.number(&arg).max(1)),
            "--servers" => o.servers = args.list(&arg, &SERVER_KEYS),
            "--hello" => o.hello = args.value(&arg).into(),
            "--also" => {
                let value = args.value(&arg);
                match value.split_once('=') {
                    Some((label, path)) if !label.is_empty() && !path.is_empty() => {
                        o.also.push((label.to_string(), path.into()))
                    }
                    _ => usage(&format!("--also takes LABEL=PATH, not {value:?}")),
                }
            }
            "--peers" => o.peers = args.value(&arg).into(),
            "--python" => o.python = args.value(&arg).into(),
            "--python-server" => o.python_server = args.value(&arg).into(),
            "--scripts" => o.scripts = args.value(&arg).into(),
            "--wrk" => o.wrk = args.value(&arg).into(),
            _ => args.unknown(&arg),
        }
    }
    o
}

// ---------------------------------------------------------------------------
// Servers and scenarios
// ---------------------------------------------------------------------------

/// A server under test: how to start it, and which scenarios it runs.
struct Contender {
    key: &'static str,
    name: &'static str,
    program: PathBuf,
    args: Vec<String>,
    /// Only this scenario (Python without `TCP_NODELAY`); else all.
    only: Option<usize>,
}

fn contenders(o: &Options) -> Vec<Contender> {
    let addr = "127.0.0.1:0";
    let python = o.python_server.to_string_lossy().into_owned();
    let all = [
        (
            "pool",
            "basehttp pool",
            o.hello.clone(),
            vec!["--mode", "pool", addr],
        ),
        (
            "sequential",
            "basehttp sequential",
            o.hello.clone(),
            vec!["--mode", "sequential", addr],
        ),
        ("hyper", "hyper", o.peers.join("hyper_hello"), vec![addr]),
        (
            "hyper-flush",
            "hyper pipeline_flush",
            o.peers.join("hyper_hello"),
            vec!["--pipeline-flush", addr],
        ),
        (
            "tiny_http",
            "tiny_http",
            o.peers.join("tiny_http_hello"),
            vec![addr],
        ),
        ("ceiling", "ceiling", o.peers.join("ceiling"), vec![addr]),
        ("python", "python", o.python.clone(), vec![&python, addr]),
        (
            "python-no-nodelay",
            "python --no-nodelay",
            o.python.clone(),
            vec![&python, "--no-nodelay", addr],
        ),
    ];
    let mut cs: Vec<Contender> = all
        .into_iter()
        .filter(|(key, ..)| o.servers.iter().any(|s| s == key))
        .map(|(key, name, program, args)| Contender {
            key,
            name,
            program,
            args: args.into_iter().map(String::from).collect(),
            only: (key == "python-no-nodelay").then_some(KEEP_ALIVE_16),
        })
        .collect();
    // Other builds, after the current one. Their names live as long as the
    // program, like the built-in ones.
    for (label, path) in &o.also {
        for mode in ["pool", "sequential"] {
            let key: &'static str = Box::leak(format!("{mode}@{label}").into_boxed_str());
            let name: &'static str = Box::leak(format!("basehttp {mode} {label}").into_boxed_str());
            let at = cs
                .iter()
                .rposition(|c| c.key.starts_with(mode))
                .map_or(0, |i| i + 1);
            cs.insert(
                at,
                Contender {
                    key,
                    name,
                    program: path.clone(),
                    args: vec!["--mode".into(), mode.into(), addr.into()],
                    only: None,
                },
            );
        }
    }
    cs
}

/// One wrk load.
struct Scenario {
    name: &'static str,
    connections: usize,
    /// A request header to add (`-H`).
    header: Option<&'static str>,
    /// A wrk script in the scripts directory (`-s`).
    script: Option<&'static str>,
    /// Whether wrk's latency percentiles mean anything here.
    latency: bool,
    what: &'static str,
}

const SCENARIOS: [Scenario; 7] = [
    Scenario {
        name: "keep-alive 1",
        connections: 1,
        header: None,
        script: None,
        latency: true,
        what: "`GET /`, one keep-alive connection",
    },
    Scenario {
        name: "keep-alive 16",
        connections: 16,
        header: None,
        script: None,
        latency: true,
        what: "`GET /`, 16 keep-alive connections",
    },
    Scenario {
        name: "keep-alive 64",
        connections: 64,
        header: None,
        script: None,
        latency: true,
        what: "`GET /`, 64 keep-alive connections",
    },
    Scenario {
        name: "keep-alive 256",
        connections: 256,
        header: None,
        script: None,
        latency: true,
        what: "`GET /`, 256 keep-alive connections",
    },
    Scenario {
        name: "close 16",
        connections: 16,
        header: Some("Connection: close"),
        script: None,
        latency: true,
        what: "`GET /` with `Connection: close`, 16 connections at a time, a new one per request",
    },
    Scenario {
        name: "POST 4 KiB 64",
        connections: 64,
        header: None,
        script: Some("post.lua"),
        latency: true,
        what: "`POST /` with a 4096-byte body, echoed, 64 keep-alive connections (`bench/wrk/post.lua`)",
    },
    Scenario {
        name: "pipelined 16×16",
        connections: 16,
        header: None,
        script: Some("pipeline.lua"),
        latency: false,
        what: "16 `GET /` sent back to back per batch, 16 keep-alive connections \
               (`bench/wrk/pipeline.lua`). No latencies: wrk records one per batch but \
               corrects for coordinated omission as if each response were one, which \
               leaves its percentiles meaningless (it prints 0 for p90 and p99)",
    },
];

const KEEP_ALIVE_1: usize = 0;
const KEEP_ALIVE_16: usize = 1;
const CLOSE_16: usize = 4;
const PIPELINED: usize = 6;

/// One measurement.
#[derive(Clone, Copy)]
struct Sample {
    rps: f64,
    /// Seconds; NaN if wrk printed none.
    p50: f64,
    p99: f64,
    cpu_us: f64,
    /// The share of the run that the servers' CPU spent on anything but the
    /// server (other processes, interrupts, the hypervisor); NaN unpinned.
    other: f64,
}

/// Checks that the server answers `GET /` with 200 `Hello, World!` and
/// echoes a `POST`'s body.
fn check(addr: SocketAddr) -> io::Result<()> {
    Client::connect(addr)?.get()?;
    let body = b"echo me, 0123456789";
    let mut s = TcpStream::connect(addr)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/octet-stream\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    )?;
    s.write_all(body)?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        if let Some(parsed) = parse_response_head(&buf) {
            let (head, status, length) = parsed?;
            if buf.len() >= head + length {
                if status == 200 && &buf[head..head + length] == body {
                    return Ok(());
                }
                break;
            }
        }
        let n = s.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Err(io::Error::other(format!(
        "POST not echoed: {:?}",
        String::from_utf8_lossy(&buf)
    )))
}

fn measure(
    o: &Options,
    pin: Pinning,
    server: &Server,
    scenario: &Scenario,
) -> io::Result<(Sample, String)> {
    let mut extra: Vec<String> = Vec::new();
    if let Some(h) = scenario.header {
        extra.extend(["-H".to_string(), h.to_string()]);
    }
    if let Some(script) = scenario.script {
        extra.extend([
            "-s".to_string(),
            o.scripts.join(script).to_string_lossy().into_owned(),
        ]);
    }
    let url = format!("http://{}/", server.addr);
    // The servers' CPU, when pinning is on: its busy time less the server's
    // is what else ran there.
    let busy = || {
        if pin.enabled {
            cpu_busy(1)
        } else {
            Ok(Duration::ZERO)
        }
    };
    let (start, busy_before, before) = (Instant::now(), busy()?, server.cpu_time()?);
    let run = run_wrk(&o.wrk, &url, scenario.connections, o.duration, &extra)?;
    let (after, busy_after, wall) = (server.cpu_time()?, busy()?, start.elapsed());
    let other = (busy_after - busy_before).saturating_sub(after - before);
    let seconds = |d: Option<Duration>| match d {
        Some(d) if scenario.latency => d.as_secs_f64(),
        _ => f64::NAN,
    };
    let sample = Sample {
        rps: run.requests_per_second,
        p50: seconds(run.p50),
        p99: seconds(run.p99),
        cpu_us: (after - before).as_secs_f64() * 1e6 / run.requests.max(1) as f64,
        other: if pin.enabled {
            other.as_secs_f64() / wall.as_secs_f64()
        } else {
            f64::NAN
        },
    };
    Ok((sample, run.errors))
}

// ---------------------------------------------------------------------------
// The report
// ---------------------------------------------------------------------------

/// A latency with a precision that suits it.
fn latency(seconds: f64) -> String {
    let us = seconds * 1e6;
    if us.is_nan() {
        "–".to_string()
    } else if us < 1000.0 {
        format!("{us:.0} µs")
    } else if us < 10_000.0 {
        format!("{:.2} ms", us / 1e3)
    } else if us < 100_000.0 {
        format!("{:.1} ms", us / 1e3)
    } else {
        format!("{:.0} ms", us / 1e3)
    }
}

/// The medians over the rounds of one server in one scenario.
fn medians(samples: &[Sample]) -> Sample {
    let of = |f: fn(&Sample) -> f64| median(&mut samples.iter().map(f).collect::<Vec<_>>());
    Sample {
        rps: of(|s| s.rps),
        p50: of(|s| s.p50),
        p99: of(|s| s.p99),
        cpu_us: of(|s| s.cpu_us),
        other: of(|s| s.other),
    }
}

fn ratio(a: f64, b: f64) -> String {
    let r = a / b;
    if r.is_finite() {
        format!("{r:.2}×")
    } else {
        "–".to_string()
    }
}

#[derive(Clone, Copy)]
enum Metric {
    Rps,
    P99,
    Cpu,
}

/// A bar basehttp is held to: `server`'s `metric` in `scenario` against
/// `factor` times `peer`'s (at least, for req/s; at most, otherwise).
struct Bar {
    scenario: usize,
    server: &'static str,
    metric: Metric,
    factor: f64,
    peer: &'static str,
}

const BARS: [Bar; 8] = [
    Bar {
        scenario: KEEP_ALIVE_16,
        server: "pool",
        metric: Metric::Cpu,
        factor: 1.0,
        peer: "hyper",
    },
    Bar {
        scenario: KEEP_ALIVE_16,
        server: "pool",
        metric: Metric::P99,
        factor: 2.0,
        peer: "hyper",
    },
    Bar {
        scenario: PIPELINED,
        server: "pool",
        metric: Metric::Rps,
        factor: 1.0,
        peer: "hyper-flush",
    },
    Bar {
        scenario: PIPELINED,
        server: "pool",
        metric: Metric::Cpu,
        factor: 1.0,
        peer: "hyper-flush",
    },
    Bar {
        scenario: KEEP_ALIVE_1,
        server: "pool",
        metric: Metric::Rps,
        factor: 0.95,
        peer: "hyper",
    },
    Bar {
        scenario: KEEP_ALIVE_1,
        server: "sequential",
        metric: Metric::Rps,
        factor: 0.9,
        peer: "hyper",
    },
    Bar {
        scenario: CLOSE_16,
        server: "pool",
        metric: Metric::Rps,
        factor: 0.9,
        peer: "hyper",
    },
    Bar {
        scenario: KEEP_ALIVE_16,
        server: "pool",
        metric: Metric::Cpu,
        factor: 0.2,
        peer: "python",
    },
];

fn bar_line(bar: &Bar, cs: &[Contender], table: &[Vec<Option<Sample>>]) -> String {
    let find = |key: &str| cs.iter().position(|c| c.key == key);
    let (Some(si), Some(pi)) = (find(bar.server), find(bar.peer)) else {
        return format!(
            "- not measured: {} against {} (not both run)",
            bar.server, bar.peer
        );
    };
    let name = |i: usize| cs[i].name;
    let scenario = SCENARIOS[bar.scenario].name;
    let (Some(ours), Some(theirs)) = (table[bar.scenario][si], table[bar.scenario][pi]) else {
        return format!("- not measured: {scenario}");
    };
    let (what, a, b, shown_a, shown_b, at_least) = match bar.metric {
        Metric::Rps => (
            "req/s",
            ours.rps,
            theirs.rps,
            thousands(ours.rps.round() as u64),
            thousands(theirs.rps.round() as u64),
            true,
        ),
        Metric::P99 => (
            "p99",
            ours.p99,
            theirs.p99,
            latency(ours.p99),
            latency(theirs.p99),
            false,
        ),
        Metric::Cpu => (
            "CPU µs/req",
            ours.cpu_us,
            theirs.cpu_us,
            format!("{:.2}", ours.cpu_us),
            format!("{:.2}", theirs.cpu_us),
            false,
        ),
    };
    let met = if at_least {
        a >= bar.factor * b
    } else {
        a <= bar.factor * b
    };
    format!(
        "- **{}**: {scenario}, {} {what} {} {:.2}× {}'s: {shown_a} vs {shown_b} ({})",
        if met { "met" } else { "NOT met" },
        name(si),
        if at_least { "≥" } else { "≤" },
        bar.factor,
        name(pi),
        ratio(a, b),
    )
}

fn main() {
    let o = parse_options();
    let pin = Pinning::setup();
    let cs = contenders(&o);
    if cs.is_empty() {
        usage("no servers");
    }
    let runs: usize = cs
        .iter()
        .map(|c| if c.only.is_some() { 1 } else { SCENARIOS.len() })
        .sum();
    eprintln!(
        "throughput: {} rounds of {runs} runs of {} s each, about {} min; {}",
        o.rounds,
        o.duration.as_secs(),
        (o.rounds * runs) as u64 * (o.duration.as_secs() + 1) / 60 + 1,
        pin.describe()
    );
    let started = Instant::now();
    // samples[scenario][server]: one per round.
    let mut samples = vec![vec![Vec::<Sample>::new(); cs.len()]; SCENARIOS.len()];
    // notes[scenario]: what wrk reported beside the figures.
    let mut notes = vec![Vec::<String>::new(); SCENARIOS.len()];
    for round in 0..o.rounds {
        for k in 0..cs.len() {
            // Rotate the order each round so no server always goes first.
            let si = (k + round) % cs.len();
            let c = &cs[si];
            let fail = |e: io::Error| -> ! {
                eprintln!("throughput: {}: {e}", c.name);
                std::process::exit(1);
            };
            let args: Vec<&str> = c.args.iter().map(String::as_str).collect();
            let mut server =
                Server::start(c.name, pin, &c.program, &args).unwrap_or_else(|e| fail(e));
            if let Err(e) = check(server.addr) {
                fail(io::Error::other(format!("does not answer correctly: {e}")));
            }
            for (sc, scenario) in SCENARIOS.iter().enumerate() {
                if c.only.is_some_and(|only| only != sc) {
                    continue;
                }
                let (sample, errors) =
                    measure(&o, pin, &server, scenario).unwrap_or_else(|e| fail(e));
                if let Some(status) = server.exited() {
                    fail(io::Error::other(format!(
                        "exited during {}: {status}",
                        scenario.name
                    )));
                }
                eprintln!(
                    "throughput: round {}/{}, {}, {}: {} req/s, p99 {}, {:.2} µs CPU/req, \
                     CPU 1 {:.0}% busy with other work{}{}",
                    round + 1,
                    o.rounds,
                    c.name,
                    scenario.name,
                    thousands(sample.rps.round() as u64),
                    latency(sample.p99),
                    sample.cpu_us,
                    sample.other * 100.0,
                    if errors.is_empty() { "" } else { "; " },
                    errors
                );
                if !errors.is_empty() {
                    notes[sc].push(format!("round {}, {}: {errors}", round + 1, c.name));
                }
                samples[sc][si].push(sample);
            }
        }
    }
    eprintln!(
        "throughput: done in {:.1} min",
        started.elapsed().as_secs_f64() / 60.0
    );

    // --- Report ------------------------------------------------------------
    let table: Vec<Vec<Option<Sample>>> = samples
        .iter()
        .map(|row| {
            row.iter()
                .map(|s| (!s.is_empty()).then(|| medians(s)))
                .collect()
        })
        .collect();
    let find = |key: &str| cs.iter().position(|c| c.key == key);
    println!(
        "Median of {} rounds, {} s of wrk (1 thread, `--latency`, `--timeout 10s`) per measurement; {}.",
        o.rounds,
        o.duration.as_secs(),
        pin.describe()
    );
    for (sc, scenario) in SCENARIOS.iter().enumerate() {
        // The peers the ratios are taken against.
        let mut against: Vec<usize> = find("hyper").into_iter().collect();
        if sc == PIPELINED {
            against.extend(find("hyper-flush"));
        }
        println!();
        println!("### {}", scenario.name);
        println!();
        println!("{}.", scenario.what);
        println!();
        let mut head = "| server | req/s | p50 | p99 | CPU µs/req |".to_string();
        for &p in &against {
            let n = cs[p].name;
            head += &format!(" req/s ÷ {n} | p99 ÷ {n} | CPU ÷ {n} |");
        }
        println!("{head}");
        println!("| --- |{}", " ---: |".repeat(4 + 3 * against.len()));
        for (si, c) in cs.iter().enumerate() {
            let Some(m) = table[sc][si] else { continue };
            if c.only.is_some() {
                continue; // reported below the table
            }
            let mut row = format!(
                "| {} | {} | {} | {} | {:.2} |",
                c.name,
                thousands(m.rps.round() as u64),
                latency(m.p50),
                latency(m.p99),
                m.cpu_us
            );
            for base in against.iter().map(|&p| table[sc][p]) {
                let base = base.unwrap_or(Sample {
                    rps: f64::NAN,
                    p50: f64::NAN,
                    p99: f64::NAN,
                    cpu_us: f64::NAN,
                    other: f64::NAN,
                });
                row += &format!(
                    " {} | {} | {} |",
                    ratio(m.rps, base.rps),
                    ratio(m.p99, base.p99),
                    ratio(m.cpu_us, base.cpu_us)
                );
            }
            println!("{row}");
        }
        for (si, c) in cs.iter().enumerate() {
            if let (Some(_), Some(m)) = (c.only, table[sc][si]) {
                println!();
                println!(
                    "{} (Nagle's algorithm left on), same load: {} req/s, p50 {}, p99 {}, {:.2} µs CPU/req.",
                    c.name,
                    thousands(m.rps.round() as u64),
                    latency(m.p50),
                    latency(m.p99),
                    m.cpu_us
                );
            }
        }
        if sc == KEEP_ALIVE_16 || sc == PIPELINED {
            let spreads: Vec<String> = cs
                .iter()
                .enumerate()
                .filter(|(si, _)| !samples[sc][*si].is_empty())
                .map(|(si, c)| {
                    let cpu = samples[sc][si].iter().map(|s| s.cpu_us);
                    let min = cpu.clone().fold(f64::INFINITY, f64::min);
                    let max = cpu.fold(f64::NEG_INFINITY, f64::max);
                    format!("{} {min:.2}–{max:.2}", c.name)
                })
                .collect();
            println!();
            println!(
                "CPU µs/req over the rounds (min–max): {}.",
                spreads.join("; ")
            );
        }
        if !notes[sc].is_empty() {
            println!();
            println!("wrk reported:");
            println!();
            for n in &notes[sc] {
                println!("- {n}");
            }
        }
    }
    if pin.enabled {
        println!();
        println!("### Other work on the servers' CPU");
        println!();
        println!(
            "The share of each run that CPU 1 spent busy with anything but the server under test \
             (other processes, interrupts, time taken by the hypervisor), median and maximum over \
             the rounds. Where it is high, that server's req/s and latency in that scenario are \
             the machine's, not the server's; CPU µs per request is the steadier figure."
        );
        println!();
        println!("| server | {} |", SCENARIOS.map(|s| s.name).join(" | "));
        println!("| --- |{}", " ---: |".repeat(SCENARIOS.len()));
        for (si, c) in cs.iter().enumerate() {
            let cells: Vec<String> = samples
                .iter()
                .map(|row| {
                    let other: Vec<f64> = row[si].iter().map(|s| s.other * 100.0).collect();
                    if other.is_empty() {
                        return "–".to_string();
                    }
                    let max = other.iter().copied().fold(f64::NEG_INFINITY, f64::max);
                    format!("{:.0}% ({max:.0}%)", median(&mut other.clone()))
                })
                .collect();
            println!("| {} | {} |", c.name, cells.join(" | "));
        }
    }
    println!();
    println!("### Bars");
    println!();
    for bar in &BARS {
        println!("{}", bar_line(bar, &cs, &table));
    }
}
