//! The socket source: Spark's `socket` format (`TextSocketMicroBatchStream`). It connects to a
//! TCP server and reads UTF-8 lines; a background task buffers them with the time they arrived,
//! and offsets count lines.

use std::collections::VecDeque;
use std::net::ToSocketAddrs;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, BufReader};
use tokio::net::TcpStream;
use tokio::task::JoinHandle;

use crate::arrivals::Arrivals;
use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::row::TextLine;

use super::{ReadLimit, RowChunk, Source, SourceContext};

/// How long `open` waits for the first connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The first wait before reconnecting; it doubles after each failed attempt.
const INITIAL_BACKOFF: Duration = Duration::from_millis(100);
/// The longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// Reads lines of text from a TCP server (Spark's `socket` format with `includeTimestamp`):
/// each line becomes a [`TextLine`] stamped with the processing time it arrived at. Meant for
/// tests and demos, as in Spark: the lines live only in memory until their batch commits, so a
/// restarted query does not see them again.
///
/// The source connects when the query starts (an unreachable server fails `start`). When the
/// server closes the connection or it breaks, by default the query processes every line
/// received so far and then fails with an error saying the connection was closed; with
/// [`SocketSource::reconnect`] it reconnects instead, waiting 100 ms, then twice as long after
/// each failed attempt, up to 5 s, and goes on with the lines of the new connection.
///
/// ```no_run
/// use sluice::source::SocketSource;
/// let source = SocketSource::new("localhost", 9999);
/// assert_eq!(source.to_string(), "TextSocketV2[host: localhost, port: 9999]");
/// ```
#[derive(Debug)]
pub struct SocketSource {
    host: String,
    port: u16,
    reconnect: bool,
    buffer: Arc<Mutex<Buffer>>,
    task: Option<JoinHandle<()>>,
    snapshot: Option<u64>,
    /// Whether line numbering has been aligned with the query's first start offset.
    positioned: bool,
}

/// Lines received and not yet committed.
#[derive(Debug, Default)]
pub(crate) struct Buffer {
    /// Lines before this count were committed and dropped.
    pub(crate) base: u64,
    pub(crate) lines: VecDeque<TextLine>,
    /// Why reading stopped for good (no reconnect).
    pub(crate) closed: Option<String>,
    /// Signalled at each line and when reading stops, for a continuous reader waiting for
    /// lines. (Signalled with the buffer locked; a waiter never locks the buffer while it
    /// holds the signal's lock.)
    pub(crate) arrivals: Arc<Arrivals>,
}

impl Buffer {
    pub(crate) fn total(&self) -> u64 {
        self.base + self.lines.len() as u64
    }
}

impl std::fmt::Display for SocketSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TextSocketV2[host: {}, port: {}]", self.host, self.port)
    }
}

impl SocketSource {
    /// Reads from `host:port` (Spark's `host` and `port` options).
    pub fn new(host: impl Into<String>, port: u16) -> Self {
        SocketSource {
            host: host.into(),
            port,
            reconnect: false,
            buffer: Arc::new(Mutex::new(Buffer::default())),
            task: None,
            snapshot: None,
            positioned: false,
        }
    }

    /// Reconnect with backoff when the connection ends, instead of failing the query.
    pub fn reconnect(mut self, reconnect: bool) -> Self {
        self.reconnect = reconnect;
        self
    }

    /// The buffer the reading task fills (for a continuous reader).
    pub(crate) fn buffer(&self) -> &Arc<Mutex<Buffer>> {
        &self.buffer
    }

    fn address(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    pub(crate) fn error(&self, message: impl Into<String>) -> Error {
        Error::Source {
            source_name: self.to_string(),
            message: message.into(),
        }
    }

    fn connect(&self) -> Result<std::net::TcpStream> {
        let address = self.address();
        let addrs = address
            .to_socket_addrs()
            .map_err(|e| self.error(format!("cannot resolve {address}: {e}")))?;
        let mut last = None;
        for addr in addrs {
            match std::net::TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
                Ok(stream) => return Ok(stream),
                Err(e) => last = Some(e),
            }
        }
        Err(self.error(match last {
            Some(e) => format!("cannot connect to {address}: {e}"),
            None => format!("cannot connect to {address}: no address"),
        }))
    }
}

impl Drop for SocketSource {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

/// Reads lines into the buffer until the connection ends, then reconnects or records why it
/// stopped.
async fn read_lines(
    address: String,
    first: std::net::TcpStream,
    buffer: Arc<Mutex<Buffer>>,
    clock: Clock,
    reconnect: bool,
) {
    let mut next = TcpStream::from_std(first).map_err(|e| e.to_string());
    let mut backoff = INITIAL_BACKOFF;
    loop {
        let ended = match next {
            Ok(stream) => {
                backoff = INITIAL_BACKOFF;
                read_connection(BufReader::new(stream), &buffer, clock).await
            }
            Err(e) => format!("cannot connect to {address}: {e}"),
        };
        if !reconnect {
            let mut buffer = buffer.lock().expect("socket buffer lock");
            buffer.closed = Some(ended);
            buffer.arrivals.signal();
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
        next = TcpStream::connect(&address)
            .await
            .map_err(|e| e.to_string());
    }
}

/// Reads one connection's lines; returns how it ended.
pub(crate) async fn read_connection(
    mut reader: impl AsyncBufRead + Unpin,
    buffer: &Mutex<Buffer>,
    clock: Clock,
) -> String {
    let mut line = Vec::new();
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line).await {
            Ok(0) => return "the server closed the connection".to_string(),
            Ok(_) => {
                // A last line without a newline still counts, as Java's `readLine` returns it.
                let text = line.strip_suffix(b"\n").unwrap_or(&line);
                let text = text.strip_suffix(b"\r").unwrap_or(text);
                let row = TextLine {
                    value: String::from_utf8_lossy(text).into_owned(),
                    timestamp: clock.now(),
                };
                let mut buffer = buffer.lock().expect("socket buffer lock");
                buffer.lines.push_back(row);
                buffer.arrivals.signal();
            }
            Err(e) => return format!("the connection failed: {e}"),
        }
    }
}

impl Source for SocketSource {
    type Row = TextLine;
    type Offset = u64;

    fn description(&self) -> String {
        self.to_string()
    }

    fn open(&mut self, ctx: &SourceContext) -> Result<()> {
        let stream = self.connect()?;
        stream
            .set_nonblocking(true)
            .map_err(|e| self.error(format!("cannot configure the socket: {e}")))?;
        let task = read_lines(
            self.address(),
            stream,
            Arc::clone(&self.buffer),
            ctx.clock,
            self.reconnect,
        );
        self.task = Some(crate::async_runtime::handle().spawn(task));
        Ok(())
    }

    fn latest_offset(&mut self, start: Option<&u64>, _limit: ReadLimit) -> Result<Option<u64>> {
        let mut buffer = self.buffer.lock().expect("socket buffer lock");
        let start = start.copied().unwrap_or(0);
        if !std::mem::replace(&mut self.positioned, true) {
            // A query restarted from a checkpoint has processed `start` lines of an earlier
            // connection: this connection's lines follow them (lines sent while the query was
            // down are lost; a socket cannot replay).
            let shift = start.saturating_sub(buffer.base);
            buffer.base += shift;
            if let Some(snapshot) = &mut self.snapshot {
                *snapshot += shift;
            }
        }
        let total = buffer.total();
        if let Some(snapshot) = self.snapshot {
            return Ok((snapshot > 0).then_some(snapshot));
        }
        if let Some(why) = &buffer.closed
            && start >= total
        {
            return Err(self.error(format!(
                "{why} after {total} lines; every line received was processed"
            )));
        }
        Ok((total > 0).then_some(total))
    }

    fn get_batch(&mut self, start: Option<&u64>, end: &u64) -> Result<Vec<RowChunk<TextLine>>> {
        let buffer = self.buffer.lock().expect("socket buffer lock");
        let start = start.copied().unwrap_or(0);
        if start < buffer.base || *end > buffer.total() || start > *end {
            return Err(self.error(format!(
                "lines {start}..{end} are not buffered (buffered: {}..{})",
                buffer.base,
                buffer.total()
            )));
        }
        let from = (start - buffer.base) as usize;
        let to = (*end - buffer.base) as usize;
        Ok(vec![RowChunk::Owned(
            buffer.lines.range(from..to).cloned().collect(),
        )])
    }

    fn commit(&mut self, end: &u64) -> Result<()> {
        let mut buffer = self.buffer.lock().expect("socket buffer lock");
        let drop = end
            .saturating_sub(buffer.base)
            .min(buffer.lines.len() as u64);
        buffer.lines.drain(..drop as usize);
        buffer.base += drop;
        Ok(())
    }

    fn prepare_for_available_now(&mut self) -> Result<()> {
        self.snapshot = Some(self.buffer.lock().expect("socket buffer lock").total());
        Ok(())
    }

    fn stop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;
    use std::net::TcpListener;

    fn wait_for_lines(source: &mut SocketSource, n: u64) -> u64 {
        for _ in 0..500 {
            if let Some(latest) = source.latest_offset(None, ReadLimit::AllAvailable).unwrap()
                && latest >= n
            {
                return latest;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("{n} lines did not arrive");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn reads_lines_commits_and_fails_clearly_when_the_server_leaves() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut source = SocketSource::new("127.0.0.1", port);
        source.open(&SourceContext::new(Clock::system())).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        assert_eq!(
            source.latest_offset(None, ReadLimit::Configured).unwrap(),
            None
        );
        server.write_all(b"hello world\r\nsecond\n").unwrap();
        assert_eq!(wait_for_lines(&mut source, 2), 2);
        let rows = source.get_batch(None, &2).unwrap();
        let values: Vec<&str> = rows[0].iter().map(|l| l.value.as_str()).collect();
        assert_eq!(values, ["hello world", "second"]);
        source.commit(&1).unwrap();
        // The same range again gives the same lines, except those committed.
        assert_eq!(
            source.get_batch(Some(&1), &2).unwrap()[0][0].value,
            "second"
        );
        assert!(source.get_batch(None, &2).is_err());
        server.write_all(b"last, no newline").unwrap();
        drop(server);
        assert_eq!(wait_for_lines(&mut source, 3), 3);
        assert_eq!(
            source.get_batch(Some(&2), &3).unwrap()[0][0].value,
            "last, no newline"
        );
        // Lines not yet processed are still served; once all are, the query fails clearly.
        for _ in 0..500 {
            if source.buffer.lock().unwrap().closed.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(
            source
                .latest_offset(Some(&2), ReadLimit::Configured)
                .unwrap(),
            Some(3)
        );
        let err = source
            .latest_offset(Some(&3), ReadLimit::Configured)
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "source TextSocketV2[host: 127.0.0.1, port: {port}]: the server closed the connection after 3 lines; every line received was processed"
            )
        );
        source.stop();
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn reconnects_after_the_server_goes_away() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut source = SocketSource::new("127.0.0.1", port).reconnect(true);
        source.open(&SourceContext::new(Clock::system())).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        server.write_all(b"a\n").unwrap();
        drop(server);
        let (mut server, _) = listener.accept().unwrap();
        server.write_all(b"b\n").unwrap();
        assert_eq!(wait_for_lines(&mut source, 2), 2);
        let rows = source.get_batch(None, &2).unwrap();
        let values: Vec<&str> = rows[0].iter().map(|l| l.value.as_str()).collect();
        assert_eq!(values, ["a", "b"]);
        assert!(source.buffer.lock().unwrap().closed.is_none());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 1)]
    async fn a_restarted_query_numbers_new_lines_after_its_checkpoint() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mut source = SocketSource::new("127.0.0.1", port);
        source.open(&SourceContext::new(Clock::system())).unwrap();
        let (mut server, _) = listener.accept().unwrap();
        server.write_all(b"x\ny\n").unwrap();
        for _ in 0..500 {
            if source.buffer.lock().unwrap().lines.len() == 2 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        source.prepare_for_available_now().unwrap();
        // The checkpoint says 100 lines were processed before the restart.
        assert_eq!(
            source
                .latest_offset(Some(&100), ReadLimit::Configured)
                .unwrap(),
            Some(102)
        );
        let rows = source.get_batch(Some(&100), &102).unwrap();
        let values: Vec<&str> = rows[0].iter().map(|l| l.value.as_str()).collect();
        assert_eq!(values, ["x", "y"]);
    }

    #[test]
    fn an_unreachable_server_fails_the_start() {
        let port = {
            let listener = TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let mut source = SocketSource::new("127.0.0.1", port);
        let err = source
            .open(&SourceContext::new(Clock::system()))
            .unwrap_err();
        assert!(
            err.to_string().starts_with(&format!(
                "source TextSocketV2[host: 127.0.0.1, port: {port}]: cannot connect to 127.0.0.1:{port}:"
            )),
            "{err}"
        );
    }
}
