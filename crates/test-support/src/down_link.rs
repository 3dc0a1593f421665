//! A link that is down, on 127.0.0.1: an address that accepts each
//! connection and closes it before any answer, which is what a device sees
//! when its network drops. (A port where nothing listens is something else:
//! the network works and no server is there, `SyncError::NoServer`.)

use std::net::SocketAddr;
use tokio::net::TcpListener;

pub struct DownLink {
    /// `http://127.0.0.1:PORT`: the address a device is joined to.
    pub url: String,
    pub addr: SocketAddr,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for DownLink {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl DownLink {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let task = tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                drop(socket);
            }
        });
        Self {
            url: format!("http://{addr}"),
            addr,
            task,
        }
    }

    /// Brings the link back: frees the address (for a server to listen on
    /// it) once the listener is closed.
    pub async fn stop(self) -> SocketAddr {
        self.task.abort();
        let addr = self.addr;
        // Resolves once the aborted task, and the listener it owns, is dropped.
        let _ = (&mut { self }.task).await;
        addr
    }
}
