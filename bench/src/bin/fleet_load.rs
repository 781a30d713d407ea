//! Restarts under load: the `basehttp` binary restarted with `SIGUSR2`
//! while a load at a fixed rate checks every answer, alone and behind
//! HAProxy (the README's configuration), and what each request came to.
//!
//! usage: fleet_load --basehttp PATH [--haproxy PATH] [--readme README.md]
//!        [--rate N] [--workers N] [--restarts N] [--rolling-rounds N]
//!        [--between-ms N]
//!
//! The load is `tests/common/load.rs`, the one `tests/fleet.rs` runs:
//! `GET /hello.txt` (13 bytes) from 127.0.0.2 at a fixed rate, never
//! pipelined, half the workers on keep-alive connections (100 requests
//! each) and half opening a connection per request; every answer is read
//! in full and checked (status 200, the body), and every request ends as
//! ok, refused, reset, timeout or wrong. The stall is the longest time
//! between two answered requests, all workers together.
//!
//! Scenario "alone, restarted": one `basehttp -q`, restarted `--restarts`
//! times, one after the other, with `--between-ms` of load after each;
//! "alone, no restart" is its baseline, the same load as long without a
//! restart (the stalls a busy machine makes by itself). Scenario "behind
//! HAProxy, rolling": the README's HAProxy configuration in front of the
//! README's three `--proxy-protocol` backends, each restarted in turn,
//! `--rolling-rounds` times. A restart is `SIGUSR2` to the current
//! process, then the new copy's `READY=1` on `NOTIFY_SOCKET` (which names
//! it), then the old process's exit (its pidfd); the time of each is
//! measured. Prints Markdown.

#[path = "../../../tests/common/load.rs"]
mod load;

use load::{Load, Notify, PidFd, Tally};
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The bound on every wait: a startup line, a `READY=1`, an exit.
const WAIT: Duration = Duration::from_secs(60);

const HELLO: &str = "Hello, World!";

struct Args {
    basehttp: PathBuf,
    haproxy: Option<PathBuf>,
    readme: PathBuf,
    rate: u32,
    workers: usize,
    restarts: usize,
    rolling_rounds: usize,
    between: Duration,
}

fn args() -> Args {
    let mut a = Args {
        basehttp: PathBuf::new(),
        haproxy: None,
        readme: PathBuf::from("README.md"),
        rate: 2000,
        workers: 16,
        restarts: 10,
        rolling_rounds: 3,
        between: Duration::from_millis(500),
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--basehttp" => a.basehttp = value().into(),
            "--haproxy" => a.haproxy = Some(value().into()),
            "--readme" => a.readme = value().into(),
            "--rate" => a.rate = number(&value()),
            "--workers" => a.workers = number(&value()),
            "--restarts" => a.restarts = number(&value()),
            "--rolling-rounds" => a.rolling_rounds = number(&value()),
            "--between-ms" => a.between = Duration::from_millis(number(&value())),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if a.basehttp.as_os_str().is_empty() {
        usage("--basehttp is required");
    }
    // The processes run in another directory: a relative path would not
    // lead to the binary there.
    a.basehttp = std::fs::canonicalize(&a.basehttp)
        .unwrap_or_else(|e| usage(&format!("{}: {e}", a.basehttp.display())));
    a
}

fn number<T: std::str::FromStr>(s: &str) -> T {
    s.parse()
        .unwrap_or_else(|_| usage(&format!("not a number: {s}")))
}

fn usage(why: &str) -> ! {
    eprintln!("fleet_load: {why}");
    eprintln!(
        "usage: fleet_load --basehttp PATH [--haproxy PATH] [--readme README.md] [--rate N] \
         [--workers N] [--restarts N] [--rolling-rounds N] [--between-ms N]"
    );
    std::process::exit(2);
}

/// One backend: the process started first (a child) and the copy that
/// serves now, followed through its notify socket. Every process of it
/// is killed when dropped.
struct Backend {
    first: Child,
    current: PidFd,
    notify: Notify,
    addr: SocketAddr,
}

/// How long one restart took.
#[derive(Clone, Copy)]
struct Restart {
    /// From `SIGUSR2` to the new copy's `READY=1`.
    ready: Duration,
    /// From `SIGUSR2` to the old process's exit.
    gone: Duration,
}

impl Backend {
    /// `basehttp -q OPTIONS -b 127.0.0.1 0` serving `site`.
    fn start(basehttp: &Path, options: &[String], site: &Path, notify_path: &Path) -> Backend {
        let notify = Notify::bind(notify_path, WAIT).expect("a notify socket");
        let mut child = Command::new(basehttp)
            .arg("-q")
            .args(options)
            .args(["-b", "127.0.0.1", "0"])
            .current_dir(site)
            .env("NOTIFY_SOCKET", notify_path)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", basehttp.display()));
        let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines();
        let line = lines.next().and_then(Result::ok).expect("a startup line");
        // Each copy prints its own startup line on the same pipe: drain it.
        std::thread::spawn(move || lines.for_each(drop));
        let port: u16 = line
            .split(" port ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("a startup line with a port: {line:?}"));
        let pid = notify.ready().expect("READY=1");
        assert_eq!(
            pid,
            child.id() as i32,
            "the first READY=1 is the process's own"
        );
        Backend {
            current: PidFd::open(pid).expect("the process runs"),
            first: child,
            notify,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
        }
    }

    fn restart(&mut self) -> Restart {
        let started = Instant::now();
        self.current.signal(libc::SIGUSR2).expect("SIGUSR2");
        let next = self.notify.ready().expect("the new copy's READY=1");
        let ready = started.elapsed();
        let next = PidFd::open(next).expect("the new copy runs");
        assert!(
            self.current.wait_gone(WAIT),
            "process {} still runs",
            self.current.pid
        );
        let gone = started.elapsed();
        if self.current.pid == self.first.id() as i32 {
            let status = self.first.wait().expect("wait");
            assert!(status.success(), "the first process exited with {status}");
        }
        self.current = next;
        Restart { ready, gone }
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        let _ = self.current.signal(libc::SIGTERM);
        if !self.current.wait_gone(Duration::from_secs(15)) {
            let _ = self.current.signal(libc::SIGKILL);
        }
        // A no-op once it has been reaped.
        let _ = self.first.kill();
        let _ = self.first.wait();
    }
}

/// A child killed, by its own PID, when dropped.
struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn load_on(target: SocketAddr, a: &Args) -> Load {
    Load {
        target,
        from: Some(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2))),
        rate: a.rate,
        workers: a.workers,
        requests_per_connection: 100,
        path: "/hello.txt".into(),
        body: HELLO.as_bytes().to_vec(),
        timeout: Duration::from_secs(10),
    }
}

/// The text of the fenced block right after `<!-- fleet:NAME -->`.
fn readme_block(readme: &str, name: &str) -> String {
    let marker = format!("<!-- fleet:{name} -->\n```");
    let (_, after) = readme
        .split_once(&marker)
        .unwrap_or_else(|| panic!("the README has no {marker:?}"));
    let (_, block) = after.split_once('\n').expect("a fence line");
    let (block, _) = block.split_once("\n```").expect("the end of the block");
    format!("{block}\n")
}

/// The options of each `basehttp OPTIONS... PORT &` line of block `name`,
/// without `-b ADDRESS`, `-d DIR` and the port.
fn readme_backends(readme: &str, name: &str) -> Vec<Vec<String>> {
    readme_block(readme, name)
        .lines()
        .map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let mut options = Vec::new();
            let mut i = 1;
            while i + 2 < words.len() {
                if words[i] == "-b" || words[i] == "-d" {
                    i += 2;
                } else {
                    options.push(words[i].to_string());
                    i += 1;
                }
            }
            options
        })
        .collect()
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().unwrap().port()
}

struct Outcome {
    name: &'static str,
    processes: usize,
    tally: Tally,
    restarts: Vec<Restart>,
}

/// One process, restarted `restarts` times (0: the baseline, the same load
/// for as long, without restarts).
fn one_process(a: &Args, site: &Path, dir: &Path, restarts: usize) -> Outcome {
    let mut backend = Backend::start(
        &a.basehttp,
        &[],
        site,
        &dir.join(format!("notify{restarts}")),
    );
    let running = load_on(backend.addr, a).start();
    std::thread::sleep(a.between);
    let mut done = Vec::new();
    for _ in 0..restarts {
        done.push(backend.restart());
        // The load goes on between restarts: the time of a fixed-rate
        // load, not a synchronisation.
        std::thread::sleep(a.between);
    }
    if restarts == 0 {
        std::thread::sleep(a.between * a.restarts as u32);
    }
    Outcome {
        name: if restarts == 0 {
            "alone, no restart (baseline)"
        } else {
            "alone, restarted"
        },
        processes: 1,
        tally: running.stop(),
        restarts: done,
    }
}

/// HAProxy in front of three processes, restarted in turn `rounds` times
/// (0: the baseline, the same load for as long without restarts).
fn behind_haproxy(a: &Args, haproxy: &Path, site: &Path, dir: &Path, rounds: usize) -> Outcome {
    let readme = std::fs::read_to_string(&a.readme)
        .unwrap_or_else(|e| panic!("{}: {e}", a.readme.display()));
    let mut backends: Vec<Backend> = readme_backends(&readme, "haproxy-backends")
        .iter()
        .enumerate()
        .map(|(i, o)| Backend::start(&a.basehttp, o, site, &dir.join(format!("notify{i}"))))
        .collect();
    let front = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let mut config = readme_block(&readme, "haproxy").replace("bind :80", &format!("bind {front}"));
    for (i, b) in backends.iter().enumerate() {
        config = config.replace(&format!("127.0.0.1:800{}", i + 1), &b.addr.to_string());
    }
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, &config).unwrap();
    let _haproxy = Killed(
        Command::new(haproxy)
            .arg("-db")
            .arg("-f")
            .arg(&path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .spawn()
            .expect("start haproxy"),
    );
    let deadline = Instant::now() + WAIT;
    while TcpStream::connect(front).is_err() {
        assert!(
            Instant::now() < deadline,
            "haproxy does not listen on {front}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    let running = load_on(front, a).start();
    std::thread::sleep(a.between);
    let mut restarts = Vec::new();
    for _ in 0..rounds {
        for backend in &mut backends {
            restarts.push(backend.restart());
            std::thread::sleep(a.between);
        }
    }
    if rounds == 0 {
        std::thread::sleep(a.between * (a.rolling_rounds * backends.len()) as u32);
    }
    Outcome {
        name: if rounds == 0 {
            "behind HAProxy, no restart (baseline)"
        } else {
            "behind HAProxy, rolling"
        },
        processes: backends.len(),
        tally: running.stop(),
        restarts,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

fn median_max(mut v: Vec<Duration>) -> String {
    v.sort();
    match (v.get(v.len() / 2), v.last()) {
        (Some(m), Some(x)) => format!("{} / {}", ms(*m), ms(*x)),
        _ => "–".into(),
    }
}

fn main() {
    let a = args();
    let site = tempdir("site");
    std::fs::write(site.join("hello.txt"), HELLO).unwrap();
    let work = tempdir("work");
    let mut outcomes = vec![
        one_process(&a, &site, &work, 0),
        one_process(&a, &site, &work, a.restarts),
    ];
    if let Some(haproxy) = &a.haproxy {
        for rounds in [0, a.rolling_rounds] {
            let dir = work.join(format!("haproxy{rounds}"));
            std::fs::create_dir(&dir).unwrap();
            outcomes.push(behind_haproxy(&a, haproxy, &site, &dir, rounds));
        }
    }
    let _ = std::fs::remove_dir_all(&site);
    let _ = std::fs::remove_dir_all(&work);

    println!(
        "Load: {} requests/s from 127.0.0.2, {} workers (half keep-alive, 100 requests a connection; \
         half a new connection per request), {} ms of load before the first restart and after each.",
        a.rate,
        a.workers,
        a.between.as_millis()
    );
    println!();
    println!(
        "| scenario | processes | restarts | requests | ok | refused | reset | timeout | wrong | longest stall |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
    for o in &outcomes {
        let t = &o.tally;
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            o.name,
            o.processes,
            o.restarts.len(),
            t.requests(),
            t.ok,
            t.refused,
            t.reset,
            t.timeout,
            t.wrong,
            ms(t.longest_stall)
        );
    }
    println!();
    println!(
        "| scenario | load time | connections opened | keep-alive answers with `Connection: close` | \
         idle keep-alive connections found closed | SIGUSR2 → new copy ready (median / max) | \
         SIGUSR2 → old process gone (median / max) |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for o in &outcomes {
        let t = &o.tally;
        println!(
            "| {} | {:.1} s | {} | {} | {} | {} | {} |",
            o.name,
            t.elapsed.as_secs_f64(),
            t.connections,
            t.closed_after_answer,
            t.idle_closed,
            median_max(o.restarts.iter().map(|r| r.ready).collect()),
            median_max(o.restarts.iter().map(|r| r.gone).collect()),
        );
    }
    let failures: Vec<&String> = outcomes.iter().flat_map(|o| &o.tally.failures).collect();
    if !failures.is_empty() {
        println!();
        println!("Failures (the first {}):", failures.len());
        println!();
        for f in failures {
            println!("- {f}");
        }
    }
}

/// A new empty directory in the temporary directory.
fn tempdir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "fleet_load-{what}-{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos()
    ));
    std::fs::create_dir_all(&dir).expect("a temporary directory");
    dir
}
