//! The cases of the operators beyond aggregation: deduplication (case 7), session windows
//! (case 8), `explode(split(...))` (case 9) and the stream-stream inner join (case 10) — their
//! pipelines, inputs and hand-written baselines with the same semantics (late rows, eviction,
//! emission).

use hashbrown::{HashMap, HashSet};
use sluice::prelude::*;
use sluice::source::Sided;

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

    /// An impression or a click of an ad.
    pub schema AdEvent { ts: Timestamp, ad: i64, value: f64 }

    /// Case 10's left side: the impressions under a 30-second watermark.
    pub query Impressions from AdEvent {
        watermark ts delay 30 seconds;
        select imp_ts = ts, ad, imp_v = value;
    }

    /// Case 10's right side: the clicks, likewise.
    pub query Clicks from AdEvent {
        watermark ts delay 30 seconds;
        select click_ts = ts, click_ad = ad, click_v = value;
    }

    /// Case 10: each click within 20 seconds after an impression of its ad.
    pub query AdClicks from Impressions join Clicks
        on ad == click_ad and click_ts >= imp_ts and click_ts <= imp_ts + interval 20 seconds {
        select *;
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

/// SplitMix64: a well-mixed 64-bit value for each index (the inputs are the same every run).
fn mix(i: u64) -> u64 {
    let mut z = i.wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Every this many rows of each side, one arrives two minutes behind its neighbours (late once
/// the watermark passed it).
const STRAGGLER: usize = 50_000;
const STRAGGLER_MS: i64 = 120_000;

/// Case 10's input: `n` impressions of `ads` ads, one a millisecond (up to 0.2 s out of
/// order), and `n` clicks in click-time order (up to 0.2 s out of order), one per impression:
/// half of them 0–20 s after it (they join it), half 20–40 s after it (too late for it, though
/// they may meet a later impression of the same ad). Every [`STRAGGLER`]-th row of each side is
/// two minutes old.
pub(crate) fn ad_events(n: usize, ads: u64) -> (Vec<AdEvent>, Vec<AdEvent>) {
    let straggle = |i: usize| {
        if i % STRAGGLER == STRAGGLER - 1 {
            STRAGGLER_MS
        } else {
            0
        }
    };
    let impressions: Vec<AdEvent> = (0..n)
        .map(|i| {
            let h = mix(i as u64);
            let ms = i as i64 - (h % 200) as i64 - straggle(i);
            AdEvent {
                ts: Timestamp::from_micros(T0 + ms * MS),
                ad: ((h >> 8) % ads) as i64,
                value: (i % 100) as f64,
            }
        })
        .collect();
    // (arrival order key, click) per impression; the key adds the disorder.
    let mut clicks: Vec<(i64, AdEvent)> = impressions
        .iter()
        .enumerate()
        .map(|(i, imp)| {
            let h = mix(i as u64 ^ 0x5EED);
            let delay_ms = if h & 1 == 0 {
                ((h >> 1) % 20_001) as i64
            } else {
                20_001 + ((h >> 1) % 20_000) as i64
            };
            let ts = imp.ts.as_micros() + straggle(i) * MS + delay_ms * MS;
            let arrival = ts + ((h >> 40) % 200) as i64 * MS;
            let click = AdEvent {
                ts: Timestamp::from_micros(ts),
                ad: imp.ad,
                value: (i % 10) as f64,
            };
            (arrival, click)
        })
        .collect();
    clicks.sort_by_key(|(arrival, _)| *arrival);
    let clicks = clicks
        .into_iter()
        .enumerate()
        .map(|(j, (_, mut click))| {
            click.ts = Timestamp::from_micros(click.ts.as_micros() - straggle(j) * MS);
            click
        })
        .collect();
    (impressions, clicks)
}

/// Case 10's rows of each side per batch: the state the watermark leaves stays near a batch.
pub(crate) const JOIN_SIDE_BATCH: usize = 100_000;

/// Case 10's input as the three jobs take it: each side's rows (the hand-written job), and both
/// as one input of [`Sided`] rows in batches of [`JOIN_SIDE_BATCH`] (the generated pipeline).
pub(crate) fn ad_input(n: usize) -> (Vec<AdEvent>, Vec<AdEvent>, Vec<Sided<AdEvent, AdEvent>>) {
    let (impressions, clicks) = ad_events(n, 10_000);
    let rows = sided(&impressions, &clicks, JOIN_SIDE_BATCH);
    (impressions, clicks, rows)
}

/// The two sides as one input of [`Sided`] rows, `batch` rows of each side per chunk of
/// `2 * batch`: each chunk holds a batch's impressions, then its clicks (the sides have the
/// same length).
pub(crate) fn sided(
    impressions: &[AdEvent],
    clicks: &[AdEvent],
    batch: usize,
) -> Vec<Sided<AdEvent, AdEvent>> {
    assert_eq!(impressions.len(), clicks.len(), "the sides have one length");
    impressions
        .chunks(batch)
        .zip(clicks.chunks(batch))
        .flat_map(|(l, r)| {
            l.iter()
                .cloned()
                .map(Sided::Left)
                .chain(r.iter().cloned().map(Sided::Right))
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

    /// A joined row, built as the generated pipeline builds its rows (nothing reads it).
    type Joined = (Timestamp, i64, f64, Timestamp, i64, f64);

    /// A stored row of either side: its event time (µs) and value.
    type Kept = (i64, f64);

    const JOIN_DELAY_MS: i64 = 30_000;
    const RANGE_MS: i64 = 20_000;

    /// What the join's job leaves: rows emitted and state rows held at the end.
    pub(crate) struct JoinCounts {
        pub(crate) emitted: usize,
        pub(crate) state_rows: usize,
    }

    /// Case 10 by hand: per side a map ad → rows; each left row probes the right side's rows of
    /// its ad and is stored, then each right row probes the left side's (this batch's included)
    /// and is stored unless already expired; late rows (at or before the previous batch's
    /// watermark) dropped; state evicted by the sides' state watermarks — left rows at or before
    /// `W - 20 s - 1 ms`, right rows at or before `W - 1 ms`. `W` is the minimum of the sides'
    /// `max event time - 30 s`, never moving back, applying from the next batch.
    pub(crate) fn join_job(
        impressions: &[AdEvent],
        clicks: &[AdEvent],
        batch: usize,
    ) -> JoinCounts {
        let mut left: HashMap<i64, Vec<Kept>> = HashMap::new();
        let mut right: HashMap<i64, Vec<Kept>> = HashMap::new();
        // Each side's watermark candidate (ms), `None` before the side has seen a row.
        let (mut left_wm, mut right_wm): (Option<i64>, Option<i64>) = (None, None);
        let (mut watermark_ms, mut late) = (0_i64, 0_i64);
        let mut out: Vec<Joined> = Vec::new();
        let mut emitted = 0;
        for (imps, clks) in impressions.chunks(batch).zip(clicks.chunks(batch)) {
            let (mut left_max, mut right_max) = (i64::MIN, i64::MIN);
            for l in imps {
                let ts = l.ts.as_micros();
                left_max = left_max.max(ts);
                if ts <= late {
                    continue;
                }
                if let Some(rows) = right.get(&l.ad) {
                    for &(r_ts, r_v) in rows {
                        if r_ts >= ts && r_ts <= ts + RANGE_MS * MS {
                            out.push((
                                l.ts,
                                l.ad,
                                l.value,
                                Timestamp::from_micros(r_ts),
                                l.ad,
                                r_v,
                            ));
                        }
                    }
                }
                left.entry(l.ad).or_default().push((ts, l.value));
            }
            let left_expired = (watermark_ms - RANGE_MS - 1) * MS;
            let right_expired = (watermark_ms - 1) * MS;
            for r in clks {
                let ts = r.ts.as_micros();
                right_max = right_max.max(ts);
                if ts <= late {
                    continue;
                }
                if let Some(rows) = left.get(&r.ad) {
                    for &(l_ts, l_v) in rows {
                        if ts >= l_ts && ts <= l_ts + RANGE_MS * MS {
                            out.push((
                                Timestamp::from_micros(l_ts),
                                r.ad,
                                l_v,
                                r.ts,
                                r.ad,
                                r.value,
                            ));
                        }
                    }
                }
                if ts > right_expired {
                    right.entry(r.ad).or_default().push((ts, r.value));
                }
            }
            left.retain(|_, rows| {
                rows.retain(|&(ts, _)| ts > left_expired);
                !rows.is_empty()
            });
            right.retain(|_, rows| {
                rows.retain(|&(ts, _)| ts > right_expired);
                !rows.is_empty()
            });
            // The watermark for the next batch: a side without rows yet counts as 0.
            for (node, max) in [(&mut left_wm, left_max), (&mut right_wm, right_max)] {
                if max != i64::MIN {
                    let candidate = max / MS - JOIN_DELAY_MS;
                    *node = Some(node.map_or(candidate, |prev: i64| prev.max(candidate)));
                } else if node.is_none() {
                    *node = Some(0);
                }
            }
            let chosen = left_wm.unwrap_or(0).min(right_wm.unwrap_or(0));
            late = watermark_ms * MS;
            watermark_ms = watermark_ms.max(chosen);
            emitted += out.len();
            out.clear();
        }
        let held = |m: &HashMap<i64, Vec<Kept>>| m.values().map(Vec::len).sum::<usize>();
        JoinCounts {
            emitted,
            state_rows: held(&left) + held(&right),
        }
    }
}
