//! Sockets: the acceptor and one reader plus one writer thread per connection. Readers
//! frame and parse lines and hand them to the executive thread; writers drain the
//! connection's [`Outbox`].

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::Sender;
use std::thread;

use crate::framing::{Frame, LineReader};
use crate::outbox::Outbox;
use crate::wire::{Request, error_reply, is_blank, parse_request};

/// Connection id.
pub type ConnId = u64;

/// Messages to the executive thread.
pub enum ToCore {
    /// A connection was accepted.
    Open {
        /// Its id.
        conn: ConnId,
        /// Its output queue.
        outbox: Arc<Outbox>,
    },
    /// A line arrived (parsed, or the protocol error for it).
    Request {
        /// The connection.
        conn: ConnId,
        /// The request or the error text.
        req: Result<Request, String>,
    },
    /// The client closed its side (or the socket failed).
    Closed {
        /// The connection.
        conn: ConnId,
    },
    /// SIGINT/SIGTERM.
    Shutdown,
}

/// Shared state of the acceptor.
pub struct Acceptor {
    /// The listener.
    pub listener: TcpListener,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Longest line.
    pub max_line: usize,
    /// Most connections.
    pub max_connections: usize,
    /// Set when the server stops accepting.
    pub stopping: Arc<AtomicBool>,
    /// Live connections.
    pub live: Arc<AtomicUsize>,
    /// Last event seq, for heartbeats.
    pub cursor: Arc<AtomicU64>,
}

const THREAD_STACK: usize = 256 << 10;

impl Acceptor {
    /// Accept until `stopping` is set.
    pub fn run(self, core: Sender<ToCore>) {
        let mut next: ConnId = 1;
        for stream in self.listener.incoming() {
            if self.stopping.load(Ordering::SeqCst) {
                break;
            }
            let Ok(stream) = stream else {
                continue;
            };
            let _ = stream.set_nodelay(true);
            if self.live.load(Ordering::SeqCst) >= self.max_connections {
                reject(stream);
                continue;
            }
            self.live.fetch_add(1, Ordering::SeqCst);
            let conn = next;
            next += 1;
            if let Err(stream) = self.spawn(conn, stream, core.clone()) {
                self.live.fetch_sub(1, Ordering::SeqCst);
                reject(stream);
            }
        }
    }

    fn spawn(
        &self,
        conn: ConnId,
        stream: TcpStream,
        core: Sender<ToCore>,
    ) -> Result<(), TcpStream> {
        let (Ok(write_half), Ok(outbox_half)) = (stream.try_clone(), stream.try_clone()) else {
            return Err(stream);
        };
        let outbox = Arc::new(Outbox::new(outbox_half));
        let live = self.live.clone();
        let cursor = self.cursor.clone();
        let writer_box = outbox.clone();
        let writer = thread::Builder::new()
            .name(format!("hsx-conn-{conn}-w"))
            .stack_size(THREAD_STACK)
            .spawn(move || {
                writer_box.run_writer(write_half, cursor);
                live.fetch_sub(1, Ordering::SeqCst);
            });
        if writer.is_err() {
            return Err(stream);
        }
        if core
            .send(ToCore::Open {
                conn,
                outbox: outbox.clone(),
            })
            .is_err()
        {
            outbox.kill();
            return Ok(());
        }
        let max_line = self.max_line;
        let reader = thread::Builder::new()
            .name(format!("hsx-conn-{conn}-r"))
            .stack_size(THREAD_STACK)
            .spawn(move || read_loop(conn, stream, max_line, core));
        if reader.is_err() {
            outbox.kill();
        }
        Ok(())
    }
}

fn reject(mut stream: TcpStream) {
    use std::io::Write;
    let mut line = error_reply("too_many_connections");
    line.push('\n');
    let _ = stream.write_all(line.as_bytes());
    let _ = stream.shutdown(std::net::Shutdown::Both);
}

fn read_loop(conn: ConnId, stream: TcpStream, max_line: usize, core: Sender<ToCore>) {
    let mut reader = LineReader::new(stream, max_line);
    loop {
        let msg = match reader.next_frame() {
            Ok(Some(Frame::Line(line))) => {
                if is_blank(&line) {
                    continue;
                }
                ToCore::Request {
                    conn,
                    req: parse_request(&line),
                }
            }
            Ok(Some(Frame::TooLong)) => ToCore::Request {
                conn,
                req: Err(format!("line_too_long:{max_line}")),
            },
            Ok(None) | Err(_) => break,
        };
        if core.send(msg).is_err() {
            return;
        }
    }
    let _ = core.send(ToCore::Closed { conn });
}
