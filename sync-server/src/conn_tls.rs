//! Connections the HTTPS server accepts: the plain listener's guard
//! ([`crate::conn`]: at most a fixed number at once, none kept open by a
//! client gone quiet) under TLS, plus a deadline on the TLS handshake.
//!
//! The idleness rule applies to the TCP bytes under TLS, so it covers the
//! handshake, half-sent headers, a trickled body and an idle keep-alive
//! alike, and a slow but steady upload is never cut. A handshake must also
//! finish within [`Config::tls_handshake_timeout`]: a client trickling a
//! byte of its hello now and then would otherwise hold its slot without
//! ever sending a request. Handshakes run on tasks of their own, so a slow
//! one never delays the next connection.
//!
//! [`Config::tls_handshake_timeout`]: crate::Config::tls_handshake_timeout

use crate::conn::{GuardedListener, GuardedStream, PeerAddr};
use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

/// What a [`TlsListener`] guards against; see the module doc.
#[derive(Debug, Clone, Copy)]
pub struct TlsLimits {
    pub max_connections: usize,
    pub idle: Duration,
    pub handshake: Duration,
}

/// A TLS listener whose connections hold a slot of a [`GuardedListener`]
/// from TCP accept until closed, handshake included.
pub struct TlsListener {
    ready: mpsc::Receiver<(TlsStream<GuardedStream>, SocketAddr)>,
    local: SocketAddr,
    accepting: tokio::task::JoinHandle<()>,
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        // Stops accepting and closes the listening socket with the server.
        self.accepting.abort();
    }
}

impl TlsListener {
    pub fn new(
        inner: TcpListener,
        config: Arc<rustls::ServerConfig>,
        limits: TlsLimits,
    ) -> io::Result<Self> {
        let local = inner.local_addr()?;
        let acceptor = TlsAcceptor::from(config);
        let mut guarded = GuardedListener::new(inner, limits.max_connections, limits.idle);
        // Connections wait here only between their handshake and the
        // server's next accept: the slots bound them anyway.
        let (done, ready) = mpsc::channel(limits.max_connections.clamp(1, 64));
        let accepting = tokio::spawn(async move {
            loop {
                let (stream, addr) = guarded.accept().await;
                let acceptor = acceptor.clone();
                let done = done.clone();
                tokio::spawn(async move {
                    match tokio::time::timeout(limits.handshake, acceptor.accept(stream)).await {
                        Ok(Ok(tls)) => {
                            let _ = done.send((tls, addr)).await;
                        }
                        Ok(Err(e)) => tracing::debug!(error = %e, %addr, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%addr, "TLS handshake too slow; closed"),
                    }
                });
            }
        });
        Ok(Self {
            ready,
            local,
            accepting,
        })
    }
}

impl Listener for TlsListener {
    type Io = TlsStream<GuardedStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accepting task is gone only when this listener is dropped.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> io::Result<Self::Addr> {
        Ok(self.local)
    }
}

impl Connected<IncomingStream<'_, TlsListener>> for PeerAddr {
    fn connect_info(stream: IncomingStream<'_, TlsListener>) -> Self {
        Self(*stream.remote_addr())
    }
}
