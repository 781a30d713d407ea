//! A fleet behind the real load balancers, with the configurations of the
//! README's "Running a fleet" section (read from README.md, with only ports
//! and paths changed): HAProxy with `send-proxy-v2` in front of three
//! `--proxy-protocol` backends, nginx with `X-Forwarded-For` in front of two
//! `--trusted-proxy` ones, and restarts (`SIGUSR2`) under a load that
//! checks every answer: one process restarted ten times, and the backends
//! behind HAProxy, then nginx, in turn.
//!
//! Clients connect from 127.0.0.2, so that a backend that logged the
//! proxy's 127.0.0.1 would fail. HAProxy and nginx are skipped (with a
//! `SKIPPED:` line) where they are not installed, unless
//! `BASEHTTP_REQUIRE_HAPROXY=1` or `BASEHTTP_REQUIRE_NGINX=1` (set by
//! `.ci/run`) makes that a failure.
//!
//! Every process started here, the copies a restart made included, is
//! killed by its own PID (or pidfd) if a test fails. Nothing waits with a
//! sleep: startup lines, notify messages and pidfds say when something
//! happened, and a condition polled with a deadline (`eventually`) covers
//! the rest.

mod common;
#[path = "common/load.rs"]
mod load;
#[path = "common/process.rs"]
mod process;

use basehttp::server::Pool;
use basehttp::{ClientAddress, Handler, HandlerResult, Request, ServerConfig};
use common::{Client, TestServer};
use load::{Load, Notify, PidFd, Tally};
use process::{Exited, Process, TIMEOUT, basehttp};
use rustix::process::Signal;
use std::fmt;
use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;
use std::time::Duration;

/// The address clients connect from.
const CLIENT_IP: [u8; 4] = [127, 0, 0, 2];

const HELLO: &str = "Hello, World!";

// --- The README's configurations ---------------------------------------------

fn readme() -> String {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md"))
        .expect("README.md")
}

/// The text of the fenced block right after the line `<!-- fleet:NAME -->`
/// in README.md.
fn readme_block(name: &str) -> String {
    let readme = readme();
    let marker = format!("<!-- fleet:{name} -->\n```");
    let (_, after) = readme
        .split_once(&marker)
        .unwrap_or_else(|| panic!("README.md has no {marker:?}"));
    let (_, block) = after.split_once('\n').expect("a fence line");
    let (block, _) = block.split_once("\n```").expect("the end of the block");
    format!("{block}\n")
}

/// The backends' command lines in block `name`: each line
/// `basehttp OPTIONS... PORT &`, as arguments, with the `PORT` left out.
fn readme_backends(name: &str) -> Vec<Vec<String>> {
    readme_block(name)
        .lines()
        .map(|line| {
            let mut words: Vec<String> = line.split_whitespace().map(String::from).collect();
            assert_eq!(
                words.first().map(String::as_str),
                Some("basehttp"),
                "{line}"
            );
            assert_eq!(words.last().map(String::as_str), Some("&"), "{line}");
            words.pop();
            let port = words.pop().unwrap_or_default();
            assert!(
                port.parse::<u16>().is_ok(),
                "no port at the end of {line:?}"
            );
            words.remove(0);
            words
        })
        .collect()
}

/// `text` with each `from` replaced by its `to`, every one of which must be
/// there.
fn substitute(text: &str, pairs: &[(String, String)]) -> String {
    let mut text = text.to_string();
    for (from, to) in pairs {
        assert!(text.contains(from.as_str()), "{from:?} is not in {text}");
        text = text.replace(from.as_str(), to);
    }
    text
}

// --- Programs, processes, addresses ------------------------------------------

fn haproxy() -> Option<PathBuf> {
    process::require("haproxy", "BASEHTTP_REQUIRE_HAPROXY", "haproxy")
}

fn nginx() -> Option<PathBuf> {
    process::require("nginx", "BASEHTTP_REQUIRE_NGINX", "nginx")
}

/// A free port on 127.0.0.1 for a proxy, which cannot be told port 0: the
/// kernel's choice, released for it.
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().unwrap().port()
}

/// A TCP connection to `to` from [`CLIENT_IP`] (any port).
fn connect_from_client(to: SocketAddr) -> std::io::Result<TcpStream> {
    use socket2::{Domain, Socket, Type};
    let socket = Socket::new(Domain::IPV4, Type::STREAM, None)?;
    socket.bind(&SocketAddr::from((CLIENT_IP, 0)).into())?;
    socket.connect_timeout(&to.into(), TIMEOUT)?;
    Ok(socket.into())
}

/// A directory with `hello.txt`.
fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("hello.txt"), HELLO).unwrap();
    dir
}

/// The binary with `options` on 127.0.0.1, a port of its choice, serving
/// `site` (the README's `-d` directory replaced), with `NOTIFY_SOCKET` set
/// if `notify` is given (after its first message, which must name it).
fn backend(options: &[String], site: &Path, notify: Option<&Notify>) -> Process {
    let mut options = options.to_vec();
    if let Some(d) = options.iter().position(|o| o == "-d") {
        options[d + 1] = site.to_string_lossy().into_owned();
    }
    let mut command = basehttp();
    command.args(&options).arg("0").current_dir(site);
    if let Some(notify) = notify {
        command.env("NOTIFY_SOCKET", notify.path());
    }
    let process = Process::start(&mut command);
    assert!(
        process.line.starts_with("Serving HTTP on 127.0.0.1 port "),
        "{}",
        process.line
    );
    if let Some(notify) = notify {
        assert_eq!(notify.ready().expect("READY=1"), process.id() as i32);
    }
    process
}

/// The `count` backends of the README's block `name`, serving `site`, and
/// their addresses.
fn readme_fleet(name: &str, count: usize, site: &Path) -> (Vec<Process>, Vec<SocketAddr>) {
    let options = readme_backends(name);
    assert_eq!(options.len(), count, "{name}");
    let backends: Vec<Process> = options.iter().map(|o| backend(o, site, None)).collect();
    let addrs = backends.iter().map(Process::addr).collect();
    (backends, addrs)
}

/// Waits (bounded) until something accepts connections at `addr`.
fn wait_listening(what: &str, addr: SocketAddr, proxy: &mut Process) {
    common::eventually(&format!("{what} listens on {addr}"), TIMEOUT, || {
        TcpStream::connect(addr).is_ok() || panic_if_exited(proxy)
    });
}

/// Panics with what `process` wrote if it has exited; `false` otherwise.
fn panic_if_exited(process: &mut Process) -> bool {
    if process.has_exited() {
        let exited = process.wait();
        panic!("{} exited: {exited:?}", process.what);
    }
    false
}

/// HAProxy with `config`, in the foreground (`-db`), until dropped.
fn start_haproxy(program: &Path, config: &str, dir: &Path, front: SocketAddr) -> Process {
    let path = dir.join("haproxy.cfg");
    std::fs::write(&path, config).unwrap();
    let check = process::run_to_exit(Command::new(program).arg("-c").arg("-f").arg(&path));
    assert!(check.status.success(), "haproxy -c: {check:?}\n{config}");
    let mut haproxy = Process::spawn(Command::new(program).arg("-db").arg("-f").arg(&path));
    wait_listening("haproxy", front, &mut haproxy);
    haproxy
}

/// The README's HAProxy configuration, listening on `front`, in front of
/// `backends`.
fn haproxy_config(front: SocketAddr, backends: &[SocketAddr]) -> String {
    let mut pairs = vec![("bind :80".to_string(), format!("bind {front}"))];
    for (i, addr) in backends.iter().enumerate() {
        pairs.push((format!("127.0.0.1:800{}", i + 1), addr.to_string()));
    }
    substitute(&readme_block("haproxy"), &pairs)
}

/// nginx with the README's configuration as its `http` block, listening on
/// `front` in front of `backends`, with every path in `dir`: one process
/// (`master_process off`), in the foreground, until dropped. As root too
/// (CI): a single process never switches user.
fn start_nginx(program: &Path, dir: &Path, front: SocketAddr, backends: &[SocketAddr]) -> Process {
    let pairs: Vec<(String, String)> = backends
        .iter()
        .enumerate()
        .map(|(i, addr)| (format!("127.0.0.1:800{}", i + 1), addr.to_string()))
        .collect();
    start_nginx_with(program, dir, front, "nginx", &pairs)
}

/// nginx as [`start_nginx`] does, with the README's block `block` as its
/// `http` block, listening on `front`, with `pairs` substituted.
fn start_nginx_with(
    program: &Path,
    dir: &Path,
    front: SocketAddr,
    block: &str,
    pairs: &[(String, String)],
) -> Process {
    let mut pairs = pairs.to_vec();
    pairs.push(("listen 80;".to_string(), format!("listen {front};")));
    let http = substitute(&readme_block(block), &pairs);
    let config = format!(
        "daemon off;\nmaster_process off;\npid nginx.pid;\nerror_log error.log;\n\
         events {{ worker_connections 1024; }}\n\
         http {{\n\
         access_log off;\n\
         client_body_temp_path body;\nproxy_temp_path proxy;\nfastcgi_temp_path fastcgi;\n\
         uwsgi_temp_path uwsgi;\nscgi_temp_path scgi;\n\
         {http}}}\n"
    );
    std::fs::write(dir.join("nginx.conf"), &config).unwrap();
    let prefix = format!("{}/", dir.display());
    let command = |extra: &[&str]| {
        let mut c = Command::new(program);
        c.args(["-p", &prefix, "-c", "nginx.conf", "-e", "error.log"])
            .args(extra);
        c
    };
    let check = process::run_to_exit(&mut command(&["-t"]));
    assert!(check.status.success(), "nginx -t: {check:?}\n{config}");
    let mut nginx = Process::spawn(&mut command(&[]));
    wait_listening("nginx", front, &mut nginx);
    nginx
}

/// One `GET path` from [`CLIENT_IP`] through `to`, with `headers` (whole
/// lines); the answer's status and body, and the client's address.
fn get_from_client(to: SocketAddr, path: &str, headers: &str) -> (u16, String, SocketAddr) {
    let stream = connect_from_client(to).expect("connect from 127.0.0.2");
    let me = stream.local_addr().unwrap();
    let mut c = Client::from_stream(stream);
    c.send(format!("GET {path} HTTP/1.1\r\nHost: fleet\r\n{headers}\r\n").as_bytes());
    let r = c.read_response("GET").expect("an answer");
    (r.status, r.text().to_string(), me)
}

/// Stops each backend (SIGTERM, exit 0) and returns what they wrote.
fn stop_all(backends: &mut [Process]) -> Vec<Exited> {
    backends
        .iter_mut()
        .map(|b| {
            let exited = b.terminate();
            assert_eq!(exited.status.code(), Some(0), "{exited:?}");
            exited
        })
        .collect()
}

/// The log lines, of all `logs`, for the request line `GET path`, and
/// which log each came from.
fn lines_for<'a>(logs: &'a [Exited], path: &str) -> Vec<(usize, &'a str)> {
    let needle = format!("\"GET {path} HTTP/1.1\"");
    logs.iter()
        .enumerate()
        .flat_map(|(i, e)| e.stderr.lines().map(move |l| (i, l)))
        .filter(|(_, l)| l.contains(&needle))
        .collect()
}

// --- HAProxy -----------------------------------------------------------------

/// The README's HAProxy in front of the README's three `--proxy-protocol`
/// backends: requests spread over all three, and each is logged with the
/// client's address, 127.0.0.2, never HAProxy's.
#[test]
fn haproxy_spreads_requests_and_each_backend_logs_the_client() {
    let Some(program) = haproxy() else { return };
    let site = site();
    let (mut backends, addrs) = readme_fleet("haproxy-backends", 3, site.path());
    let dir = tempfile::tempdir().unwrap();
    let front = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let _haproxy = start_haproxy(&program, &haproxy_config(front, &addrs), dir.path(), front);

    const CLIENTS: usize = 30;
    for n in 0..CLIENTS {
        let (status, body, _) = get_from_client(front, &format!("/hello.txt?client={n}"), "");
        assert_eq!((status, body.as_str()), (200, HELLO), "client {n}");
    }
    let logs = stop_all(&mut backends);
    let mut served = [0; 3];
    for n in 0..CLIENTS {
        let lines = lines_for(&logs, &format!("/hello.txt?client={n}"));
        assert_eq!(lines.len(), 1, "client {n}: {lines:?}");
        let (backend, line) = lines[0];
        assert!(line.starts_with("127.0.0.2 - - ["), "client {n}: {line}");
        served[backend] += 1;
    }
    assert!(served.iter().all(|&s| s > 0), "served: {served:?}");
}

/// Answers every `GET` with `Hello, World!`, keeping the client address
/// (with its port) of every log line.
#[derive(Default)]
struct Ports {
    logged: Mutex<Vec<SocketAddr>>,
}

impl Handler for Ports {
    fn do_get(&self, r: &mut Request<'_>) -> HandlerResult {
        r.send_response(200)?;
        r.send_header("Content-Length", HELLO.len())?;
        r.end_headers()?;
        r.wfile.write_all(HELLO.as_bytes())?;
        Ok(())
    }

    fn log_message(&self, client: ClientAddress, _: fmt::Arguments<'_>) {
        let client = client.socket_addr().expect("a TCP client");
        self.logged.lock().unwrap().push(client);
    }
}

/// The README's HAProxy in front of three servers with the backends'
/// settings, whose handler keeps the whole client address (the binary's
/// log line, like Python's, shows no port): each client's own source port
/// reaches exactly one of them.
#[test]
fn haproxy_passes_each_clients_source_port() {
    let Some(program) = haproxy() else { return };
    let config = || ServerConfig {
        proxy_protocol: true,
        trusted_proxies: vec!["127.0.0.1/32".parse().unwrap()],
        ..common::config()
    };
    let servers: Vec<TestServer<Ports, Pool>> = (0..3)
        .map(|_| TestServer::start(Ports::default(), config()))
        .collect();
    let addrs: Vec<SocketAddr> = servers.iter().map(TestServer::addr).collect();
    let dir = tempfile::tempdir().unwrap();
    let front = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let _haproxy = start_haproxy(&program, &haproxy_config(front, &addrs), dir.path(), front);

    let clients: Vec<SocketAddr> = (0..12)
        .map(|_| {
            let (status, body, me) = get_from_client(front, "/", "");
            assert_eq!((status, body.as_str()), (200, HELLO));
            me
        })
        .collect();
    let logged: Vec<Vec<SocketAddr>> = servers
        .iter()
        .map(|s| s.handler().logged.lock().unwrap().clone())
        .collect();
    for me in &clients {
        assert_eq!(me.ip(), IpAddr::from(CLIENT_IP));
        let found = logged.iter().filter(|l| l.contains(me)).count();
        assert_eq!(found, 1, "{me} in {logged:?}");
    }
    assert!(logged.iter().all(|l| !l.is_empty()), "{logged:?}");
    // Only clients were logged: never HAProxy's own address.
    assert!(
        logged.iter().flatten().all(|a| clients.contains(a)),
        "{logged:?}"
    );
}

// --- nginx -------------------------------------------------------------------

/// The README's nginx in front of the README's two `--trusted-proxy`
/// backends: a client is logged as 127.0.0.2, also when it forges
/// `X-Forwarded-For` (nginx appends the address it saw) or `Forwarded`
/// (nginx passes it on untouched, and it is not the header read).
#[test]
fn nginx_forwards_the_client_and_forged_headers_do_not_count() {
    let Some(program) = nginx() else { return };
    let site = site();
    let (mut backends, addrs) = readme_fleet("nginx-backends", 2, site.path());
    let dir = tempfile::tempdir().unwrap();
    let front = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let _nginx = start_nginx(&program, dir.path(), front, &addrs);

    let kinds = [
        ("plain", ""),
        ("xff", "X-Forwarded-For: 6.6.6.6\r\n"),
        ("forwarded", "Forwarded: for=6.6.6.6\r\n"),
        (
            "both",
            "Forwarded: for=6.6.6.6\r\nX-Forwarded-For: 6.6.6.6, 10.1.1.1\r\n",
        ),
    ];
    const EACH: usize = 4;
    for (kind, headers) in kinds {
        for n in 0..EACH {
            let path = format!("/hello.txt?{kind}={n}");
            let (status, body, _) = get_from_client(front, &path, headers);
            assert_eq!((status, body.as_str()), (200, HELLO), "{path}");
        }
    }
    let logs = stop_all(&mut backends);
    let mut served = [0; 2];
    for (kind, _) in kinds {
        for n in 0..EACH {
            let lines = lines_for(&logs, &format!("/hello.txt?{kind}={n}"));
            assert_eq!(lines.len(), 1, "{kind} {n}: {lines:?}");
            let (backend, line) = lines[0];
            assert!(line.starts_with("127.0.0.2 - - ["), "{kind} {n}: {line}");
            served[backend] += 1;
        }
    }
    assert!(served.iter().all(|&s| s > 0), "served: {served:?}");
}

/// The README's nginx in front of the README's backend on a Unix socket
/// with `--trusted-proxy unix`: clients are logged by their own address,
/// forged headers or not; the socket file goes when the backend stops.
#[test]
fn nginx_reaches_a_backend_on_a_unix_socket() {
    let Some(program) = nginx() else { return };
    let site = site();
    let dir = tempfile::tempdir().unwrap();
    let socket = dir.path().join("www.sock");
    let line = readme_block("nginx-unix-backend");
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        (words.first(), words.last()),
        (Some(&"basehttp"), Some(&"&")),
        "{line}"
    );
    let readme_path = "/run/basehttp/www.sock";
    let options: Vec<String> = words[1..words.len() - 1]
        .iter()
        .map(|w| match *w {
            "/srv/www" => site.path().to_string_lossy().into_owned(),
            w => w.replace(readme_path, &socket.to_string_lossy()),
        })
        .collect();
    assert!(
        options.contains(&format!("unix:{}", socket.display())),
        "{line}"
    );
    let mut backend = Process::spawn(basehttp().args(&options).current_dir(site.path()));
    let startup = backend.wait_for_stdout(|l| Some(l.to_owned()));
    assert_eq!(
        startup,
        Some(format!("Serving HTTP on unix:{} ...", socket.display()))
    );
    let front = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let pairs = [(
        readme_path.to_string(),
        socket.to_string_lossy().into_owned(),
    )];
    let nginx = start_nginx_with(&program, dir.path(), front, "nginx-unix", &pairs);
    let kinds = [
        ("plain", ""),
        ("xff", "X-Forwarded-For: 6.6.6.6\r\n"),
        ("forwarded", "Forwarded: for=6.6.6.6\r\n"),
    ];
    for (kind, headers) in kinds {
        let (status, body, _) = get_from_client(front, &format!("/hello.txt?{kind}"), headers);
        assert_eq!((status, body.as_str()), (200, HELLO), "{kind}");
    }
    drop(nginx);
    let logs = stop_all(std::slice::from_mut(&mut backend));
    for (kind, _) in kinds {
        let lines = lines_for(&logs, &format!("/hello.txt?{kind}"));
        assert_eq!(lines.len(), 1, "{kind}: {lines:?}");
        assert!(
            lines[0].1.starts_with("127.0.0.2 - - ["),
            "{kind}: {lines:?}"
        );
    }
    assert!(!socket.exists(), "the socket file is removed at exit");
}

// --- Restarts under load -------------------------------------------------------

/// The copies that restarts made (no children of the test), killed by
/// their pidfds if the test ends early.
#[derive(Default)]
struct Copies(Vec<PidFd>);

impl Copies {
    /// The copy with PID `pid`, which must be running.
    fn add(&mut self, pid: i32) -> &PidFd {
        self.0.push(PidFd::open(pid).expect("the new copy runs"));
        self.0.last().unwrap()
    }

    /// Forgets the copy with PID `pid`, once it has exited.
    fn gone(&mut self, pid: i32) {
        self.0.retain(|c| c.pid != pid);
    }
}

impl Drop for Copies {
    fn drop(&mut self) {
        for copy in &self.0 {
            let _ = copy.signal(libc::SIGKILL);
        }
    }
}

/// A load from 127.0.0.2 on `target`: 400 requests a second, never
/// pipelined, half on keep-alive connections and half on new ones.
fn load_on(target: SocketAddr) -> Load {
    Load {
        target,
        from: Some(IpAddr::V4(Ipv4Addr::from(CLIENT_IP))),
        rate: 400,
        workers: 8,
        requests_per_connection: 50,
        path: "/hello.txt".into(),
        body: HELLO.as_bytes().to_vec(),
        timeout: Duration::from_secs(10),
    }
}

/// Waits (bounded) until the load has `more` answers than `from`.
fn wait_answers(running: &load::Running, more: u64) {
    let from = running.answered();
    common::eventually("the load is answered", TIMEOUT, || {
        running.answered() >= from + more
    });
}

/// One restart of the backend whose current process is `current` (the
/// first process, `first`, a child of the test, until its first restart):
/// SIGUSR2, the new copy's `READY=1`, the old process's exit. The new
/// copy's PID.
fn restart(current: i32, first: &mut Process, notify: &Notify, copies: &mut Copies) -> i32 {
    if current == first.id() as i32 {
        first.signal(Signal::USR2);
    } else {
        let copy = copies.0.iter().find(|c| c.pid == current).expect("a copy");
        copy.signal(libc::SIGUSR2).unwrap();
    }
    let next = notify.ready().expect("the new copy's READY=1");
    assert_ne!(next, current);
    copies.add(next);
    if current == first.id() as i32 {
        assert_eq!(first.wait_exit().code(), Some(0), "{}", first.what);
    } else {
        let old = copies.0.iter().find(|c| c.pid == current).unwrap();
        assert!(old.wait_gone(TIMEOUT), "process {current} still runs");
        copies.gone(current);
    }
    next
}

fn assert_nothing_lost(tally: &Tally) {
    eprintln!("{tally:?}");
    assert_eq!(
        (tally.refused, tally.reset, tally.timeout, tally.wrong),
        (0, 0, 0, 0),
        "{:#?}",
        tally.failures
    );
    assert!(tally.ok > 0);
}

/// One `basehttp` restarted ten times with `SIGUSR2` while the load runs:
/// not one request refused, reset, timed out or answered wrong.
#[test]
fn ten_restarts_under_load_lose_no_request() {
    let site = site();
    let dir = tempfile::tempdir().unwrap();
    let notify = Notify::bind(&dir.path().join("notify"), TIMEOUT).unwrap();
    let options: Vec<String> = ["-q", "-b", "127.0.0.1"].map(String::from).to_vec();
    let mut first = backend(&options, site.path(), Some(&notify));
    let mut copies = Copies::default();
    let running = load_on(first.addr()).start();
    wait_answers(&running, 100);
    let mut current = first.id() as i32;
    for _ in 0..10 {
        current = restart(current, &mut first, &notify, &mut copies);
        wait_answers(&running, 100);
    }
    let tally = running.stop();
    assert_nothing_lost(&tally);
    assert!(tally.ok >= 1100, "{tally:?}");
    let last = copies.0.iter().find(|c| c.pid == current).unwrap();
    last.signal(libc::SIGTERM).unwrap();
    assert!(last.wait_gone(TIMEOUT));
    copies.gone(current);
}

/// The README's backends of block `backends`, `-q`, each with a notify
/// socket, behind the proxy `start_proxy` starts in a directory of its
/// own in front of their addresses (giving the proxy and its address),
/// each restarted in turn with `SIGUSR2` while the load runs through the
/// proxy: no request fails.
fn rolling_restart(
    backends: &str,
    start_proxy: impl FnOnce(&Path, &[SocketAddr]) -> (Process, SocketAddr),
) {
    let site = site();
    let dir = tempfile::tempdir().unwrap();
    let options = readme_backends(backends);
    let notifies: Vec<Notify> = (0..options.len())
        .map(|i| Notify::bind(&dir.path().join(format!("notify{i}")), TIMEOUT).unwrap())
        .collect();
    let mut firsts: Vec<Process> = options
        .iter()
        .zip(&notifies)
        .map(|(o, n)| {
            let mut o = o.clone();
            o.insert(0, "-q".into());
            backend(&o, site.path(), Some(n))
        })
        .collect();
    let addrs: Vec<SocketAddr> = firsts.iter().map(Process::addr).collect();
    let proxy_dir = tempfile::tempdir().unwrap();
    let (_proxy, front) = start_proxy(proxy_dir.path(), &addrs);
    let mut copies = Copies::default();
    let running = load_on(front).start();
    wait_answers(&running, 100);
    let mut current: Vec<i32> = firsts.iter().map(|p| p.id() as i32).collect();
    for i in 0..firsts.len() {
        current[i] = restart(current[i], &mut firsts[i], &notifies[i], &mut copies);
        wait_answers(&running, 100);
    }
    let tally = running.stop();
    assert_nothing_lost(&tally);
    for pid in current {
        let copy = copies.0.iter().find(|c| c.pid == pid).unwrap();
        copy.signal(libc::SIGTERM).unwrap();
        assert!(copy.wait_gone(TIMEOUT));
        copies.gone(pid);
    }
}

/// The README's HAProxy in front of the README's three backends, each
/// restarted in turn with `SIGUSR2` while the load runs through HAProxy:
/// no request fails.
#[test]
fn a_rolling_restart_behind_haproxy_loses_no_request() {
    let Some(program) = haproxy() else { return };
    rolling_restart("haproxy-backends", |dir, addrs| {
        let front = SocketAddr::from(([127, 0, 0, 1], free_port()));
        let config = haproxy_config(front, addrs);
        (start_haproxy(&program, &config, dir, front), front)
    });
}

/// The same behind the README's nginx and its two backends: nginx's
/// upstream keep-alive connections, closed by a draining backend, lose
/// nothing either.
#[test]
fn a_rolling_restart_behind_nginx_loses_no_request() {
    let Some(program) = nginx() else { return };
    rolling_restart("nginx-backends", |dir, addrs| {
        let front = SocketAddr::from(([127, 0, 0, 1], free_port()));
        (start_nginx(&program, dir, front, addrs), front)
    });
}

/// Reads from `stream` until a whole answer with a `Content-Length` body
/// has arrived, `got` holding its first bytes already; its head.
fn read_rest_of_answer(stream: &mut TcpStream, mut got: Vec<u8>) -> String {
    use std::io::Read;
    let mut chunk = vec![0u8; 1 << 16];
    loop {
        if let Some(end) = got.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&got[..end]).into_owned();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|v| v.parse().ok())
                .expect("a Content-Length");
            if got.len() - (end + 4) >= length {
                assert_eq!(got.len() - (end + 4), length, "bytes after the body");
                return head;
            }
        }
        let n = stream.read(&mut chunk).expect("read the answer");
        assert!(n > 0, "closed before the whole answer");
        got.extend_from_slice(&chunk[..n]);
    }
}

/// During a restart's drain, connections in use are not closed under their
/// clients: one whose answer was under way when the drain began (and
/// promised keep-alive), and one idle between requests that sends its
/// next request at once, both get that request answered, with
/// `Connection: close`. Before, the first was closed right after its
/// answer and the second as the drain began, each racing with the client's
/// next request: the rare reset the load of
/// `ten_restarts_under_load_lose_no_request` met.
#[test]
fn a_restart_answers_the_next_request_of_a_connection_in_use() {
    use std::io::Read;
    let site = site();
    std::fs::write(site.path().join("big"), vec![b'x'; 32 << 20]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let notify = Notify::bind(&dir.path().join("notify"), TIMEOUT).unwrap();
    let options: Vec<String> = ["-q", "-b", "127.0.0.1"].map(String::from).to_vec();
    let mut first = backend(&options, site.path(), Some(&notify));
    let mut copies = Copies::default();

    let mut idle = Client::connect(first.addr());
    assert_eq!(idle.get("/hello.txt").status, 200);
    // A download under way: its head read, most of its body not.
    let mut download = TcpStream::connect(first.addr()).unwrap();
    download
        .write_all(b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n")
        .unwrap();
    let mut start = vec![0u8; 1024];
    let n = download.read(&mut start).unwrap();
    start.truncate(n);
    assert!(start.starts_with(b"HTTP/1.1 200 "));

    first.signal(Signal::USR2);
    let next = notify.ready().expect("the new copy's READY=1");
    copies.add(next);
    // The new copy told the old process before systemd, but the old one
    // starts its drain only as it reads that: until then an answer may
    // still keep the connection. Every request is answered, none reset,
    // and once the drain has begun the answer says `Connection: close`.
    let deadline = std::time::Instant::now() + TIMEOUT;
    loop {
        let answer = idle.get("/hello.txt");
        assert_eq!((answer.status, answer.text()), (200, HELLO));
        if answer.header("Connection") == Some("close") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the old process did not begin its drain within {TIMEOUT:?}"
        );
    }
    let head = read_rest_of_answer(&mut download, start);
    assert!(!head.contains("Connection: close"), "{head}");
    let mut download = Client::from_stream(download);
    let answer = download.get("/hello.txt");
    assert_eq!((answer.status, answer.text()), (200, HELLO));
    assert_eq!(answer.header("Connection"), Some("close"));

    assert_eq!(first.wait_exit().code(), Some(0));
    let copy = copies.0.iter().find(|c| c.pid == next).unwrap();
    copy.signal(libc::SIGTERM).unwrap();
    assert!(copy.wait_gone(TIMEOUT));
    copies.gone(next);
}
