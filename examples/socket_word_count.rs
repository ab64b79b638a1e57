//! Spark's quick example, the streaming word count: lines of text from a TCP socket, split into
//! words with `explode(split(...))`, counted per word in complete mode, the whole table printed
//! to the console after every batch.
//!
//! In Spark's guide you type lines into `nc -lk 9999`; the same works here:
//!
//! ```sh
//! nc -lk 9999                                                # in one terminal
//! cargo run --release --example socket_word_count            # in another; runs for 60 seconds
//! ```
//!
//! With `--serve` the example starts its own line server on a loopback port, which sends a
//! line of a poem every 200 ms, so it runs with no setup:
//!
//! ```sh
//! cargo run --release --example socket_word_count -- --serve --seconds 5
//! ```
//!
//! `--host` and `--port` choose the server to read (default `localhost:9999`).

#[path = "common/mod.rs"]
mod common;

use std::io::Write;
use std::net::TcpListener;
use std::thread;
use std::time::Duration;

use sluice::prelude::*;

sluice::pipeline! {
    /// `lines.select(explode(split(lines.value, " ")).alias("word"))`
    pub query Words from TextLine {
        select word = explode(split(value, " "));
    }

    /// `words.groupBy("word").count()`
    pub query WordCounts from Words {
        group by word;
        aggregate count = count(*);
    }
}

/// What the built-in line server sends, a line at a time, over and over.
const POEM: &[&str] = &[
    "the stream flows on",
    "and the words flow with it",
    "count the words as the stream flows",
];

/// Starts a line server on a free loopback port: it accepts one connection and sends a line of
/// [`POEM`] every 200 ms until the reader goes away. Returns the port.
fn serve_lines() -> std::io::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    thread::spawn(move || {
        let Ok((mut connection, _)) = listener.accept() else {
            return;
        };
        for line in POEM.iter().cycle() {
            if writeln!(connection, "{line}").is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(200));
        }
    });
    Ok(port)
}

/// The value after `--name` on the command line.
fn option(name: &str) -> Option<String> {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let seconds = common::seconds(60);
    let (host, port) = if std::env::args().any(|a| a == "--serve") {
        let port = serve_lines()?;
        println!("Serving lines on 127.0.0.1:{port}");
        ("127.0.0.1".to_string(), port)
    } else {
        let host = option("--host").unwrap_or_else(|| "localhost".to_string());
        let port = match option("--port") {
            None => 9999,
            Some(p) => p.parse().unwrap_or_else(|_| {
                eprintln!("--port expects a port number, found `{p}`");
                std::process::exit(2)
            }),
        };
        (host, port)
    };

    // `spark.readStream.format("socket").option("host", ...).option("port", ...).load()`
    let query = WordCounts::read_stream(SocketSource::new(host.clone(), port))
        .write_stream()
        .output_mode(Complete)
        .format(ConsoleSink::new())
        .start()?;
    println!("Counting the words of the lines from {host}:{port}...");
    common::sleep(seconds).await;

    query.stop().await;
    if let Some(e) = query.exception() {
        eprintln!("The query failed: {e}");
        std::process::exit(1);
    }
    println!("Word count query stopped.");
    Ok(())
}
