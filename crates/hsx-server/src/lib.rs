//! The HSX executive server (`protocol.md`, `tools.md` §4): the executive and the VM in
//! one process, serving JSON lines over TCP.
//!
//! Threads:
//! * the **executive thread** owns the [`hsx_exec::Executive`] and every piece of protocol
//!   state (sessions, subscriptions, the event bus). It executes requests one at a time,
//!   in arrival order across connections, and between requests runs the auto clock in
//!   batches of about 200 µs, so no lock is ever held across guest execution;
//! * the **acceptor** thread accepts connections;
//! * per connection, a **reader** thread frames and parses lines and sends them to the
//!   executive thread over a channel, and a **writer** thread drains the connection's
//!   [`outbox::Outbox`] (replies and events, whole lines, heartbeats when idle).
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod config;
mod core;
pub mod events;
pub mod framing;
pub mod net;
pub mod outbox;
pub mod sessions;
pub mod wire;

use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize};
use std::sync::mpsc::{Sender, channel};
use std::thread;

pub use config::{LogLevel, ServerConfig};
use net::{Acceptor, ToCore};

/// A bound server, ready to run.
pub struct Server {
    listener: TcpListener,
    addr: SocketAddr,
    config: ServerConfig,
    tx: Sender<ToCore>,
    rx: std::sync::mpsc::Receiver<ToCore>,
}

/// Asks a running server to shut down (SIGINT/SIGTERM).
#[derive(Clone)]
pub struct ShutdownHandle(Sender<ToCore>);

impl ShutdownHandle {
    /// Request a shutdown; the server closes connections and [`Server::run`] returns.
    pub fn shutdown(&self) {
        let _ = self.0.send(ToCore::Shutdown);
    }
}

impl Server {
    /// Bind the listener (`--host`, `--port`).
    pub fn bind(config: ServerConfig) -> io::Result<Server> {
        let listener = TcpListener::bind((config.host.as_str(), config.port))?;
        let addr = listener.local_addr()?;
        let (tx, rx) = channel();
        Ok(Server {
            listener,
            addr,
            config,
            tx,
            rx,
        })
    }

    /// The bound address.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// A handle to stop the server from another thread.
    pub fn shutdown_handle(&self) -> ShutdownHandle {
        ShutdownHandle(self.tx.clone())
    }

    /// Serve until `shutdown` (request or handle). Loads the `--load` images first.
    pub fn run(self) -> io::Result<()> {
        let stopping = Arc::new(AtomicBool::new(false));
        let mut core = core::Core::new(self.config.clone(), stopping.clone(), self.addr);
        core.preload();
        let acceptor = Acceptor {
            listener: self.listener,
            addr: self.addr,
            max_line: self.config.max_line_bytes,
            max_connections: self.config.max_connections,
            stopping,
            live: Arc::new(AtomicUsize::new(0)),
            cursor: core.bus.cursor(),
        };
        let tx = self.tx.clone();
        thread::Builder::new()
            .name("hsx-accept".into())
            .spawn(move || acceptor.run(tx))?;
        let rx = self.rx;
        drop(self.tx);
        let exec = thread::Builder::new()
            .name("hsx-exec".into())
            .spawn(move || core.run(rx))?;
        exec.join()
            .map_err(|_| io::Error::other("executive thread panicked"))
    }
}
