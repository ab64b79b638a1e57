//! The live page (Spark UI's Structured Streaming tab), its JSON API and Prometheus `/metrics`,
//! for every query of the process (cargo feature `ui`).
//!
//! One line turns it on:
//!
//! ```no_run
//! let ui = stream_runtime::ui::serve("127.0.0.1:4040")?;
//! println!("live page: {}", ui.url());
//! # Ok::<(), stream_runtime::Error>(())
//! ```
//!
//! What it serves:
//!
//! | path | what |
//! |---|---|
//! | `/` | the queries of the process: name, id, status, batches, rates, latest batch duration, watermark, state rows, uptime |
//! | `/queries/{id}` | one query: Spark's streaming-tab charts over its recent batches, its backlog, its latest progress as JSON, its plan |
//! | `/api/queries` | the list, as JSON |
//! | `/api/queries/{id}` | one query: the list's figures, totals, the plan |
//! | `/api/queries/{id}/progress?last=N` | its last `N` progress reports (all it keeps, up to 100, without `last`) |
//! | `/metrics` | counters and gauges per query, in the Prometheus text format |
//!
//! `{id}` is a query id or a run id. The page is one HTML file with its script and style,
//! compiled into the binary; it loads nothing from elsewhere and refreshes itself by polling
//! the JSON API every second while it is open. Nothing runs while nobody is looking: the
//! figures are read from the queries' handles when a request comes, on the server's own
//! thread, so queries never wait for the page (see BENCHMARKS.md for the measurement).

mod api;
mod assets;
mod metrics;

use std::net::{IpAddr, Ipv4Addr, SocketAddr, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

use axum::Router;
use axum::routing::get;
use tokio::sync::oneshot;

use crate::error::{Error, Result};

/// The address [`serve_default`] binds: loopback, Spark UI's port.
pub const DEFAULT_ADDRESS: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 4040);

/// Serves the live page, the JSON API and `/metrics` on `address` until
/// [`UiServer::shutdown`] (or the end of the process), and returns once it listens.
///
/// `address` is `host:port` (`127.0.0.1:4040`, `localhost:4040`, `[::1]:4040`; port `0` picks
/// a free port, see [`UiServer::local_addr`]) or a bare port (`4040`), which binds loopback.
/// Only an explicit non-loopback host (`0.0.0.0:4040`) exposes the page to other machines:
/// it has no authentication, so do that only on a network you trust.
///
/// Dropping the returned handle leaves the server running, as dropping a query's handle
/// leaves the query running.
pub fn serve(address: impl AsRef<str>) -> Result<UiServer> {
    let address = resolve(address.as_ref())?;
    let listener = std::net::TcpListener::bind(address).map_err(|e| {
        Error::io(
            format!("cannot serve the live page on {address} (is the port taken?)"),
            e,
        )
    })?;
    listener
        .set_nonblocking(true)
        .map_err(|e| Error::io("cannot set up the live page's socket", e))?;
    let local_addr = listener
        .local_addr()
        .map_err(|e| Error::io("cannot read the live page's address", e))?;
    let (stop, stopped) = oneshot::channel::<()>();
    // Its own thread and runtime: a request never takes a worker thread from a query.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Error::io("cannot start the live page's runtime", e))?;
    let thread = std::thread::Builder::new()
        .name("sluice-ui".into())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        eprintln!("sluice: the live page cannot listen on {local_addr}: {e}");
                        return;
                    }
                };
                let served = axum::serve(listener, router())
                    .with_graceful_shutdown(async move {
                        let _ = stopped.await;
                    })
                    .await;
                if let Err(e) = served {
                    eprintln!("sluice: the live page on {local_addr} stopped: {e}");
                }
            })
        })
        .map_err(|e| Error::io("cannot start the live page's thread", e))?;
    Ok(UiServer {
        local_addr,
        running: Arc::new(Mutex::new(Some(Running { stop, thread }))),
    })
}

/// [`serve`] on [`DEFAULT_ADDRESS`], `127.0.0.1:4040`.
pub fn serve_default() -> Result<UiServer> {
    serve(DEFAULT_ADDRESS.to_string())
}

/// `host:port` or a bare port (loopback).
fn resolve(address: &str) -> Result<SocketAddr> {
    let address = address.trim();
    if let Ok(port) = address.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    if let Ok(addr) = address.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let invalid = |why: &str| {
        Error::InvalidArgument(format!(
            "invalid live page address `{address}`: {why}; expected host:port (127.0.0.1:4040) or a port (4040)"
        ))
    };
    let mut found = address
        .to_socket_addrs()
        .map_err(|e| invalid(&e.to_string()))?;
    found
        .next()
        .ok_or_else(|| invalid("the host has no address"))
}

fn router() -> Router {
    Router::new()
        .route("/", get(assets::page))
        .route("/queries/{id}", get(assets::page))
        .route("/assets/app.js", get(assets::script))
        .route("/assets/style.css", get(assets::style))
        .route("/api/queries", get(api::queries))
        .route("/api/queries/{id}", get(api::query))
        .route("/api/queries/{id}/progress", get(api::progress))
        .route("/metrics", get(metrics::metrics))
        .fallback(api::not_found)
}

/// A running live page (what [`serve`] returns).
#[derive(Debug, Clone)]
pub struct UiServer {
    local_addr: SocketAddr,
    running: Arc<Mutex<Option<Running>>>,
}

/// What [`UiServer::shutdown`] stops: the signal to the server, and its thread.
#[derive(Debug)]
struct Running {
    stop: oneshot::Sender<()>,
    thread: JoinHandle<()>,
}

impl UiServer {
    /// The address the page listens on (the port chosen, when asked for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The page's address as a URL, `http://127.0.0.1:4040/`.
    pub fn url(&self) -> String {
        format!("http://{}/", self.local_addr)
    }

    /// Stops serving: requests in flight finish, then the port is released. Returns once it is.
    pub fn shutdown(&self) {
        let running = self.running.lock().expect("live page lock").take();
        if let Some(Running { stop, thread }) = running {
            let _ = stop.send(());
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_default_to_loopback() {
        assert_eq!(resolve("4040").unwrap(), DEFAULT_ADDRESS);
        assert_eq!(
            resolve("0.0.0.0:9000").unwrap(),
            "0.0.0.0:9000".parse().unwrap()
        );
        assert_eq!(resolve("[::1]:0").unwrap(), "[::1]:0".parse().unwrap());
        assert!(resolve("localhost:4040").unwrap().ip().is_loopback());
        let err = resolve("no port").unwrap_err().to_string();
        assert!(
            err.starts_with("invalid live page address `no port`"),
            "{err}"
        );
    }

    #[test]
    fn port_zero_picks_a_port_and_shutdown_releases_it() {
        let ui = serve("127.0.0.1:0").unwrap();
        let addr = ui.local_addr();
        assert!(addr.ip().is_loopback());
        assert_ne!(addr.port(), 0);
        assert_eq!(ui.url(), format!("http://{addr}/"));
        let taken = serve(addr.to_string()).unwrap_err().to_string();
        assert!(taken.contains("is the port taken?"), "{taken}");
        ui.shutdown();
        ui.shutdown();
        std::net::TcpListener::bind(addr).expect("the port is free again");
    }
}
