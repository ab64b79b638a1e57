//! A real Kafka-protocol broker for the Kafka tests: Tansu (installed by `scripts/test`),
//! started on a free loopback port with in-memory storage, and stopped when the [`Broker`] is
//! dropped — also when a test panics, and also when the test process itself is killed (the
//! broker runs under a shell that kills it when the test's end of a pipe closes).
//!
//! Known defects of Tansu 0.6.0 that the tests work around (they are not Kafka semantics):
//! ListOffsets "latest" is wrong after a produce request carrying more than one record, so
//! every producer here sends one record per request (`linger.ms=0`, `batch.num.messages=1`);
//! transactions are not supported, so nothing here uses them.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::{Duration, Instant};

use sluice::rdkafka::ClientConfig;
use sluice::rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use sluice::rdkafka::client::DefaultClientContext;
use sluice::rdkafka::consumer::{BaseConsumer, Consumer};
use sluice::rdkafka::message::{Header, Headers, Message, OwnedHeaders};
use sluice::rdkafka::producer::{BaseProducer, BaseRecord, Producer};
use sluice::rdkafka::{Offset, TopicPartitionList};

/// How long a broker call in a test may take.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(10);

/// The Tansu binary: on `PATH`, or where `cargo install` puts it. Panics, naming the script
/// that installs it, when it is missing: a Kafka test never passes without a broker.
fn tansu_binary() -> PathBuf {
    let mut candidates: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join("tansu")).collect())
        .unwrap_or_default();
    if let Some(home) = std::env::var_os("CARGO_HOME") {
        candidates.push(PathBuf::from(home).join("bin/tansu"));
    }
    if let Some(home) = std::env::var_os("HOME") {
        candidates.push(PathBuf::from(home).join(".cargo/bin/tansu"));
    }
    candidates
        .into_iter()
        .find(|p| p.is_file())
        .unwrap_or_else(|| {
            panic!(
                "the Kafka tests need the Tansu broker 0.6.0 (`tansu` on PATH or in ~/.cargo/bin), \
             and it is not installed: run `scripts/test`, which installs it \
             (`cargo install tansu --locked --version 0.6.0 --features dynostore`)"
            )
        })
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// A running broker. Dropping it kills it.
pub(crate) struct Broker {
    /// `127.0.0.1:<port>`.
    pub(crate) bootstrap: String,
    shell: Child,
    /// The test's end of the pipe the guarding shell waits on.
    guard: Option<ChildStdin>,
    /// The broker's own process id (for pausing it).
    pid: u32,
}

impl Broker {
    /// Starts Tansu on a free loopback port and waits until it accepts connections and answers
    /// a metadata request.
    pub(crate) fn start() -> Broker {
        let binary = tansu_binary();
        let port = free_port();
        let url = format!("tcp://127.0.0.1:{port}");
        // The shell starts the broker, prints its pid, and kills it as soon as its stdin (the
        // test's pipe) reaches end of file: when the guard is dropped or the test process dies.
        let mut shell = Command::new("sh")
            .arg("-c")
            .arg(r#""$0" "$@" </dev/null >/dev/null 2>&1 & b=$!; echo "$b"; read -r _; kill -9 "$b" 2>/dev/null; wait "$b" 2>/dev/null; exit 0"#)
            .arg(&binary)
            .args(["broker", "--listener-url", &url, "--advertised-listener-url", &url])
            .args(["--storage-engine", "memory://tansu/", "--silent"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", binary.display()));
        let guard = shell.stdin.take();
        let mut pid_line = String::new();
        BufReader::new(shell.stdout.take().expect("piped stdout"))
            .read_line(&mut pid_line)
            .expect("the broker's pid");
        let pid = pid_line.trim().parse().expect("a pid");
        let broker = Broker {
            bootstrap: format!("127.0.0.1:{port}"),
            shell,
            guard,
            pid,
        };
        broker.wait_ready();
        broker
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + TIMEOUT;
        while TcpStream::connect(&self.bootstrap).is_err() {
            assert!(
                Instant::now() < deadline,
                "Tansu did not listen on {}",
                self.bootstrap
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let consumer = self.consumer();
        consumer
            .fetch_metadata(None, TIMEOUT)
            .unwrap_or_else(|e| panic!("Tansu on {} does not answer: {e}", self.bootstrap));
    }

    /// Freezes the broker (`SIGSTOP`): it keeps its connections and data but answers nothing,
    /// as a broker that went away would.
    pub(crate) fn pause(&self) {
        signal(self.pid, "STOP");
    }

    /// Lets a paused broker go on (`SIGCONT`).
    pub(crate) fn resume(&self) {
        signal(self.pid, "CONT");
    }

    fn config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap);
        config
    }

    /// Creates a topic with `partitions` partitions.
    pub(crate) fn create_topic(&self, topic: &str, partitions: i32) {
        let config = self.config();
        let name = topic.to_string();
        let results = off_runtime(move || {
            let admin: AdminClient<DefaultClientContext> =
                config.create().expect("an admin client");
            let new = NewTopic::new(&name, partitions, TopicReplication::Fixed(1));
            block_on(admin.create_topics(
                [&new],
                &AdminOptions::new().operation_timeout(Some(TIMEOUT)),
            ))
        })
        .expect("create_topics");
        for r in results {
            r.unwrap_or_else(|(t, e)| panic!("cannot create topic {t}: {e}"));
        }
        // Wait until the metadata shows every partition.
        let consumer = self.consumer();
        let deadline = Instant::now() + TIMEOUT;
        loop {
            let metadata = consumer.fetch_metadata(Some(topic), TIMEOUT).unwrap();
            let found = metadata
                .topics()
                .iter()
                .find(|t| t.name() == topic && t.error().is_none())
                .map_or(0, |t| t.partitions().len());
            if found == partitions as usize {
                return;
            }
            assert!(Instant::now() < deadline, "topic {topic} did not appear");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Deletes a topic.
    pub(crate) fn delete_topic(&self, topic: &str) {
        let config = self.config();
        let name = topic.to_string();
        let results = off_runtime(move || {
            let admin: AdminClient<DefaultClientContext> =
                config.create().expect("an admin client");
            block_on(admin.delete_topics(
                &[&name],
                &AdminOptions::new().operation_timeout(Some(TIMEOUT)),
            ))
        })
        .expect("delete_topics");
        for r in results {
            r.unwrap_or_else(|(t, e)| panic!("cannot delete topic {t}: {e}"));
        }
    }

    /// A producer sending one record per request (see the module docs: Tansu 0.6.0's
    /// ListOffsets is wrong after a request with several records).
    pub(crate) fn producer(&self) -> TestProducer {
        let producer = self
            .config()
            .set("linger.ms", "0")
            .set("batch.num.messages", "1")
            .set("max.in.flight.requests.per.connection", "1")
            .set("socket.nagle.disable", "true")
            .create()
            .expect("a producer");
        TestProducer { producer }
    }

    /// A consumer for reading topics back.
    pub(crate) fn consumer(&self) -> BaseConsumer {
        self.config()
            .set("group.id", format!("sluice-test-{}", uuid_like()))
            .set("enable.auto.commit", "false")
            .create()
            .expect("a consumer")
    }

    /// Every record of `topic` (partitions `0..partitions`), read from the beginning up to the
    /// latest offsets, in partition then offset order.
    pub(crate) fn read_all(&self, topic: &str, partitions: i32) -> Vec<Record> {
        let consumer = self.consumer();
        let mut ends = BTreeMap::new();
        let mut list = TopicPartitionList::new();
        for p in 0..partitions {
            let (low, high) = consumer.fetch_watermarks(topic, p, TIMEOUT).unwrap();
            if high > low {
                ends.insert(p, high);
                list.add_partition_offset(topic, p, Offset::Offset(low))
                    .unwrap();
            }
        }
        let mut records = Vec::new();
        if ends.is_empty() {
            return records;
        }
        consumer.assign(&list).unwrap();
        let deadline = Instant::now() + TIMEOUT;
        while !ends.is_empty() {
            assert!(
                Instant::now() < deadline,
                "cannot read {topic}: still waiting for {ends:?}"
            );
            if let Some(message) = consumer.poll(Duration::from_millis(100)) {
                let m = message.expect("a record");
                records.push(Record {
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(|k| String::from_utf8_lossy(k).into_owned()),
                    value: m.payload().map(|v| String::from_utf8_lossy(v).into_owned()),
                    headers: m
                        .headers()
                        .map(|h| {
                            h.iter()
                                .map(|h| {
                                    (
                                        h.key.to_string(),
                                        h.value.map(|v| String::from_utf8_lossy(v).into_owned()),
                                    )
                                })
                                .collect()
                        })
                        .unwrap_or_default(),
                });
                if ends
                    .get(&m.partition())
                    .is_some_and(|e| m.offset() + 1 >= *e)
                {
                    ends.remove(&m.partition());
                }
            }
        }
        records.sort_by_key(|r| (r.partition, r.offset));
        records
    }

    /// The offsets `group` committed for partitions `0..partitions` of `topic` (OffsetFetch);
    /// a partition never committed is absent.
    pub(crate) fn group_offsets(
        &self,
        group: &str,
        topic: &str,
        partitions: i32,
    ) -> BTreeMap<i32, i64> {
        let consumer: BaseConsumer = self
            .config()
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .create()
            .expect("a consumer");
        let mut wanted = TopicPartitionList::new();
        for p in 0..partitions {
            wanted.add_partition(topic, p);
        }
        consumer
            .committed_offsets(wanted, TIMEOUT)
            .expect("OffsetFetch")
            .elements()
            .iter()
            .filter_map(|e| match e.offset() {
                Offset::Offset(o) => Some((e.partition(), o)),
                _ => None,
            })
            .collect()
    }

    /// The latest offset (high watermark) of a partition.
    pub(crate) fn latest(&self, topic: &str, partition: i32) -> i64 {
        self.consumer()
            .fetch_watermarks(topic, partition, TIMEOUT)
            .unwrap()
            .1
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        // A paused broker cannot be left behind paused: SIGKILL ends it either way.
        drop(self.guard.take());
        let _ = self.shell.wait();
    }
}

/// A record as the tests compare it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Record {
    pub(crate) partition: i32,
    pub(crate) offset: i64,
    pub(crate) key: Option<String>,
    pub(crate) value: Option<String>,
    pub(crate) headers: Vec<(String, Option<String>)>,
}

/// A producer for test input.
pub(crate) struct TestProducer {
    producer: BaseProducer,
}

impl TestProducer {
    /// Sends one record to a given partition and waits until it is acknowledged.
    pub(crate) fn send(&self, topic: &str, partition: i32, key: Option<&str>, value: &str) {
        self.send_with_headers(topic, partition, key, value, &[]);
    }

    /// [`TestProducer::send`] with headers.
    pub(crate) fn send_with_headers(
        &self,
        topic: &str,
        partition: i32,
        key: Option<&str>,
        value: &str,
        headers: &[(&str, &str)],
    ) {
        let mut record: BaseRecord<'_, str, str> =
            BaseRecord::to(topic).partition(partition).payload(value);
        if let Some(k) = key {
            record = record.key(k);
        }
        if !headers.is_empty() {
            let mut owned = OwnedHeaders::new();
            for (k, v) in headers {
                owned = owned.insert(Header {
                    key: k,
                    value: Some(*v),
                });
            }
            record = record.headers(owned);
        }
        self.producer
            .send(record)
            .unwrap_or_else(|(e, _)| panic!("cannot send to {topic}: {e}"));
        // One record in flight at a time: each is its own produce request. (Polling beats
        // `flush`, which waits in steps of 100 ms.)
        let deadline = Instant::now() + TIMEOUT;
        while self.producer.in_flight_count() > 0 {
            assert!(
                Instant::now() < deadline,
                "a record to {topic} was not acknowledged"
            );
            self.producer.poll(Duration::from_millis(1));
        }
    }
}

/// Sends process `pid` the signal `name` (`STOP`, `CONT`) with `kill`.
pub(crate) fn signal(pid: u32, name: &str) {
    let status = Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("kill");
    assert!(status.success(), "kill -{name} {pid}");
}

/// A unique suffix for topic and group names.
pub(crate) fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    format!("{}-{n}-{nanos}", std::process::id())
}

/// A fresh topic name for a test.
pub(crate) fn topic(name: &str) -> String {
    format!("{name}-{}", uuid_like())
}

/// Runs `f` on a thread of its own, so that it may block on a runtime of its own even when the
/// test itself runs on one.
fn off_runtime<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
    std::thread::spawn(f).join().expect("the admin thread")
}

/// Runs a future to completion on a small runtime of its own (admin calls from sync code).
fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Writes a line to stderr right away (progress of long tests).
pub(crate) fn note(text: &str) {
    let _ = writeln!(std::io::stderr(), "{text}");
}
