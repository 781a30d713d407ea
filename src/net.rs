//! The sockets under a server: its listeners, TCP or Unix domain
//! ([`Listener`]), the connections they accept, and the addresses of both
//! ends ([`ServerAddress`], [`ClientAddress`]).
//!
//! A Unix domain socket is a socket with a name in the file system instead
//! of an IP address and port: a proxy on the same host (nginx, HAProxy)
//! reaches the server through the file, and file permissions decide who
//! may connect. Everything above this module serves both kinds alike; only
//! accepting a connection and naming its peer differ.

use std::fmt;
use std::io::{self, IoSlice, Read, Write};
use std::net::{IpAddr, Shutdown, SocketAddr, TcpListener, TcpStream, ToSocketAddrs};
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Pending connections the kernel queues before `accept`: 1024, as
/// INTERFACE.md documents (Python's `request_queue_size` is 5, which drops
/// connections under any burst).
pub const LISTEN_BACKLOG: i32 = 1024;

/// Who is at the other end of a connection: the type of
/// [`Request::client_address`](crate::Request::client_address) and
/// [`Request::peer_address`](crate::Request::peer_address).
///
/// Over TCP it is the peer's IP address and port, shown as Python shows
/// `client_address`: `IP:PORT`, or `[IPv6]:PORT`. A peer on a Unix domain
/// socket has no address worth showing (it is almost always unnamed): it
/// is shown as `unix`, and log lines name it so.
///
/// ```
/// use basehttp::ClientAddress;
/// use std::net::SocketAddr;
///
/// let tcp: SocketAddr = "192.0.2.7:40000".parse().unwrap();
/// let client = ClientAddress::from(tcp);
/// assert_eq!(client.to_string(), "192.0.2.7:40000");
/// assert_eq!(client.ip(), Some(tcp.ip()));
/// assert_eq!(client.port(), Some(40000));
/// assert_eq!(client, tcp);
///
/// assert_eq!(ClientAddress::Unix.to_string(), "unix");
/// assert_eq!(ClientAddress::Unix.ip(), None);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ClientAddress {
    /// A TCP peer: its IP address and port.
    Tcp(SocketAddr),
    /// A peer on a Unix domain socket.
    Unix,
}

impl ClientAddress {
    /// The IP address of a TCP peer; `None` on a Unix socket.
    pub fn ip(&self) -> Option<IpAddr> {
        self.socket_addr().map(|a| a.ip())
    }

    /// The port of a TCP peer; `None` on a Unix socket.
    pub fn port(&self) -> Option<u16> {
        self.socket_addr().map(|a| a.port())
    }

    /// The IP address and port of a TCP peer; `None` on a Unix socket.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match *self {
            ClientAddress::Tcp(addr) => Some(addr),
            ClientAddress::Unix => None,
        }
    }

    /// Whether the peer is on a Unix domain socket.
    pub fn is_unix(&self) -> bool {
        matches!(self, ClientAddress::Unix)
    }

    /// The host part alone, as log lines and
    /// [`Request::address_string`](crate::Request::address_string) show
    /// it: the IP address, or `unix`.
    pub fn host(&self) -> impl fmt::Display + '_ {
        Host(self)
    }
}

/// [`ClientAddress::host`]'s text, written without allocating.
struct Host<'a>(&'a ClientAddress);

impl fmt::Display for Host<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            ClientAddress::Tcp(addr) => fmt::Display::fmt(&addr.ip(), f),
            ClientAddress::Unix => f.write_str("unix"),
        }
    }
}

impl fmt::Display for ClientAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientAddress::Tcp(addr) => fmt::Display::fmt(addr, f),
            ClientAddress::Unix => f.write_str("unix"),
        }
    }
}

/// The same text as `Display`, as for [`SocketAddr`].
impl fmt::Debug for ClientAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<SocketAddr> for ClientAddress {
    fn from(addr: SocketAddr) -> Self {
        ClientAddress::Tcp(addr)
    }
}

impl PartialEq<SocketAddr> for ClientAddress {
    fn eq(&self, other: &SocketAddr) -> bool {
        self.socket_addr() == Some(*other)
    }
}

/// Where a server listens (Python's `server_address`): an IP address and
/// port, or the path of a Unix domain socket.
///
/// Shown as `IP:PORT` (`[IPv6]:PORT`) or `unix:PATH`. It converts to
/// socket addresses ([`ToSocketAddrs`]), so that
/// `TcpStream::connect(server.local_addr())` works for a TCP server; for a
/// Unix socket that is an error of kind `InvalidInput`.
///
/// ```
/// use basehttp::ServerAddress;
/// use std::path::Path;
///
/// let tcp = ServerAddress::Tcp("127.0.0.1:8000".parse().unwrap());
/// assert_eq!(tcp.to_string(), "127.0.0.1:8000");
/// assert_eq!(tcp.port(), Some(8000));
///
/// let unix = ServerAddress::Unix("/run/basehttp.sock".into());
/// assert_eq!(unix.to_string(), "unix:/run/basehttp.sock");
/// assert_eq!(unix.unix_path(), Some(Path::new("/run/basehttp.sock")));
/// assert_eq!(unix.socket_addr(), None);
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ServerAddress {
    /// A TCP listener's address, with the real port when bound to port 0.
    Tcp(SocketAddr),
    /// A Unix domain socket's path. A socket in Linux's abstract namespace
    /// shows its name after an `@`, as systemd writes it; an unnamed one
    /// has an empty path.
    Unix(PathBuf),
}

impl ServerAddress {
    /// The IP address and port of a TCP listener; `None` for a Unix socket.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match self {
            ServerAddress::Tcp(addr) => Some(*addr),
            ServerAddress::Unix(_) => None,
        }
    }

    /// The IP address of a TCP listener; `None` for a Unix socket.
    pub fn ip(&self) -> Option<IpAddr> {
        self.socket_addr().map(|a| a.ip())
    }

    /// The port of a TCP listener; `None` for a Unix socket.
    pub fn port(&self) -> Option<u16> {
        self.socket_addr().map(|a| a.port())
    }

    /// The path of a Unix domain socket; `None` for TCP.
    pub fn unix_path(&self) -> Option<&Path> {
        match self {
            ServerAddress::Unix(path) => Some(path),
            ServerAddress::Tcp(_) => None,
        }
    }

    /// The address as a client of this server: for messages about the
    /// server itself, which the handler's log methods take.
    pub(crate) fn as_client(&self) -> ClientAddress {
        match self {
            ServerAddress::Tcp(addr) => ClientAddress::Tcp(*addr),
            ServerAddress::Unix(_) => ClientAddress::Unix,
        }
    }
}

impl fmt::Display for ServerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServerAddress::Tcp(addr) => fmt::Display::fmt(addr, f),
            ServerAddress::Unix(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// The same text as `Display`, as for [`SocketAddr`].
impl fmt::Debug for ServerAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl From<SocketAddr> for ServerAddress {
    fn from(addr: SocketAddr) -> Self {
        ServerAddress::Tcp(addr)
    }
}

impl PartialEq<SocketAddr> for ServerAddress {
    fn eq(&self, other: &SocketAddr) -> bool {
        self.socket_addr() == Some(*other)
    }
}

impl ToSocketAddrs for ServerAddress {
    type Iter = std::option::IntoIter<SocketAddr>;

    fn to_socket_addrs(&self) -> io::Result<Self::Iter> {
        match self {
            ServerAddress::Tcp(addr) => Ok(Some(*addr).into_iter()),
            ServerAddress::Unix(path) => Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!(
                    "unix:{} is a Unix domain socket, not an IP address",
                    path.display()
                ),
            )),
        }
    }
}

/// A listening socket a server accepts connections from: TCP or Unix
/// domain.
///
/// Made from a [`TcpListener`] or a [`UnixListener`] of your own (`into()`),
/// by [`Listener::bind_unix`], or inherited ([`listen_fds`](crate::activation::listen_fds)).
/// A listener made by [`bind_unix`](Listener::bind_unix) owns its socket
/// file: the server removes the file when it is closed or dropped (see
/// [`Server::bind_unix`](crate::Server::bind_unix)), unless it handed the
/// socket on to a new copy of the program.
#[derive(Debug)]
pub struct Listener {
    socket: ListenSocket,
    /// The socket file this listener removes when the server is done.
    socket_file: Option<SocketFile>,
}

#[derive(Debug)]
enum ListenSocket {
    Tcp(TcpListener),
    Unix(UnixListener),
}

/// A Unix socket's file, owned by its listener: removed by
/// [`Listener::release_socket_file`], and only if the path still names the
/// file that was made for it (the same device and inode).
#[derive(Debug)]
struct SocketFile {
    path: PathBuf,
    dev: u64,
    ino: u64,
    /// Still ours: neither removed nor handed on.
    owned: AtomicBool,
    /// Handed on by a restart: ours to remove only once this process has
    /// said it serves ([`said_ready`]); until then the old process, still
    /// serving, owns it.
    after_ready: bool,
}

impl SocketFile {
    /// The file now at `path`, owned.
    fn at(path: &Path) -> io::Result<SocketFile> {
        let meta = std::fs::symlink_metadata(path)?;
        Ok(SocketFile {
            path: path.to_path_buf(),
            dev: meta.dev(),
            ino: meta.ino(),
            owned: AtomicBool::new(true),
            after_ready: false,
        })
    }
}

/// Whether this process has said it serves
/// ([`notify_ready`](crate::activation::notify_ready)).
static READY: AtomicBool = AtomicBool::new(false);

/// Records that this process has said it serves: the socket files a
/// restart handed on are its own from now on.
pub(crate) fn said_ready() {
    READY.store(true, Ordering::SeqCst);
}

impl Listener {
    /// Listens on a Unix domain socket at `path` (backlog
    /// [`LISTEN_BACKLOG`]), which the listener owns: see
    /// [`socket_file`](Listener::socket_file).
    ///
    /// A file already at `path` is replaced only if it is a stale socket,
    /// one that refuses connections (its server is gone). A socket that
    /// accepts connections is an error of kind `AddrInUse`, and any other
    /// kind of file one of kind `AlreadyExists`; either is left untouched.
    pub fn bind_unix(path: impl AsRef<Path>) -> io::Result<Listener> {
        use socket2::{Domain, SockAddr, Socket, Type};
        let path = path.as_ref();
        remove_stale_socket(path)?;
        let socket = Socket::new(Domain::UNIX, Type::STREAM, None)?;
        socket.bind(&SockAddr::unix(path)?)?;
        let socket_file = SocketFile::at(path)?;
        let listener = Listener {
            socket: ListenSocket::Unix(UnixListener::from(std::os::fd::OwnedFd::from(socket))),
            socket_file: Some(socket_file),
        };
        // (From here on, an error drops the listener, but the file stays:
        // remove it.)
        if let Err(e) = rustix::net::listen(&listener, LISTEN_BACKLOG) {
            listener.release_socket_file(true);
            return Err(e.into());
        }
        Ok(listener)
    }

    /// A Unix listener inherited from a process that owned its file and
    /// handed it on (a restart): this one owns the file, if it is still
    /// there, once it has said it serves.
    pub(crate) fn adopt_socket_file(mut self) -> Listener {
        if let Ok(ServerAddress::Unix(path)) = self.local_addr()
            && !path.as_os_str().is_empty()
            && !path.as_os_str().as_encoded_bytes().starts_with(b"@")
        {
            self.socket_file = SocketFile::at(&path).ok().map(|file| SocketFile {
                after_ready: true,
                ..file
            });
        }
        self
    }

    /// The TCP listener, if it is one.
    pub fn tcp(&self) -> Option<&TcpListener> {
        match &self.socket {
            ListenSocket::Tcp(l) => Some(l),
            ListenSocket::Unix(_) => None,
        }
    }

    /// The Unix domain listener, if it is one.
    pub fn unix(&self) -> Option<&UnixListener> {
        match &self.socket {
            ListenSocket::Unix(l) => Some(l),
            ListenSocket::Tcp(_) => None,
        }
    }

    /// The address it listens on.
    pub fn local_addr(&self) -> io::Result<ServerAddress> {
        match &self.socket {
            ListenSocket::Tcp(l) => l.local_addr().map(ServerAddress::Tcp),
            ListenSocket::Unix(l) => {
                let addr = l.local_addr()?;
                if let Some(path) = addr.as_pathname() {
                    return Ok(ServerAddress::Unix(path.to_path_buf()));
                }
                use std::os::linux::net::SocketAddrExt;
                use std::os::unix::ffi::OsStrExt;
                // Abstract: `@name`, as systemd writes it; unnamed: empty.
                let mut name = std::ffi::OsString::new();
                if let Some(abstract_name) = addr.as_abstract_name() {
                    name.push("@");
                    name.push(std::ffi::OsStr::from_bytes(abstract_name));
                }
                Ok(ServerAddress::Unix(name.into()))
            }
        }
    }

    /// The socket file this listener's server removes when it is closed:
    /// the one [`bind_unix`](Listener::bind_unix) made, or one handed on by
    /// the process that made it (a restart). `None` for TCP, for a Unix
    /// listener made elsewhere (yours, or systemd's), and once the file
    /// has been removed or handed on.
    pub fn socket_file(&self) -> Option<&Path> {
        self.socket_file
            .as_ref()
            .filter(|f| f.owned.load(Ordering::SeqCst))
            .map(|f| f.path.as_path())
    }

    /// Gives up the socket file, once: removes it if `remove` (and the path
    /// still names the file made for this socket, and, for a file a
    /// restart handed on, this process has said it serves), or leaves it
    /// to whoever it was handed on to.
    pub(crate) fn release_socket_file(&self, remove: bool) {
        let Some(file) = &self.socket_file else {
            return;
        };
        if !file.owned.swap(false, Ordering::SeqCst) || !remove {
            return;
        }
        if file.after_ready && !READY.load(Ordering::SeqCst) {
            return;
        }
        if let Ok(meta) = std::fs::symlink_metadata(&file.path)
            && meta.dev() == file.dev
            && meta.ino() == file.ino
        {
            let _ = std::fs::remove_file(&file.path);
        }
    }

    pub(crate) fn set_nonblocking(&self, nonblocking: bool) -> io::Result<()> {
        match &self.socket {
            ListenSocket::Tcp(l) => l.set_nonblocking(nonblocking),
            ListenSocket::Unix(l) => l.set_nonblocking(nonblocking),
        }
    }

    /// Accepts one connection, non-blocking and close-on-exec (`accept4`),
    /// with its peer's address: `Ok(None)` for a TCP connection whose
    /// address cannot be read (it is closed).
    pub(crate) fn accept(&self) -> rustix::io::Result<Option<(Stream, ClientAddress)>> {
        use rustix::net::SocketFlags;
        let flags = SocketFlags::NONBLOCK | SocketFlags::CLOEXEC;
        match &self.socket {
            ListenSocket::Tcp(l) => {
                let (fd, addr) = rustix::net::acceptfrom_with(l, flags)?;
                let Some(peer) = addr.and_then(|a| SocketAddr::try_from(a).ok()) else {
                    return Ok(None);
                };
                let stream = TcpStream::from(fd);
                let _ = stream.set_nodelay(true);
                Ok(Some((Stream::Tcp(stream), ClientAddress::Tcp(peer))))
            }
            ListenSocket::Unix(l) => {
                let fd = rustix::net::accept_with(l, flags)?;
                Ok(Some((
                    Stream::Unix(UnixStream::from(fd)),
                    ClientAddress::Unix,
                )))
            }
        }
    }
}

impl From<TcpListener> for Listener {
    fn from(listener: TcpListener) -> Self {
        Listener {
            socket: ListenSocket::Tcp(listener),
            socket_file: None,
        }
    }
}

/// A Unix listener made elsewhere: its file is not this listener's to
/// remove.
impl From<UnixListener> for Listener {
    fn from(listener: UnixListener) -> Self {
        Listener {
            socket: ListenSocket::Unix(listener),
            socket_file: None,
        }
    }
}

impl AsFd for Listener {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match &self.socket {
            ListenSocket::Tcp(l) => l.as_fd(),
            ListenSocket::Unix(l) => l.as_fd(),
        }
    }
}

/// Makes room for a socket at `path`: nothing there, or a stale socket
/// (one that refuses connections), which is removed. A live socket, or a
/// file of another kind, is an error and stays.
fn remove_stale_socket(path: &Path) -> io::Result<()> {
    use socket2::{Domain, SockAddr, Socket, Type};
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            "a file that is not a socket is in the way (not replaced)",
        ));
    }
    // Non-blocking, so that a live server with a full queue answers
    // EAGAIN at once instead of making us wait.
    let probe = Socket::new(Domain::UNIX, Type::STREAM, None)?;
    probe.set_nonblocking(true)?;
    match probe.connect(&SockAddr::unix(path)?) {
        Err(e) if e.raw_os_error() == Some(libc::ECONNREFUSED) => std::fs::remove_file(path),
        Ok(()) => Err(live_socket()),
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::EAGAIN) | Some(libc::EINPROGRESS)
            ) =>
        {
            Err(live_socket())
        }
        Err(e) => Err(e),
    }
}

fn live_socket() -> io::Error {
    io::Error::new(
        io::ErrorKind::AddrInUse,
        "a server is listening on this socket already (not replaced)",
    )
}

/// A connected socket: TCP or Unix domain. Reads and writes through
/// `&self`, as `&TcpStream` does; each is one branch on the kind and the
/// same system call as the plain stream's.
#[derive(Debug)]
pub(crate) enum Stream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl Stream {
    #[inline]
    pub(crate) fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => Read::read(&mut &*s, buf),
            Stream::Unix(s) => Read::read(&mut &*s, buf),
        }
    }

    #[inline]
    pub(crate) fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => Write::write_vectored(&mut &*s, bufs),
            Stream::Unix(s) => Write::write_vectored(&mut &*s, bufs),
        }
    }

    /// Reads without consuming (`MSG_PEEK`).
    pub(crate) fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Stream::Tcp(s) => s.peek(buf),
            Stream::Unix(s) => rustix::net::recv(s, buf, rustix::net::RecvFlags::PEEK)
                .map(|(n, _)| n)
                .map_err(io::Error::from),
        }
    }

    pub(crate) fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        match self {
            Stream::Tcp(s) => s.shutdown(how),
            Stream::Unix(s) => s.shutdown(how),
        }
    }
}

impl AsFd for Stream {
    fn as_fd(&self) -> BorrowedFd<'_> {
        match self {
            Stream::Tcp(s) => s.as_fd(),
            Stream::Unix(s) => s.as_fd(),
        }
    }
}

impl Read for &Stream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        Stream::read(self, buf)
    }
}

impl Write for &Stream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Stream::write_vectored(self, &[IoSlice::new(buf)])
    }

    fn write_vectored(&mut self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        Stream::write_vectored(self, bufs)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_show_as_python_shows_them() {
        let v6: SocketAddr = "[2001:db8::1]:8080".parse().unwrap();
        assert_eq!(ClientAddress::from(v6).to_string(), "[2001:db8::1]:8080");
        assert_eq!(ClientAddress::from(v6).host().to_string(), "2001:db8::1");
        assert_eq!(ClientAddress::Unix.host().to_string(), "unix");
        assert_eq!(format!("{:?}", ClientAddress::Unix), "unix");
        assert_eq!(
            format!("{:?}", ServerAddress::from(v6)),
            "[2001:db8::1]:8080"
        );
        let unix = ServerAddress::Unix("/tmp/s".into());
        assert!(unix.to_socket_addrs().is_err());
        assert_eq!(unix.as_client(), ClientAddress::Unix);
    }

    #[test]
    fn the_stale_rule() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        // Nothing there: bound, and owned.
        let first = Listener::bind_unix(&path).unwrap();
        assert_eq!(first.socket_file(), Some(path.as_path()));
        // Live: refused, untouched.
        let e = Listener::bind_unix(&path).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
        assert!(path.exists());
        // Stale (its listener closed, the file left): replaced.
        first.release_socket_file(false);
        drop(first);
        let second = Listener::bind_unix(&path).unwrap();
        // Another kind of file: refused, untouched.
        let other = dir.path().join("plain");
        std::fs::write(&other, "keep").unwrap();
        let e = Listener::bind_unix(&other).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::AlreadyExists);
        assert_eq!(std::fs::read_to_string(&other).unwrap(), "keep");
        // Released with removal: gone, once.
        second.release_socket_file(true);
        assert!(!path.exists());
        assert_eq!(second.socket_file(), None);
    }

    #[test]
    fn a_file_handed_on_is_not_removed_before_ready() {
        // (No unit test says it is ready: READY stays false here.)
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let listener = Listener::bind_unix(&path).unwrap();
        listener.release_socket_file(false);
        let inherited = Listener::from(listener.unix().unwrap().try_clone().unwrap());
        let adopted = inherited.adopt_socket_file();
        assert_eq!(adopted.socket_file(), Some(path.as_path()));
        adopted.release_socket_file(true);
        assert!(path.exists());
        assert_eq!(adopted.socket_file(), None);
    }

    #[test]
    fn an_abstract_socket_shows_its_name_after_an_at() {
        use std::os::linux::net::SocketAddrExt;
        let name = format!("basehttp-test-{}", std::process::id());
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(&name).unwrap();
        let listener = Listener::from(UnixListener::bind_addr(&addr).unwrap());
        let local = listener.local_addr().unwrap();
        assert_eq!(local.to_string(), format!("unix:@{name}"));
        assert_eq!(listener.socket_file(), None);
    }

    #[test]
    fn a_file_put_in_its_place_is_not_removed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s");
        let listener = Listener::bind_unix(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, "someone else's").unwrap();
        listener.release_socket_file(true);
        assert!(path.exists());
    }
}
