//! The cases of the operators beyond aggregation: deduplication (case 7), session windows
//! (case 8) and `explode(split(...))` (case 9) — their pipelines, inputs and hand-written
//! baselines with the same semantics (late rows, eviction, emission).

use hashbrown::{HashMap, HashSet};
use sluice::prelude::*;

use super::{MS, T0};

sluice::pipeline! {
    /// A reading with an integer key.
    pub schema Reading { ts: Timestamp, key: i64, value: f64 }

    /// Case 7: each (key, event time) once, keys evicted a minute after their event time.
    pub query UniqueReadings from Reading {
        watermark ts delay 1 minute;
        drop duplicates (key, ts);
    }

    /// Case 8: per key, sessions of readings less than 30 seconds apart.
    pub query KeySessions from Reading {
        watermark ts delay 1 minute;
        group by session_window(ts, 30 seconds), key;
        aggregate count = count(), total = sum(value);
    }

    /// A line of text.
    pub schema Sentence { ts: Timestamp, text: String }

    /// Case 9: one row per word, without an array per line.
    pub query SentenceWords from Sentence {
        select ts, word = explode(split(text, " "));
    }
}

/// `n` readings, each delivered twice in a row: reading `r` has event time `r` ms and key
/// `r % 10 000`.
pub(crate) fn duplicated(n: usize) -> Vec<Reading> {
    (0..n as i64)
        .map(|v| {
            let r = v / 2;
            Reading {
                ts: Timestamp::from_micros(T0 + r * MS),
                key: r % 10_000,
                value: (r % 100) as f64,
            }
        })
        .collect()
}

/// `n` readings of `keys` keys in bursts: a reading per millisecond for 100 seconds (each key
/// every 10 s), then a minute of silence, so that every key's session closes after each burst.
pub(crate) fn bursts(n: usize, keys: i64) -> Vec<Reading> {
    (0..n as i64)
        .map(|v| Reading {
            ts: Timestamp::from_micros(T0 + v * MS + (v / 100_000) * 60_000_000),
            key: v % keys,
            value: (v % 100) as f64,
        })
        .collect()
}

/// `n` lines of eight words from a vocabulary of 64.
pub(crate) fn sentences(n: usize) -> Vec<Sentence> {
    let vocabulary: Vec<String> = (0..64).map(|w| format!("word{w}")).collect();
    (0..n as i64)
        .map(|v| Sentence {
            ts: Timestamp::from_micros(T0 + v * MS),
            text: (0..8)
                .map(|i| vocabulary[((v * 7 + i * 13) % 64) as usize].as_str())
                .collect::<Vec<_>>()
                .join(" "),
        })
        .collect()
}

/// The hand-written jobs: the tightest loops for the same work, with the same semantics.
pub(crate) mod handwritten {
    use super::*;

    const DELAY_MS: i64 = 60_000;
    const GAP: i64 = 30_000_000;

    /// The watermark of a job: max event time − 1 minute, applying from the next batch; the
    /// previous batch's is the late-row threshold.
    #[derive(Default)]
    struct Watermark {
        max_event_ms: i64,
        current: i64,
        late: i64,
    }

    impl Watermark {
        fn advance(&mut self) {
            self.late = self.current;
            self.current = self.current.max((self.max_event_ms - DELAY_MS) * 1000);
        }
    }

    /// Case 7 by hand: a set of `(key, event time)`, late rows dropped, keys evicted once the
    /// watermark passes their event time, every first row emitted.
    pub(crate) fn dedup_job(rows: &[Reading], batch: usize) -> usize {
        let mut seen: HashSet<(i64, i64)> = HashSet::new();
        let mut wm = Watermark::default();
        let mut emitted = 0;
        let mut out: Vec<(i64, i64, f64)> = Vec::new();
        for chunk in rows.chunks(batch) {
            for r in chunk {
                let ts = r.ts.as_micros();
                wm.max_event_ms = wm.max_event_ms.max(ts / 1000);
                if ts <= wm.late {
                    continue;
                }
                if seen.insert((r.key, ts)) {
                    out.push((ts, r.key, r.value));
                }
            }
            let watermark = wm.current;
            seen.retain(|&(_, ts)| ts > watermark);
            wm.advance();
            emitted += out.len();
            out.clear();
        }
        emitted
    }

    /// One session: `(start, end, count, sum)`.
    type Session = (i64, i64, i64, f64);

    /// Case 8 by hand: per key its sessions sorted by start; a row extends, opens or bridges
    /// sessions; late rows dropped by their own session's end; closed sessions emitted and
    /// evicted.
    pub(crate) fn sessions_job(rows: &[Reading], batch: usize) -> usize {
        let mut keys: HashMap<i64, Vec<Session>> = HashMap::new();
        let mut wm = Watermark::default();
        let mut emitted = 0;
        let mut out: Vec<(i64, Session)> = Vec::new();
        for chunk in rows.chunks(batch) {
            for r in chunk {
                let t = r.ts.as_micros();
                wm.max_event_ms = wm.max_event_ms.max(t / 1000);
                let end = t + GAP;
                if end <= wm.late {
                    continue;
                }
                let sessions = keys.entry(r.key).or_default();
                let n = sessions.len();
                let mut first = n;
                while first > 0 && sessions[first - 1].1 >= t {
                    first -= 1;
                }
                let mut last = first;
                while last < n && sessions[last].0 <= end {
                    last += 1;
                }
                let s = if first == last {
                    sessions.insert(first, (t, end, 0, 0.0));
                    &mut sessions[first]
                } else {
                    let merged_end = sessions[last - 1].1.max(end);
                    for next in first + 1..last {
                        let (c, v) = (sessions[next].2, sessions[next].3);
                        sessions[first].2 += c;
                        sessions[first].3 += v;
                    }
                    sessions.drain(first + 1..last);
                    let s = &mut sessions[first];
                    s.0 = s.0.min(t);
                    s.1 = merged_end;
                    s
                };
                s.2 += 1;
                s.3 += r.value;
            }
            let watermark = wm.current;
            keys.retain(|&key, sessions| {
                let closed = sessions.partition_point(|s| s.1 <= watermark);
                out.extend(sessions.drain(..closed).map(|s| (key, s)));
                !sessions.is_empty()
            });
            wm.advance();
            emitted += out.len();
            out.clear();
        }
        emitted
    }

    /// Case 9 by hand: each line's words, split in place, one owned word per output row.
    pub(crate) fn words_job(rows: &[Sentence], batch: usize) -> usize {
        let mut emitted = 0;
        let mut out: Vec<(Timestamp, String)> = Vec::new();
        for chunk in rows.chunks(batch) {
            for r in chunk {
                for word in r.text.split(' ') {
                    out.push((r.ts, word.to_string()));
                }
            }
            emitted += out.len();
            out.clear();
        }
        emitted
    }
}
