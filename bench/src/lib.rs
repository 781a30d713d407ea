//! What the benchmark programs share: starting and stopping the servers under
//! test (basehttp's `hello` example, the peers of this crate, nginx), process
//! figures from `/proc`, CPU pinning, and a minimal HTTP/1.1 client.
//!
//! Every server is started through [`Server`], whose `Drop` stops it (SIGTERM,
//! then SIGKILL after a grace period), and which asks the kernel to kill it
//! too if the benchmark dies without unwinding (`PR_SET_PDEATHSIG`): a
//! benchmark run never leaves a process behind.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// The request every benchmark client sends.
pub const GET_REQUEST: &[u8] = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";

/// The body every server under test answers `GET /` with.
pub const HELLO_BODY: &[u8] = b"Hello, World!";

/// Prints the startup line of basehttp's examples with the real address and
/// flushes it, so one harness can drive every server.
pub fn announce(addr: SocketAddr) {
    let mut out = io::stdout().lock();
    let _ = writeln!(
        out,
        "Starting server on http://{addr}, use <Ctrl-C> to stop"
    );
    let _ = out.flush();
}

/// Raises the soft `RLIMIT_NOFILE` to the hard limit; returns the new soft
/// limit.
pub fn raise_open_files_limit() -> libc::rlim_t {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 0;
        }
        if limit.rlim_cur < limit.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: limit.rlim_max,
                rlim_max: limit.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                limit = raised;
            }
        }
    }
    limit.rlim_cur
}

/// Pins the calling thread (and the threads it starts afterwards) to one
/// CPU. Returns false if the kernel refused.
pub fn pin_current_thread(cpu: usize) -> bool {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes into it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) == 0
    }
}

/// How servers and load are placed on CPUs: with `taskset` and at least two
/// CPUs, servers run on CPU 1 and the benchmark itself on CPU 0.
#[derive(Clone, Copy, Debug)]
pub struct Pinning {
    pub enabled: bool,
}

impl Pinning {
    /// Pins the current process to CPU 0 if `taskset` exists and the machine
    /// has two CPUs or more, and remembers to start servers on CPU 1.
    pub fn setup() -> Pinning {
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let taskset = Command::new("taskset")
            .arg("--version")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        let enabled = cpus >= 2 && taskset && pin_current_thread(0);
        Pinning { enabled }
    }

    /// A command running `program`, on CPU 1 when pinning is on.
    pub fn command(&self, program: &Path) -> Command {
        if self.enabled {
            let mut c = Command::new("taskset");
            c.arg("-c").arg("1").arg(program);
            c
        } else {
            Command::new(program)
        }
    }

    pub fn describe(&self) -> &'static str {
        if self.enabled {
            "servers pinned to CPU 1, load to CPU 0 (taskset)"
        } else {
            "no CPU pinning (taskset missing or a single CPU)"
        }
    }
}

/// Clock ticks, the unit of `/proc/PID/stat` and `/proc/stat`
/// (`sysconf(_SC_CLK_TCK)`), as a duration.
fn clock_ticks(ticks: u64) -> Duration {
    // SAFETY: sysconf only reads a system constant.
    let per_second = match unsafe { libc::sysconf(libc::_SC_CLK_TCK) } {
        n if n > 0 => n as u64,
        _ => 100,
    };
    Duration::from_micros(ticks * 1_000_000 / per_second)
}

/// How long CPU `cpu` has been busy since boot, whoever ran on it: the user,
/// nice, system, irq, softirq and steal times of its line in `/proc/stat`.
pub fn cpu_busy(cpu: usize) -> io::Result<Duration> {
    let stat = std::fs::read_to_string("/proc/stat")?;
    let name = format!("cpu{cpu}");
    let fields: Vec<u64> = stat
        .lines()
        .find_map(|l| l.strip_prefix(&name)?.strip_prefix(' '))
        .ok_or_else(|| io::Error::other(format!("no {name} in /proc/stat")))?
        .split_whitespace()
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal …
    let busy = [0, 1, 2, 5, 6, 7]
        .iter()
        .filter_map(|&i| fields.get(i))
        .sum();
    Ok(clock_ticks(busy))
}

/// Process figures from `/proc/PID/status`.
#[derive(Clone, Copy, Debug, Default)]
pub struct ProcStatus {
    /// Resident set size, KiB.
    pub vm_rss_kib: u64,
    /// Peak resident set size, KiB.
    pub vm_hwm_kib: u64,
    /// Threads of the process.
    pub threads: u64,
}

/// Resets the peak resident set size (VmHWM) of process `pid` to its
/// current one, by writing `5` to `/proc/PID/clear_refs` (Linux 4.0 and
/// later), so that a later VmHWM tells the peak of what came after.
pub fn reset_peak_rss(pid: u32) -> io::Result<()> {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5")
}

/// Reads `/proc/PID/status`.
pub fn proc_status(pid: u32) -> io::Result<ProcStatus> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let mut status = ProcStatus::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else {
            continue;
        };
        let number = || {
            value
                .split_whitespace()
                .next()
                .and_then(|n| n.parse::<u64>().ok())
                .unwrap_or(0)
        };
        match key {
            "VmRSS" => status.vm_rss_kib = number(),
            "VmHWM" => status.vm_hwm_kib = number(),
            "Threads" => status.threads = number(),
            _ => {}
        }
    }
    Ok(status)
}

/// A free loopback port, for servers (nginx) that cannot be told to pick one.
pub fn free_port() -> io::Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// A server under test, stopped when dropped.
pub struct Server {
    pub name: String,
    pub addr: SocketAddr,
    /// The first line the server printed (empty for nginx), for what a
    /// server says of itself after its address.
    pub startup_line: String,
    child: Option<Child>,
    /// A directory to remove once the server has stopped (nginx's).
    temp_dir: Option<PathBuf>,
    /// What the server wrote to standard error, when started with
    /// [`Server::start_tallying_stderr`].
    stderr: Option<Arc<Mutex<StderrTally>>>,
}

/// The lines a server wrote to standard error, counted by message: the
/// text after a log line's `[date] ` prefix, or the whole line. At most
/// [`StderrTally::DISTINCT`] messages are kept apart; the rest are counted
/// as "(other lines)".
#[derive(Clone, Debug, Default)]
pub struct StderrTally {
    pub lines: usize,
    pub messages: BTreeMap<String, usize>,
}

impl StderrTally {
    pub const DISTINCT: usize = 20;

    fn add(&mut self, line: &str) {
        let line = line.trim_end();
        let message = match line.find("] ") {
            Some(i) if line.starts_with(|c: char| c.is_ascii_digit() || c == '[') => &line[i + 2..],
            _ => line,
        };
        self.lines += 1;
        let key =
            if self.messages.contains_key(message) || self.messages.len() < StderrTally::DISTINCT {
                message.to_string()
            } else {
                "(other lines)".to_string()
            };
        *self.messages.entry(key).or_default() += 1;
    }
}

/// Parses a server's first line: `Starting server on http://HOST:PORT, use
/// <Ctrl-C> to stop` (basehttp's examples, [`announce`]) or `Serving HTTP on
/// HOST port PORT ...` (the `basehttp` binary, Python's `http.server`).
fn parse_startup_line(line: &str) -> Option<SocketAddr> {
    let line = line.trim();
    if let Some(rest) = line.strip_prefix("Starting server on http://") {
        let (addr, _) = rest.split_once(',')?;
        return addr.trim_end_matches('/').parse().ok();
    }
    let rest = line.strip_prefix("Serving HTTP on ")?;
    let (host, rest) = rest.split_once(" port ")?;
    let port = rest.split(' ').next()?.parse::<u16>().ok()?;
    Some(SocketAddr::new(host.parse().ok()?, port))
}

/// Makes the kernel send SIGKILL to the child if the benchmark (the thread
/// that started it) dies without running `Drop`.
fn die_with_parent(command: &mut Command) {
    // SAFETY: prctl is async-signal-safe; nothing else runs in the closure.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

impl Server {
    /// Starts `program args…` (an `ADDRESS` of `127.0.0.1:0` among them) and
    /// waits, at most 30 s, for the startup line that gives its address.
    pub fn start(
        name: &str,
        pinning: Pinning,
        program: &Path,
        args: &[&str],
    ) -> io::Result<Server> {
        Server::start_with(name, pinning, program, args, false)
    }

    /// [`Server::start`], with the server's standard error counted by
    /// message ([`Server::stderr`]) instead of shown.
    pub fn start_tallying_stderr(
        name: &str,
        pinning: Pinning,
        program: &Path,
        args: &[&str],
    ) -> io::Result<Server> {
        Server::start_with(name, pinning, program, args, true)
    }

    fn start_with(
        name: &str,
        pinning: Pinning,
        program: &Path,
        args: &[&str],
        tally: bool,
    ) -> io::Result<Server> {
        let mut command = pinning.command(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(if tally {
                Stdio::piped()
            } else {
                Stdio::inherit()
            });
        die_with_parent(&mut command);
        let mut child = command.spawn().map_err(|e| {
            io::Error::new(e.kind(), format!("cannot start {}: {e}", program.display()))
        })?;
        let stderr = child.stderr.take().map(|pipe| {
            let tally = Arc::new(Mutex::new(StderrTally::default()));
            let counted = tally.clone();
            // Counts lines until the server exits.
            std::thread::spawn(move || {
                let mut reader = BufReader::new(pipe);
                let mut line = Vec::new();
                while matches!(reader.read_until(b'\n', &mut line), Ok(n) if n > 0) {
                    if let Ok(mut t) = counted.lock() {
                        t.add(&String::from_utf8_lossy(&line));
                    }
                    line.clear();
                }
            });
            tally
        });
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        // Reads the startup line, then keeps draining stdout so the server
        // never blocks on a full pipe; ends at the server's exit.
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = tx.send(line);
            let _ = io::copy(&mut reader, &mut io::sink());
        });
        let mut server = Server {
            name: name.to_string(),
            addr: "127.0.0.1:0".parse().unwrap(),
            startup_line: String::new(),
            child: Some(child),
            temp_dir: None,
            stderr,
        };
        let line = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_default();
        match parse_startup_line(&line) {
            Some(addr) => {
                server.addr = addr;
                server.startup_line = line.trim().to_string();
                Ok(server)
            }
            None => {
                // What a server that failed to start said, if it was counted.
                std::thread::sleep(Duration::from_millis(100));
                let said = server
                    .stderr()
                    .map(|t| {
                        let lines: Vec<&str> = t.messages.keys().map(String::as_str).collect();
                        format!("; its standard error: {}", lines.join(" / "))
                    })
                    .unwrap_or_default();
                Err(io::Error::other(format!(
                    "{name}: no startup line (got {line:?}){said}"
                )))
            }
        }
    }

    /// Starts Debian's nginx with its own configuration in a fresh temporary
    /// directory: one process (no master), `daemon off`, access log off,
    /// keep-alive 75 s, answering `Hello, World!` as `text/plain`.
    pub fn start_nginx(pinning: Pinning, nginx: &Path) -> io::Result<Server> {
        Server::start_nginx_with(
            pinning,
            nginx,
            "",
            r#"location / {
            default_type text/plain;
            return 200 "Hello, World!";
        }"#,
        )
    }

    /// Starts nginx as [`Server::start_nginx`] does, with `http` directives
    /// of the caller's added to the `http` block and `server` directives
    /// (after `listen`) making up the one `server` block.
    pub fn start_nginx_with(
        pinning: Pinning,
        nginx: &Path,
        http: &str,
        server: &str,
    ) -> io::Result<Server> {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "basehttp-bench-nginx-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let port = free_port()?;
        let nofile = raise_open_files_limit();
        let connections = nofile.saturating_sub(64).clamp(1024, 65_000);
        let d = dir.display();
        let config = format!(
            "# generated by basehttp-bench
worker_processes 1;
daemon off;
master_process off;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
worker_rlimit_nofile {nofile};
events {{
    worker_connections {connections};
}}
http {{
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 75s;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    {http}
    server {{
        listen 127.0.0.1:{port};
        {server}
    }}
}}
"
        );
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config)?;
        let mut command = pinning.command(nginx);
        command
            .arg("-p")
            .arg(&dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        die_with_parent(&mut command);
        let child = command.spawn().map_err(|e| {
            io::Error::new(e.kind(), format!("cannot start {}: {e}", nginx.display()))
        })?;
        let server = Server {
            name: "nginx".to_string(),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            startup_line: String::new(),
            child: Some(child),
            temp_dir: Some(dir),
            stderr: None,
        };
        // nginx prints nothing: wait until it answers.
        server.answering("error.log")
    }

    /// Starts Debian's Caddy (`caddy run`) in a fresh temporary directory
    /// (its home, data and configuration directories too, so it writes
    /// nothing elsewhere), with the admin endpoint and automatic HTTPS
    /// off, listening on a free port of
    /// 127.0.0.1 with `site` as the site block's directives. Its log goes to
    /// `caddy.log` in that directory. Ready when `GET /` answers `Hello,
    /// World!`, so `site` must serve that.
    pub fn start_caddy(pinning: Pinning, caddy: &Path, site: &str) -> io::Result<Server> {
        static STARTED: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "basehttp-bench-caddy-{}-{}",
            std::process::id(),
            STARTED.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        let port = free_port()?;
        raise_open_files_limit();
        let config = format!(
            "# generated by basehttp-bench
{{
\tadmin off
\tauto_https off
}}
http://127.0.0.1:{port} {{
{site}
}}
"
        );
        let conf = dir.join("Caddyfile");
        std::fs::write(&conf, config)?;
        let log = std::fs::File::create(dir.join("caddy.log"))?;
        let mut command = pinning.command(caddy);
        command
            .arg("run")
            .arg("--adapter")
            .arg("caddyfile")
            .arg("--config")
            .arg(&conf)
            .env("HOME", &dir)
            .env("XDG_DATA_HOME", dir.join("data"))
            .env("XDG_CONFIG_HOME", dir.join("config"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        die_with_parent(&mut command);
        let child = command.spawn().map_err(|e| {
            io::Error::new(e.kind(), format!("cannot start {}: {e}", caddy.display()))
        })?;
        let server = Server {
            name: "caddy".to_string(),
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            startup_line: String::new(),
            child: Some(child),
            temp_dir: Some(dir),
            stderr: None,
        };
        server.answering("caddy.log")
    }

    /// Waits, at most 30 s, until the server answers `GET /` with `Hello,
    /// World!`; if it exits first, the error quotes `log` in its
    /// temporary directory.
    fn answering(mut self, log: &str) -> io::Result<Server> {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.exited() {
                let said = self
                    .temp_dir
                    .as_ref()
                    .and_then(|d| std::fs::read_to_string(d.join(log)).ok())
                    .unwrap_or_default();
                return Err(io::Error::other(format!(
                    "{} exited at start ({status}): {said}",
                    self.name
                )));
            }
            if let Ok(mut c) = Client::connect(self.addr)
                && c.get().is_ok()
            {
                return Ok(self);
            }
            if Instant::now() > deadline {
                return Err(io::Error::other(format!(
                    "{} did not answer within 30 s",
                    self.name
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// What the server has written to standard error so far, if it was
    /// started with [`Server::start_tallying_stderr`].
    pub fn stderr(&self) -> Option<StderrTally> {
        Some(self.stderr.as_ref()?.lock().ok()?.clone())
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, |c| c.id())
    }

    pub fn status(&self) -> io::Result<ProcStatus> {
        proc_status(self.pid())
    }

    /// The CPU time the server process has used so far: `utime + stime` of
    /// all its threads, the ended ones included (fields 14 and 15 of
    /// `/proc/PID/stat`), in clock ticks of `sysconf(_SC_CLK_TCK)`.
    pub fn cpu_time(&self) -> io::Result<Duration> {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid()))?;
        let bad = || io::Error::other(format!("bad /proc/{}/stat", self.pid()));
        // The fields after the command name, which is in parentheses: utime
        // and stime are the 12th and 13th of them.
        let (_, rest) = stat.rsplit_once(')').ok_or_else(bad)?;
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let field = |i: usize| -> io::Result<u64> {
            fields.get(i).and_then(|f| f.parse().ok()).ok_or_else(bad)
        };
        Ok(clock_ticks(field(11)? + field(12)?))
    }

    /// The exit status, if the server process has ended by itself.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.as_mut()?.try_wait().ok()?
    }

    /// How many file descriptors the server process has open.
    pub fn open_fds(&self) -> io::Result<usize> {
        Ok(std::fs::read_dir(format!("/proc/{}/fd", self.pid()))?.count())
    }

    /// Sends SIGTERM and waits up to `grace` for the exit, then SIGKILL.
    /// Returns the exit status and how long the stop took.
    pub fn stop(&mut self, grace: Duration) -> Option<(ExitStatus, Duration, bool)> {
        let mut child = self.child.take()?;
        let start = Instant::now();
        if let Ok(Some(status)) = child.try_wait() {
            return Some((status, Duration::ZERO, false));
        }
        // SAFETY: kill(2) on the PID of our own unreaped child.
        unsafe {
            libc::kill(child.id() as libc::pid_t, libc::SIGTERM);
        }
        let deadline = start + grace;
        let mut killed = false;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5))
                }
                _ => {
                    killed = true;
                    let _ = child.kill();
                    match child.wait() {
                        Ok(status) => break status,
                        Err(_) => return None,
                    }
                }
            }
        };
        Some((status, start.elapsed(), killed))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
        if let Some(dir) = self.temp_dir.take() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// Parses a response head at the start of `buf`. `None`: incomplete. Else
/// the head's length, the status code and the `Content-Length` (the servers
/// under test always send one for these requests).
pub fn parse_response_head(buf: &[u8]) -> Option<io::Result<(usize, u16, usize)>> {
    let end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = &buf[..end];
    let bad = |what: &str| {
        Some(Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "{what} in response head {:?}",
                String::from_utf8_lossy(head)
            ),
        )))
    };
    let mut lines = head.split(|&b| b == b'\n');
    let status_line = lines.next().unwrap_or_default();
    let status = match status_line
        .strip_prefix(b"HTTP/1.1 ")
        .or_else(|| status_line.strip_prefix(b"HTTP/1.0 "))
        .and_then(|rest| rest.get(..3))
        .and_then(|code| std::str::from_utf8(code).ok())
        .and_then(|code| code.parse::<u16>().ok())
    {
        Some(status) => status,
        None => return bad("bad status line"),
    };
    let mut content_length = None;
    for line in lines {
        let Some(colon) = line.iter().position(|&b| b == b':') else {
            continue;
        };
        if line[..colon].eq_ignore_ascii_case(b"content-length") {
            let value = String::from_utf8_lossy(&line[colon + 1..]);
            match value.trim().parse::<usize>() {
                Ok(n) => content_length = Some(n),
                Err(_) => return bad("bad Content-Length"),
            }
        }
    }
    match content_length {
        Some(n) => Some(Ok((end, status, n))),
        None => bad("no Content-Length"),
    }
}

/// A blocking keep-alive client, one request at a time, with 5 s timeouts.
pub struct Client {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> io::Result<Client> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.set_write_timeout(Some(Duration::from_secs(5)))?;
        stream.set_nodelay(true)?;
        Ok(Client {
            stream,
            buf: Vec::with_capacity(1024),
        })
    }

    /// Sends `GET /` and reads the whole response; checks for 200 and
    /// `Hello, World!`.
    pub fn get(&mut self) -> io::Result<()> {
        self.stream.write_all(GET_REQUEST)?;
        self.buf.clear();
        let mut chunk = [0u8; 4096];
        loop {
            if let Some(parsed) = parse_response_head(&self.buf) {
                let (head, status, length) = parsed?;
                if self.buf.len() >= head + length {
                    if status != 200 || &self.buf[head..head + length] != HELLO_BODY {
                        return Err(io::Error::new(
                            io::ErrorKind::InvalidData,
                            format!(
                                "unexpected response {:?}",
                                String::from_utf8_lossy(&self.buf)
                            ),
                        ));
                    }
                    return Ok(());
                }
            }
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Times one `get()`.
    pub fn timed_get(&mut self) -> io::Result<Duration> {
        let start = Instant::now();
        self.get()?;
        Ok(start.elapsed())
    }
}

/// Times a fresh client: connect, one `GET /`, response read in full.
pub fn fresh_client_latency(addr: SocketAddr) -> io::Result<Duration> {
    let start = Instant::now();
    let mut client = Client::connect(addr)?;
    client.get()?;
    Ok(start.elapsed())
}

/// The value at quantile `q` (0..=1) of `samples`, sorted in place.
pub fn quantile(samples: &mut [Duration], q: f64) -> Option<Duration> {
    if samples.is_empty() {
        return None;
    }
    samples.sort_unstable();
    let index = ((samples.len() - 1) as f64 * q).round() as usize;
    Some(samples[index])
}

/// A duration in milliseconds with a precision that suits it.
pub fn ms(d: Duration) -> String {
    let ms = d.as_secs_f64() * 1e3;
    if ms < 10.0 {
        format!("{ms:.2} ms")
    } else if ms < 100.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.0} ms")
    }
}

/// KiB as MiB, one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// The directory of the running executable (where cargo put the peers).
pub fn exe_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."))
}

/// What one wrk run reported.
#[derive(Clone, Debug, Default)]
pub struct WrkRun {
    /// Responses completed (`N requests in …`).
    pub requests: u64,
    /// The run's length as wrk measured it.
    pub seconds: f64,
    /// `Requests/sec:`, or `requests / seconds` if that line is missing.
    pub requests_per_second: f64,
    /// The 50% and 99% lines of the latency distribution (`--latency`).
    pub p50: Option<Duration>,
    pub p99: Option<Duration>,
    /// wrk's `Socket errors: …` and `Non-2xx or 3xx responses: …` lines,
    /// joined by `; `; empty when it reported none.
    pub errors: String,
    /// The bytes wrk read, heads and bodies (`…, 45.67MB read`), as precise
    /// as its two decimals allow.
    pub bytes: u64,
}

/// Runs `wrk -t1 -cCONNECTIONS -dDURATION --latency --timeout 10s EXTRA… URL`
/// (extra arguments such as `-H` or `-s SCRIPT`) and parses its report. It
/// runs on the CPUs of the calling thread (CPU 0 after [`Pinning::setup`]).
pub fn run_wrk<S: AsRef<OsStr>>(
    wrk: &Path,
    url: &str,
    connections: usize,
    duration: Duration,
    extra: &[S],
) -> io::Result<WrkRun> {
    let out = Command::new(wrk)
        .args(["-t1", &format!("-c{connections}")])
        .arg(format!("-d{}s", duration.as_secs().max(1)))
        .args(["--latency", "--timeout", "10s"])
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| io::Error::new(e.kind(), format!("cannot run {}: {e}", wrk.display())))?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "wrk failed ({}): {text}",
            out.status
        )));
    }
    parse_wrk_report(&text)
        .ok_or_else(|| io::Error::other(format!("unexpected wrk output: {text}")))
}

/// Parses wrk's report (see [`WrkRun`]).
fn parse_wrk_report(text: &str) -> Option<WrkRun> {
    let mut run = WrkRun::default();
    let mut per_second = None;
    let mut found = false;
    for line in text.lines().map(str::trim) {
        if let Some((n, rest)) = line.split_once(" requests in ") {
            // "123456 requests in 3.00s, 45.67MB read"
            run.requests = n.parse().ok()?;
            let mut parts = rest.split(',');
            run.seconds = wrk_duration(parts.next()?)?.as_secs_f64();
            run.bytes = parts
                .next()
                .and_then(|read| wrk_bytes(read.trim().strip_suffix(" read")?))
                .unwrap_or(0);
            found = true;
        } else if let Some(v) = line.strip_prefix("Requests/sec:") {
            per_second = v.trim().parse::<f64>().ok();
        } else if let Some(v) = line.strip_prefix("50%") {
            run.p50 = wrk_duration(v.trim());
        } else if let Some(v) = line.strip_prefix("99%") {
            run.p99 = wrk_duration(v.trim());
        } else if line.starts_with("Socket errors") || line.starts_with("Non-2xx") {
            if !run.errors.is_empty() {
                run.errors.push_str("; ");
            }
            run.errors.push_str(line);
        }
    }
    run.requests_per_second = per_second.unwrap_or(run.requests as f64 / run.seconds.max(1e-9));
    found.then_some(run)
}

/// A size as wrk prints it, in powers of 1024: `812.00B`, `45.67MB`,
/// `1.02GB`.
fn wrk_bytes(text: &str) -> Option<u64> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let value: f64 = text[..split].parse().ok()?;
    let unit: f64 = match &text[split..] {
        "B" => 1.0,
        "KB" => 1024.0,
        "MB" => 1024.0 * 1024.0,
        "GB" => 1024.0 * 1024.0 * 1024.0,
        "TB" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return None,
    };
    Some((value * unit).round() as u64)
}

/// A time as wrk prints it: `812.00us`, `1.23ms`, `3.00s`, `1.50m`.
fn wrk_duration(text: &str) -> Option<Duration> {
    let split = text.find(|c: char| c.is_ascii_alphabetic())?;
    let value: f64 = text[..split].parse().ok()?;
    let seconds = match &text[split..] {
        "us" => value / 1e6,
        "ms" => value / 1e3,
        "s" => value,
        "m" => value * 60.0,
        "h" => value * 3600.0,
        _ => return None,
    };
    Some(Duration::from_secs_f64(seconds))
}

/// The median of `values` (the mean of the middle two for an even count;
/// NaN for none). Sorts `values`.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// 10000 as "10,000".
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, d) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(d);
    }
    out
}

/// The command line of a benchmark program: `--option value` pairs and
/// flags, taken one at a time; anything wrong ends the program through its
/// `usage` function.
pub struct CommandLine {
    args: std::iter::Skip<std::env::Args>,
    usage: fn(&str) -> !,
}

impl CommandLine {
    /// The program's arguments, with the function that reports a mistake
    /// (and the usage) and exits.
    pub fn new(usage: fn(&str) -> !) -> CommandLine {
        CommandLine {
            args: std::env::args().skip(1),
            usage,
        }
    }

    /// The next option's name, e.g. `--rounds`.
    pub fn next_name(&mut self) -> Option<String> {
        self.args.next()
    }

    /// The value that follows the option `name`.
    pub fn value(&mut self, name: &str) -> String {
        self.args
            .next()
            .unwrap_or_else(|| (self.usage)(&format!("{name} needs a value")))
    }

    /// The value that follows `name`, as a number.
    pub fn number(&mut self, name: &str) -> u64 {
        let v = self.value(name);
        v.parse()
            .unwrap_or_else(|_| (self.usage)(&format!("{name}: not a number: {v:?}")))
    }

    /// The comma-separated list that follows `name`, each item one of `known`.
    pub fn list(&mut self, name: &str, known: &[&str]) -> Vec<String> {
        let list: Vec<String> = self.value(name).split(',').map(String::from).collect();
        if let Some(bad) = list.iter().find(|s| !known.contains(&s.as_str())) {
            (self.usage)(&format!(
                "{name}: unknown {bad:?} (known: {})",
                known.join(",")
            ));
        }
        list
    }

    /// Reports an unknown option and exits.
    pub fn unknown(&self, name: &str) -> ! {
        (self.usage)(&format!("unknown argument {name:?}"))
    }
}

/// The `[HOST:PORT]` argument of a peer server (`127.0.0.1:8080` if none);
/// anything starting with `-` ends the program with a usage message.
pub fn address_argument(program: &str) -> String {
    match std::env::args().nth(1) {
        Some(a) if a.starts_with('-') => {
            eprintln!("{program}: unknown option {a:?}; usage: {program} [HOST:PORT]");
            std::process::exit(2);
        }
        Some(a) => a,
        None => "127.0.0.1:8080".to_string(),
    }
}
