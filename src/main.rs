//! `basehttp`: serve a directory over HTTP or HTTPS, the counterpart of
//! `python -m http.server`. Argument parsing and wiring only; the work is
//! the library's [`SimpleHttpRequestHandler`] on a [`PoolHttpServer`].

use basehttp::files::Credentials;
use basehttp::{
    Listener, PoolHttpServer, ServerAddress, ServerConfig, SimpleHttpRequestHandler, Version,
};
use clap::Parser;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM, SIGUSR2};
use std::io::{self, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Serve a directory over HTTP: the Rust counterpart of `python -m http.server`.
#[derive(Parser, Debug)]
#[command(name = "basehttp", version, color = clap::ColorChoice::Never)]
#[command(group(clap::ArgGroup::new("credentials").multiple(true).args(["auth", "auth_file"])))]
struct Args {
    /// TCP port to listen on; 0 asks the kernel for a free one [default: 8000]
    port: Option<u16>,

    /// Address to listen on, or unix:PATH for a Unix domain socket (a stale socket file there is
    /// replaced, any other file is not; the file is removed at exit) [default: all interfaces,
    /// IPv6 and IPv4 where the host has IPv6]
    #[arg(short, long, value_name = "ADDRESS")]
    bind: Option<String>,

    /// Directory to serve [default: the current directory]
    #[arg(short, long, value_name = "DIR")]
    directory: Option<PathBuf>,

    /// HTTP version of the responses: HTTP/1.1 keeps connections open, HTTP/1.0 closes each after one request
    #[arg(short, long, value_name = "VERSION", default_value = "HTTP/1.1",
          value_parser = ["HTTP/1.0", "HTTP/1.1"])]
    protocol: String,

    /// Write no log line per request
    #[arg(short, long)]
    quiet: bool,

    /// Serve and list dot-files (names starting with '.'); without it they,
    /// and anything below a dot-directory, answer 404 and are not listed
    #[arg(long)]
    hidden: bool,

    /// Let other sites' pages read the answers: Access-Control-Allow-Origin: * on every
    /// response; preflights (OPTIONS) are answered 204, allowing GET and HEAD only
    #[arg(long)]
    cors: bool,

    /// Require HTTP Basic authentication for every request: USER:PASSWORD, split at the first
    /// ':' (repeatable). PASSWORD may be given hashed as sha256:HEX or sha512:HEX; an unsalted
    /// hash only keeps the password out of sight, it does not make a weak one strong. Passwords
    /// cross the network in clear text without --tls-cert
    #[arg(long, value_name = "USER:PASSWORD")]
    auth: Vec<String>,

    /// Like --auth, one USER:PASSWORD per line of FILE (so passwords stay out of ps); empty
    /// lines and lines starting with '#' are skipped
    #[arg(long, value_name = "FILE")]
    auth_file: Option<PathBuf>,

    /// With --auth or --auth-file: GET and HEAD need no credentials, other methods still do
    #[arg(long, requires = "credentials")]
    public_read: bool,

    /// Add this header to every response (repeatable). Content-Length, Transfer-Encoding,
    /// Connection, Trailer and Upgrade are refused
    #[arg(short = 'H', long = "header", value_name = "'NAME: VALUE'")]
    header: Vec<String>,

    /// Serve HTTPS with this PEM certificate chain (needs --tls-key)
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// Every connection starts with a PROXY protocol header (v1 or v2, before any TLS), as HAProxy and nginx send it: requests and log lines get the address it carries. Only behind such a proxy: whoever reaches the port directly chooses their own address
    #[arg(long)]
    proxy_protocol: bool,

    /// Repeatable. A proxy whose forwarded header names the client (and, with --proxy-protocol, the only peers whose PROXY headers are accepted): a network such as 10.0.0.0/8 or fd00::/8, an address, or `unix`. IPv4 networks also match IPv4-mapped IPv6 peers
    #[arg(long, value_name = "CIDR")]
    trusted_proxy: Vec<basehttp::config::TrustedProxy>,

    /// With --trusted-proxy: the one header that names the client, `x-forwarded-for` or `forwarded` (RFC 7239) [default: x-forwarded-for]
    #[arg(long, value_name = "NAME", requires = "trusted_proxy")]
    forwarded_header: Option<basehttp::config::ForwardedHeader>,

    /// Set SO_REUSEPORT, so that several processes can listen on one port (each started with this option)
    #[arg(long)]
    reuse_port: bool,

    /// Accept uploads: PUT /path/file writes the body (201 Created, or 204 when replacing); a
    /// multipart form POSTed to a directory writes each file (303 back to the listing, which then
    /// shows an upload form). Cross-site writes are refused (403)
    #[arg(short = 'u', long)]
    upload: bool,

    /// With --upload: an upload may replace an existing file (without it: 409 Conflict)
    #[arg(long, requires = "upload")]
    overwrite: bool,

    /// Largest upload, inclusive: bytes, or with a K, M or G suffix (powers of 1024); larger: 413,
    /// nothing written [default: 1G]
    #[arg(long, value_name = "SIZE", value_parser = upload_size)]
    max_upload_size: Option<u64>,

    /// Single-page application: a GET for a missing path whose Accept names text/html gets /index.html with status 200 (paths with an extension still 404)
    #[arg(long)]
    spa: bool,

    /// Compress nothing on the fly (by default text files of 1 KiB to 8 MiB go out in brotli,
    /// zstd or gzip when the client accepts it); precompressed .br/.zst/.gz files beside the
    /// original are still sent
    #[arg(long)]
    no_compress: bool,

    /// Let a directory be downloaded as one archive: ?download=tar or ?download=tar.gz,
    /// streamed; dot-files only with --hidden, links only where they stay inside
    #[arg(long)]
    archive: bool,
}

/// The TLS configuration of `--tls-cert` and `--tls-key`.
#[cfg(feature = "tls")]
fn load_tls(cert: &Path, key: &Path) -> Result<basehttp::config::TlsConfig, Failure> {
    basehttp::tls::load_server_config(cert, key)
        .map_err(|e| Failure::Usage(format!("cannot use the certificate: {e}")))
}

/// This build has no TLS: `--tls-cert` is a usage error.
#[cfg(not(feature = "tls"))]
fn load_tls(_: &Path, _: &Path) -> Result<basehttp::config::TlsConfig, Failure> {
    Err(Failure::Usage(
        "--tls-cert: this basehttp was built without the `tls` feature".into(),
    ))
}

/// Exit status for bad arguments, as clap and Python's argparse use.
const USAGE_ERROR: u8 = 2;

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => return argument_error(&e),
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Usage(message)) => {
            eprintln!("basehttp: {message}");
            ExitCode::from(USAGE_ERROR)
        }
        Err(Failure::Serve(e)) => {
            eprintln!("basehttp: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Why the program stops with an error.
enum Failure {
    /// A bad argument, found before anything listens: status 2.
    Usage(String),
    /// The server failed while running: status 1.
    Serve(io::Error),
}

/// `--help` and `--version` print and exit 0; any other parse error prints
/// the first line of clap's message, and a hint, as one line: exit 2.
fn argument_error(e: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        let _ = e.print();
        return ExitCode::SUCCESS;
    }
    // clap's message is a paragraph (sometimes continued on indented
    // lines, such as the missing argument's name), then usage: keep the
    // paragraph, on one line.
    let rendered = e.render().to_string();
    let paragraph: Vec<&str> = rendered
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty())
        .take_while(|l| !l.is_empty() && !l.starts_with("Usage:"))
        .collect();
    let joined = paragraph.join(" ");
    let first = if joined.is_empty() {
        "invalid arguments"
    } else {
        joined.as_str()
    };
    let first = first.strip_prefix("error: ").unwrap_or(first).trim_end();
    eprintln!("basehttp: {first} (see basehttp --help)");
    ExitCode::from(USAGE_ERROR)
}

fn run(args: Args) -> Result<(), Failure> {
    let directory = match &args.directory {
        Some(dir) => dir.clone(),
        None => PathBuf::from("."),
    };
    if !directory.is_dir() {
        return Err(Failure::Usage(format!(
            "directory {}: not an existing directory",
            directory.display()
        )));
    }
    let version = if args.protocol == "HTTP/1.0" {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    let share = Share::from_args(&args)?;
    let handler = || {
        let handler = SimpleHttpRequestHandler::new(&directory)
            .map_err(|e| Failure::Usage(e.to_string()))?
            .quiet(args.quiet)
            .spa(args.spa)
            .compress(!args.no_compress)
            .archive(args.archive)
            .with_protocol_version(version);
        share.apply(handler)
    };
    // Fails here, before anything listens, if the directory or a header is
    // unusable.
    handler()?;
    // Likewise an unreadable certificate or key.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => Some(load_tls(cert, key)?),
        _ => None,
    };
    let scheme = if tls.is_some() { "HTTPS" } else { "HTTP" };
    let config = ServerConfig {
        tls,
        proxy_protocol: args.proxy_protocol,
        trusted_proxies: args.trusted_proxy.clone(),
        forwarded_header: args.forwarded_header.unwrap_or_default(),
        reuse_port: args.reuse_port,
        ..ServerConfig::default()
    };

    let server = match inherited_listeners(&args)? {
        Some(listeners) => PoolHttpServer::from_listeners(listeners, handler()?, config)
            .map_err(|e| Failure::Usage(format!("cannot serve the inherited sockets: {e}")))?,
        None => bind(args.bind.as_deref(), args.port, config, handler)?,
    };
    raise_open_files_limit();

    // The signal handlers only write a byte to a socket pair that the server
    // watches: no code runs in signal context beyond that write.
    let (stop, signalled) = UnixStream::pair().map_err(Failure::Serve)?;
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        let writer = signalled.try_clone().map_err(Failure::Serve)?;
        signal_hook::low_level::pipe::register(signal, writer).map_err(Failure::Serve)?;
    }

    // SIGUSR2 (a restart) likewise, on a socket pair of its own.
    let (restart, restarting) = UnixStream::pair().map_err(Failure::Serve)?;
    signal_hook::low_level::pipe::register(SIGUSR2, restarting).map_err(Failure::Serve)?;

    warn_clear_text_passwords(&share, scheme == "HTTPS", server.local_addr());
    for addr in server.local_addrs() {
        announce(scheme, addr);
    }
    if let Err(e) = basehttp::activation::notify_ready() {
        eprintln!("basehttp: cannot say it is ready: {e}");
    }
    let served = std::thread::scope(|scope| {
        scope.spawn(|| restart_on_signal(&server, &restart));
        let served = server.serve_until(&stop);
        // Ends the restart thread's wait.
        let _ = restart.shutdown(std::net::Shutdown::Both);
        served.map_err(Failure::Serve)
    });
    // Only now, with the restart thread done: a restart it completed
    // meanwhile (the new copy became ready while this one stopped) handed
    // the Unix socket file on, and it stays.
    server.server_close();
    served
}

/// Waits for SIGUSR2 and restarts without dropping a connection: starts a
/// new copy of the program with the listening sockets, and once it says it
/// serves, hands over to it ([`PoolHttpServer::drain`]), which ends
/// `serve_until`. If the copy fails or is not ready in time, this one goes
/// on serving.
fn restart_on_signal(server: &PoolHttpServer<SimpleHttpRequestHandler>, restart: &UnixStream) {
    use basehttp::activation::{RESTART_TIMEOUT, Successor};
    use std::io::Read;
    let mut signal = [0u8; 1];
    let mut restart = restart;
    while matches!(restart.read(&mut signal), Ok(1)) {
        let started = Successor::start(server.listeners());
        match started.and_then(|copy| copy.wait_ready(RESTART_TIMEOUT)) {
            Ok(()) => return server.drain(),
            Err(e) => eprintln!("basehttp: restart failed, still serving: {e}"),
        }
    }
}

/// The options for sharing safely (`--hidden`, `--cors`, `-H`, `--auth`,
/// `--auth-file`, `--public-read`), checked once before anything listens,
/// then applied to each handler made.
struct Share {
    hidden: bool,
    cors: bool,
    headers: Vec<(String, String)>,
    /// `--auth` and `--auth-file` together, if either was given.
    credentials: Option<Credentials>,
    public_read: bool,
    upload: bool,
    overwrite: bool,
    max_upload_size: Option<u64>,
}

impl Share {
    fn from_args(args: &Args) -> Result<Share, Failure> {
        let headers = args
            .header
            .iter()
            .map(|line| parse_header(line))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Share {
            hidden: args.hidden,
            cors: args.cors,
            headers,
            credentials: credentials(args)?,
            public_read: args.public_read,
            upload: args.upload,
            overwrite: args.overwrite,
            max_upload_size: args.max_upload_size,
        })
    }

    /// `handler` with these options. A bad `-H` header is refused here:
    /// the first handler is made before anything listens.
    fn apply(
        &self,
        handler: SimpleHttpRequestHandler,
    ) -> Result<SimpleHttpRequestHandler, Failure> {
        let mut handler = handler
            .hidden(self.hidden)
            .cors(self.cors)
            .upload(self.upload)
            .overwrite(self.overwrite);
        if let Some(max) = self.max_upload_size {
            handler = handler.max_upload_size(max);
        }
        if let Some(credentials) = &self.credentials {
            handler = handler
                .auth(credentials.clone())
                .public_read(self.public_read);
        }
        for (name, value) in &self.headers {
            handler = handler
                .header(name, value)
                .map_err(|e| Failure::Usage(format!("--header: {e}")))?;
        }
        Ok(handler)
    }
}

/// The users of `--auth` and `--auth-file`; `None` if neither was given.
/// An error names the option (and the file's line), never a password.
fn credentials(args: &Args) -> Result<Option<Credentials>, Failure> {
    if args.auth.is_empty() && args.auth_file.is_none() {
        return Ok(None);
    }
    let mut credentials = Credentials::new();
    for line in &args.auth {
        credentials
            .add_line(line)
            .map_err(|e| Failure::Usage(format!("--auth: {e}")))?;
    }
    if let Some(file) = &args.auth_file {
        credentials
            .add_file(file)
            .map_err(|e| Failure::Usage(format!("--auth-file: {e}")))?;
    }
    Ok(Some(credentials))
}

/// One line on standard error when passwords would cross a network in
/// clear text: authentication without TLS, listening beyond loopback.
fn warn_clear_text_passwords(share: &Share, tls: bool, addr: &ServerAddress) {
    // (A Unix socket never leaves the host.)
    let Some(ip) = addr.ip() else { return };
    if share.credentials.is_some() && !tls && !ip.is_loopback() {
        eprintln!(
            "basehttp: warning: --auth without --tls-cert on {ip}: passwords cross the network in clear text",
        );
    }
}

/// `--max-upload-size`: bytes, or with a `K`, `M` or `G` suffix.
fn upload_size(text: &str) -> Result<u64, String> {
    basehttp::files::parse_size(text)
        .ok_or_else(|| format!("{text:?} is not a size (bytes, or with a K, M or G suffix)"))
}

/// `-H 'NAME: VALUE'` split at the first `:`, the value without the spaces
/// around it.
fn parse_header(line: &str) -> Result<(String, String), Failure> {
    match line.split_once(':') {
        Some((name, value)) => Ok((
            name.to_string(),
            value.trim_matches([' ', '\t']).to_string(),
        )),
        None => Err(Failure::Usage(format!(
            "--header {line:?}: expected 'NAME: VALUE'"
        ))),
    }
}

/// Binds the listening socket. Without `--bind`: `::` with IPv4 accepted
/// too (dual-stack), or `0.0.0.0` on a host without IPv6, as Python does.
/// `handler` makes the handler for each attempt (binding consumes it).
fn bind(
    address: Option<&str>,
    port: Option<u16>,
    config: ServerConfig,
    handler: impl Fn() -> Result<SimpleHttpRequestHandler, Failure>,
) -> Result<PoolHttpServer<SimpleHttpRequestHandler>, Failure> {
    if let Some(path) = address.and_then(|a| a.strip_prefix("unix:")) {
        if port.is_some() {
            return Err(Failure::Usage(
                "PORT cannot be used with -b unix:PATH: a Unix socket has no port".into(),
            ));
        }
        if path.is_empty() {
            return Err(Failure::Usage("-b unix:PATH: the PATH is empty".into()));
        }
        return PoolHttpServer::bind_unix_with_config(path, handler()?, config)
            .map_err(|e| Failure::Usage(format!("cannot listen on unix:{path}: {e}")));
    }
    let port = port.unwrap_or(DEFAULT_PORT);
    let Some(host) = address else {
        let any6 = SocketAddr::from((Ipv6Addr::UNSPECIFIED, port));
        return match PoolHttpServer::bind_with_config(any6, handler()?, config.clone()) {
            Ok(server) => Ok(server),
            Err(e) if no_ipv6(&e) => {
                let any4 = SocketAddr::from((Ipv4Addr::UNSPECIFIED, port));
                PoolHttpServer::bind_with_config(any4, handler()?, config)
                    .map_err(|e| cannot_listen("0.0.0.0", port, &e))
            }
            Err(e) => Err(cannot_listen("::", port, &e)),
        };
    };
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => (host.trim_start_matches('[').trim_end_matches(']'), port)
            .to_socket_addrs()
            .map_err(|e| Failure::Usage(format!("cannot resolve address {host:?}: {e}")))?
            .collect(),
    };
    PoolHttpServer::bind_with_config(addrs.as_slice(), handler()?, config)
        .map_err(|e| cannot_listen(host, port, &e))
}

/// The port without `PORT`, as Python's.
const DEFAULT_PORT: u16 = 8000;

/// The sockets of systemd's socket activation (`LISTEN_PID`, `LISTEN_FDS`),
/// if this process was given any: then `-b` and `PORT` are usage errors,
/// since the sockets already say where to listen.
fn inherited_listeners(args: &Args) -> Result<Option<Vec<Listener>>, Failure> {
    let listeners = basehttp::server::listen_fds()
        .map_err(|e| Failure::Usage(format!("socket activation: {e}")))?;
    if listeners.is_empty() {
        return Ok(None);
    }
    // A restarted copy has the same arguments as the first: they are
    // expected, and the sockets they made are the ones inherited.
    let restarted = std::env::var_os(basehttp::activation::READY_FD_VAR).is_some();
    if !restarted && (args.bind.is_some() || args.port.is_some()) {
        return Err(Failure::Usage(
            "-b and PORT cannot be used with socket activation (LISTEN_FDS): the inherited sockets say where to listen".into(),
        ));
    }
    Ok(Some(listeners))
}

/// Whether binding `::` failed because the host has no IPv6.
fn no_ipv6(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAFNOSUPPORT) | Some(libc::EADDRNOTAVAIL) | Some(libc::EPROTONOSUPPORT)
    )
}

fn cannot_listen(host: &str, port: u16, e: &io::Error) -> Failure {
    Failure::Usage(format!("cannot listen on {host} port {port}: {e}"))
}

/// Raises the soft limit on open files to the hard limit, so the server can
/// hold as many connections as the system allows: a process-wide setting,
/// the program's job rather than the library's.
fn raise_open_files_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if limit.current != limit.maximum {
        let _ = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: limit.maximum,
                maximum: limit.maximum,
            },
        );
    }
}

/// The startup line, exactly as Python's `http.server` prints it, with the
/// port actually bound, or `Serving HTTP on unix:PATH ...` for a Unix
/// socket; flushed, so a parent reading a pipe sees it at once. `scheme`
/// is `HTTP` or `HTTPS`.
fn announce(scheme: &str, addr: &ServerAddress) {
    let Some(addr) = addr.socket_addr() else {
        let mut out = io::stdout().lock();
        let _ = writeln!(out, "Serving {scheme} on {addr} ...");
        let _ = out.flush();
        return;
    };
    let host = addr.ip();
    let url_host = match host {
        IpAddr::V6(v6) => format!("[{v6}]"),
        IpAddr::V4(v4) => v4.to_string(),
    };
    let port = addr.port();
    let mut out = io::stdout().lock();
    let url_scheme = scheme.to_ascii_lowercase();
    let _ = writeln!(
        out,
        "Serving {scheme} on {host} port {port} ({url_scheme}://{url_host}:{port}/) ..."
    );
    let _ = out.flush();
}
