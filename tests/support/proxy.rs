//! A fault-injecting TCP proxy for tests: sits between a client and a
//! server on 127.0.0.1 and can drop, stall, delay or cut connections.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// What the proxy does to the bytes it forwards.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Forward everything.
    None,
    /// Forward nothing (and accept no new connection) until healed.
    Stall,
    /// Hold every chunk this long before forwarding it.
    Delay(Duration),
    /// Refuse new connections (accept and close them at once).
    Refuse,
}

struct Control {
    fault: watch::Sender<Fault>,
    /// Bumped to drop every open connection.
    cuts: watch::Sender<u64>,
    /// When set, the next server→client chunk is cut after this many bytes
    /// and the connection dropped.
    cut_mid_frame: watch::Sender<Option<usize>>,
    /// The servers new connections go to, in turn.
    upstreams: std::sync::Mutex<Vec<SocketAddr>>,
    /// Counts connections, to take the upstreams in turn.
    next: std::sync::atomic::AtomicUsize,
}

impl Control {
    /// A connection to the next upstream that answers, if any.
    async fn connect(&self) -> Option<TcpStream> {
        let upstreams = self
            .upstreams
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        let first = self.next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        for i in 0..upstreams.len() {
            if let Ok(stream) = TcpStream::connect(upstreams[(first + i) % upstreams.len()]).await {
                return Some(stream);
            }
        }
        None
    }
}

/// A running proxy; dropping it stops accepting.
pub struct Proxy {
    addr: SocketAddr,
    control: Arc<Control>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    /// Proxies a new listener on 127.0.0.1 to `upstream`.
    pub async fn start(upstream: SocketAddr) -> Self {
        Self::start_many(vec![upstream]).await
    }

    /// Proxies a new listener on 127.0.0.1 to several servers: each new
    /// connection goes to the next one in turn that accepts it (a load
    /// balancer without sticky sessions).
    pub async fn start_many(upstreams: Vec<SocketAddr>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let control = Arc::new(Control {
            fault: watch::channel(Fault::None).0,
            cuts: watch::channel(0).0,
            cut_mid_frame: watch::channel(None).0,
            upstreams: std::sync::Mutex::new(upstreams),
            next: std::sync::atomic::AtomicUsize::new(0),
        });
        let task = tokio::spawn({
            let control = control.clone();
            async move {
                loop {
                    let Ok((client, _)) = listener.accept().await else {
                        return;
                    };
                    if *control.fault.borrow() == Fault::Refuse {
                        drop(client);
                        continue;
                    }
                    tokio::spawn(pipe(client, control.clone()));
                }
            }
        });
        Self {
            addr,
            control,
            task,
        }
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The servers new connections go to from now on (open ones stay).
    pub fn set_upstreams(&self, upstreams: Vec<SocketAddr>) {
        *self
            .control
            .upstreams
            .lock()
            .unwrap_or_else(|p| p.into_inner()) = upstreams;
    }

    /// Sets the fault for all traffic from now on.
    pub fn set(&self, fault: Fault) {
        self.control.fault.send_replace(fault);
    }

    /// Drops every open connection at once (both directions, no close frame).
    pub fn cut(&self) {
        self.control.cuts.send_modify(|n| *n += 1);
    }

    /// Cuts the next server→client chunk after `bytes` bytes, then drops the
    /// connection: the client sees half a frame.
    pub fn cut_mid_frame(&self, bytes: usize) {
        self.control.cut_mid_frame.send_replace(Some(bytes));
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
        self.cut();
    }
}

async fn pipe(client: TcpStream, control: Arc<Control>) {
    let Some(server) = control.connect().await else {
        return;
    };
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (client_read, client_write) = client.into_split();
    let (server_read, server_write) = server.into_split();
    let mut cuts = control.cuts.subscribe();
    cuts.borrow_and_update();
    let up = forward(client_read, server_write, control.clone(), false);
    let down = forward(server_read, client_write, control.clone(), true);
    tokio::select! {
        _ = up => {}
        _ = down => {}
        _ = cuts.changed() => {}
    }
}

async fn forward(
    mut from: tokio::net::tcp::OwnedReadHalf,
    mut to: tokio::net::tcp::OwnedWriteHalf,
    control: Arc<Control>,
    to_client: bool,
) {
    let mut fault = control.fault.subscribe();
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        // Hold the chunk while stalled.
        loop {
            let current = *fault.borrow_and_update();
            match current {
                Fault::Stall => {
                    if fault.changed().await.is_err() {
                        return;
                    }
                }
                Fault::Delay(delay) => {
                    tokio::time::sleep(delay).await;
                    break;
                }
                Fault::None | Fault::Refuse => break,
            }
        }
        if to_client && let Some(limit) = control.cut_mid_frame.send_replace(None) {
            let _ = to.write_all(&buf[..n.min(limit)]).await;
            return;
        }
        if to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}
