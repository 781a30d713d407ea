//! HTTPS: TLS sessions (rustls) under the same HTTP engine.
//!
//! Set [`ServerConfig::tls`](crate::config::ServerConfig::tls) — usually
//! from PEM files with `load_server_config` — and every connection of the server
//! speaks TLS. The handshake is driven by whichever worker sees the
//! connection become readable, never by the accepting thread, and is bounded
//! by [`ServerConfig::handshake_timeout`](crate::config::ServerConfig::handshake_timeout),
//! so a slow or silent client cannot stall new connections. Requests already
//! decrypted inside the session are served at once, and keep-alive and
//! pipelining work as over plain TCP. File bodies are copied through the
//! session (`sendfile` cannot encrypt) in constant memory.
//!
//! Everything here but the engine's plumbing needs the `tls` cargo feature
//! (on by default). Without it the crate does not build rustls, and
//! [`TlsConfig`] has no values, so a server
//! cannot be asked to speak TLS.

use crate::config::TlsConfig;
#[cfg(feature = "tls")]
use crate::net::Stream;
use crate::transport::{Socket, Transport};
#[cfg(feature = "tls")]
use rustls::pki_types::pem::PemObject;
#[cfg(feature = "tls")]
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::cell::RefCell;
use std::io::{self, IoSlice};
#[cfg(feature = "tls")]
use std::io::{Read, Write};
#[cfg(feature = "tls")]
use std::path::Path;
#[cfg(feature = "tls")]
use std::sync::Arc;

#[cfg(feature = "tls")]
pub use rustls;

/// One connection's TLS session.
#[cfg(feature = "tls")]
pub(crate) type Session = rustls::ServerConnection;

/// One connection's TLS session: none can exist without the `tls` feature.
#[cfg(not(feature = "tls"))]
pub(crate) enum Session {}

/// A new server-side session for a connection; `None` if rustls refuses
/// the configuration.
pub(crate) fn new_session(config: &TlsConfig) -> Option<Session> {
    #[cfg(feature = "tls")]
    return rustls::ServerConnection::new(Arc::clone(config)).ok();
    #[cfg(not(feature = "tls"))]
    match *config {}
}

/// Whether the session is still in its handshake.
pub(crate) fn is_handshaking(session: &Session) -> bool {
    #[cfg(feature = "tls")]
    return session.is_handshaking();
    #[cfg(not(feature = "tls"))]
    match *session {}
}

/// Builds a TLS server configuration from PEM files: a certificate chain
/// (leaf first) and its private key (PKCS#8, PKCS#1 or SEC1). ALPN offers
/// `http/1.1`. Errors name the file and what is wrong with it.
///
/// ```no_run
/// use basehttp::{HttpServer, ServerConfig, handler_fn};
///
/// let config = ServerConfig {
///     tls: Some(basehttp::tls::load_server_config("cert.pem".as_ref(), "key.pem".as_ref())?),
///     ..ServerConfig::default()
/// };
/// let handler = handler_fn(|r| Ok(r.send_error(404)?));
/// let server = HttpServer::bind_with_config("127.0.0.1:8443", handler, config)?;
/// # Ok::<(), std::io::Error>(())
/// ```
#[cfg(feature = "tls")]
pub fn load_server_config(cert_chain: &Path, key: &Path) -> io::Result<Arc<rustls::ServerConfig>> {
    let bad = |path: &Path, what: String| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {what}", path.display()),
        )
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(cert_chain)
        .map_err(|e| bad(cert_chain, e.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|e| bad(cert_chain, e.to_string()))?;
    if certs.is_empty() {
        return Err(bad(cert_chain, "no PEM certificate found".into()));
    }
    let key_der = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, e.to_string()))?;
    server_config(certs, key_der).map_err(|e| bad(key, e.to_string()))
}

/// Builds a TLS server configuration from a certificate chain and key
/// already in memory, with the ring crypto provider and ALPN `http/1.1`.
#[cfg(feature = "tls")]
pub fn server_config(
    certs: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
) -> Result<Arc<rustls::ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(certs, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A TLS session over a [`Socket`]: reads decrypt, writes encrypt, and the
/// handshake happens inside the first reads.
pub(crate) struct TlsSocket<'s> {
    socket: &'s Socket<'s>,
    session: RefCell<&'s mut Session>,
}

impl<'s> TlsSocket<'s> {
    pub(crate) fn new(socket: &'s Socket<'s>, session: &'s mut Session) -> Self {
        TlsSocket {
            socket,
            session: RefCell::new(session),
        }
    }

    /// Sends every TLS record the session has queued.
    #[cfg(feature = "tls")]
    fn send_records(&self, session: &mut Session) -> io::Result<()> {
        let mut stream: &Stream = self.socket.stream;
        while session.wants_write() {
            match session.write_tls(&mut stream) {
                Ok(n) => self.socket.count_written(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.socket.wait_writable()?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

#[cfg(feature = "tls")]
impl Transport for TlsSocket<'_> {
    fn read(&self, buf: &mut [u8]) -> io::Result<usize> {
        let mut session = self.session.borrow_mut();
        let mut stream: &Stream = self.socket.stream;
        loop {
            // Plaintext already decrypted comes first: no socket read needed.
            match session.reader().read(buf) {
                Ok(n) => return Ok(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                // The peer closed TCP without close_notify: end of stream.
                Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(0),
                Err(e) => return Err(e),
            }
            self.send_records(&mut session)?;
            match session.read_tls(&mut stream) {
                Ok(0) => return Ok(0),
                Ok(n) => {
                    self.socket.count_read(n);
                    if let Err(e) = session.process_new_packets() {
                        // Send the alert rustls queued, then give up.
                        let _ = self.send_records(&mut session);
                        return Err(io::Error::new(io::ErrorKind::InvalidData, e));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.socket.wait_readable()?,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
    }

    fn write_vectored(&self, bufs: &[IoSlice<'_>]) -> io::Result<usize> {
        let mut session = self.session.borrow_mut();
        let n = session.writer().write_vectored(bufs)?;
        self.send_records(&mut session)?;
        Ok(n)
    }

    fn wait_writable(&self) -> io::Result<()> {
        self.socket.wait_writable()
    }

    fn set_body_rate(&self, rate: Option<crate::config::MinDataRate>) {
        self.socket.set_body_rate(rate);
    }
}

#[cfg(not(feature = "tls"))]
impl Transport for TlsSocket<'_> {
    fn read(&self, _: &mut [u8]) -> io::Result<usize> {
        match **self.session.borrow() {}
    }

    fn write_vectored(&self, _: &[IoSlice<'_>]) -> io::Result<usize> {
        match **self.session.borrow() {}
    }

    fn wait_writable(&self) -> io::Result<()> {
        self.socket.wait_writable()
    }
}
