//! The benchmark cases shared by `throughput.rs` (criterion, wall time) and `instructions.rs`
//! (one run of one job, for `valgrind --tool=callgrind`): the pipelines, their inputs, the
//! hand-written baselines, and the driver that runs a pipeline batch by batch as the engine does.
//! The cases of deduplication, session windows and `explode` are in [`operators`].

#![allow(dead_code)]

pub(crate) mod operators;

use std::hint::black_box;

use hashbrown::HashMap;
use sluice::prelude::*;
use sluice::watermark::WatermarkTracker;
use sluice::{BatchContext, OutputMode};

sluice::pipeline! {
    /// A sensor reading, as the seed's `sensor_stream` produces them.
    pub schema Sensor { timestamp: Timestamp, room_name: String, temperature: f64, humidity: i64 }

    /// Case 1: the seed's core windowed aggregation.
    pub query RoomStats from Sensor {
        watermark timestamp delay 30 seconds;
        group by window(timestamp, 10 seconds), room_name;
        aggregate count = count(), avg_temp = avg(temperature), max_temp = max(temperature),
                  min_temp = min(temperature), avg_humidity = avg(humidity);
    }

    /// Case 2: the sensor columns computed from the rate source in the fused prefix.
    pub query RateSensors from Rate {
        select timestamp,
               room_name = concat("Room_", value % 5),
               temperature = 20 + value % 10 + (value % 3) / 10.0,
               humidity = 50 + value % 20;
    }
    pub query RateRoomStats from RateSensors {
        watermark timestamp delay 30 seconds;
        group by window(timestamp, 10 seconds), room_name;
        aggregate count = count(), avg_temp = avg(temperature), max_temp = max(temperature),
                  min_temp = min(temperature), avg_humidity = avg(humidity);
    }

    /// Case 3: the seed's high-temperature alert.
    pub query HighTemp from Sensor {
        where temperature > 25;
        select timestamp, room_name, temperature, alert_type = "HIGH TEMPERATURE ALERT";
    }

    /// A reading with an integer key.
    pub schema Keyed { ts: Timestamp, key: i64, value: f64 }

    /// Case 4: sliding 2 min / 1 min windows per key.
    pub query Sliding from Keyed {
        watermark ts delay 1 minute;
        group by window(ts, 2 minutes, 1 minute), key;
        aggregate count = count(), total = sum(value);
    }

    /// Case 5: 1-minute tumbling windows over many keys.
    pub query Tumbling from Keyed {
        watermark ts delay 1 minute;
        group by window(ts, 1 minute), key;
        aggregate count = count(), total = sum(value);
    }

    /// Case 6: keyed counts without windows (update / complete emission).
    pub query KeyCounts from Keyed {
        group by key;
        aggregate count = count(), total = sum(value);
    }
}

pub(crate) const T0: i64 = 1_704_103_200_000_000; // 2024-01-01T10:00:00Z
pub(crate) const MS: i64 = 1_000;

pub(crate) fn sensors(n: usize) -> Vec<Sensor> {
    let rooms: Vec<String> = (0..5).map(|r| format!("Room_{r}")).collect();
    (0..n as i64)
        .map(|v| Sensor {
            timestamp: Timestamp::from_micros(T0 + v * MS),
            room_name: rooms[(v % 5) as usize].clone(),
            temperature: 20.0 + (v % 10) as f64 + (v % 3) as f64 / 10.0,
            humidity: 50 + v % 20,
        })
        .collect()
}

pub(crate) fn rate_rows(n: usize) -> Vec<RateRow> {
    (0..n as i64)
        .map(|v| RateRow {
            timestamp: Timestamp::from_micros(T0 + v * MS),
            value: v,
        })
        .collect()
}

pub(crate) fn keyed(n: usize, keys: i64, step_micros: i64) -> Vec<Keyed> {
    (0..n as i64)
        .map(|v| Keyed {
            ts: Timestamp::from_micros(T0 + v * step_micros),
            key: v % keys,
            value: (v % 100) as f64,
        })
        .collect()
}

/// Drives a pipeline over `rows` in batches of `batch` rows, advancing the watermark between
/// batches exactly as the engine does; returns the number of rows emitted.
pub(crate) fn drive<P: Pipeline>(
    mut p: P,
    rows: &[P::Input],
    batch: usize,
    mode: OutputMode,
) -> usize {
    drive_mut(&mut p, rows, batch, mode)
}

/// [`drive`] over a pipeline the caller keeps, to read its state afterwards.
pub(crate) fn drive_mut<P: Pipeline>(
    p: &mut P,
    rows: &[P::Input],
    batch: usize,
    mode: OutputMode,
) -> usize {
    let mut tracker = WatermarkTracker::new(P::INFO.watermarks);
    let mut ctx = BatchContext::for_pipeline::<P>(mode);
    let mut out = Vec::new();
    let mut emitted = 0;
    for (i, chunk) in rows.chunks(batch).enumerate() {
        if i > 0 {
            let wm = P::INFO.has_watermark().then(|| tracker.current());
            ctx.advance(wm, Timestamp::EPOCH);
        }
        p.process(chunk, &mut ctx, &mut out).expect("process");
        p.finish_batch(&mut ctx, &mut out).expect("finish");
        tracker.update(ctx.event_time_stats());
        emitted += out.len();
        out.clear();
    }
    emitted
}

/// A memory stream holding `rows` in batches of `batch` rows, one micro-batch each (built
/// outside the timed part).
pub(crate) fn stream_of<R: Row>(rows: &[R], batch: usize) -> MemoryStream<R> {
    let stream = MemoryStream::new().max_batches_per_trigger(1);
    for chunk in rows.chunks(batch) {
        stream.add_data(chunk.to_vec());
    }
    stream
}

/// Runs a pipeline through the engine on `threads` worker threads until it has read the whole
/// stream. Returns the stream, so the input rows are freed outside the timed part (as the direct
/// benches never free theirs).
pub(crate) fn run_engine<P>(
    rt: &tokio::runtime::Runtime,
    stream: MemoryStream<P::Input>,
    threads: usize,
) -> (u64, MemoryStream<P::Input>)
where
    P: Pipeline + Default + sluice::pipeline::SupportsAppend,
{
    let keep = stream.clone();
    rt.block_on(async {
        let q = P::read_stream(stream)
            .write_stream()
            .output_mode(Append)
            .parallelism(threads)
            .trigger(Trigger::AvailableNow)
            .foreach_batch(|_, rows: Vec<P::Output>| drop(black_box(rows)))
            .start()
            .expect("start");
        q.await_termination().await.expect("run");
        (
            q.recent_progress().iter().map(|p| p.num_input_rows).sum(),
            keep,
        )
    })
}

/// The two input streams of a stream-stream join.
pub(crate) type StreamPair<L, R> = (MemoryStream<L>, MemoryStream<R>);

/// Runs a stream-stream join through the engine on `threads` worker threads until it has read
/// both streams (one batch of each per trigger). Returns the input rows the engine read, the
/// joined rows the sink received, and the streams (freed outside the timed part).
pub(crate) fn run_join_engine<P>(
    rt: &tokio::runtime::Runtime,
    left: MemoryStream<P::LeftInput>,
    right: MemoryStream<P::RightInput>,
    threads: usize,
) -> (u64, u64, StreamPair<P::LeftInput, P::RightInput>)
where
    P: ReadStreams
        + Pipeline<Input = sluice::source::Sided<P::LeftInput, P::RightInput>>
        + sluice::pipeline::SupportsAppend,
{
    let keep = (left.clone(), right.clone());
    let emitted = std::sync::Arc::new(std::sync::atomic::AtomicU64::new(0));
    let counter = emitted.clone();
    rt.block_on(async {
        let q = P::read_streams(left, right)
            .write_stream()
            .output_mode(Append)
            .parallelism(threads)
            .trigger(Trigger::AvailableNow)
            .foreach_batch(move |_, rows: Vec<P::Output>| {
                counter.fetch_add(rows.len() as u64, std::sync::atomic::Ordering::Relaxed);
                drop(black_box(rows))
            })
            .start()
            .expect("start");
        q.await_termination().await.expect("run");
        (
            q.recent_progress().iter().map(|p| p.num_input_rows).sum(),
            emitted.load(std::sync::atomic::Ordering::Relaxed),
            keep,
        )
    })
}

pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

// ------------------------------------------------------------------------------------------
// Hand-written baselines
// ------------------------------------------------------------------------------------------

/// Case 1 by hand: rooms interned to small integers, a `(window start, room)` key, the five
/// aggregates in one struct, late rows dropped against the previous watermark, closed windows
/// emitted and evicted.
pub(crate) mod handwritten {
    use super::*;

    #[derive(Default, Clone, Copy)]
    pub(crate) struct Acc {
        count: i64,
        temp_sum: f64,
        temp_max: f64,
        temp_min: f64,
        hum_sum: f64,
    }

    /// An emitted window, built as the generated pipeline builds its rows (nothing reads it).
    #[allow(dead_code)]
    pub(crate) struct Out {
        window_start: i64,
        room: String,
        count: i64,
        avg_temp: f64,
        max_temp: f64,
        min_temp: f64,
        avg_humidity: f64,
    }

    const SIZE: i64 = 10_000_000;
    const DELAY_MS: i64 = 30_000;

    /// State of the case-1 job: interned rooms, the windows' accumulators, the watermark.
    #[derive(Default)]
    pub(crate) struct RoomStatsByHand {
        rooms: HashMap<String, u32>,
        names: Vec<String>,
        state: HashMap<(i64, u32), Acc>,
        max_event_ms: i64,
        watermark: i64,
        late: i64,
    }

    impl RoomStatsByHand {
        pub(crate) fn batch(&mut self, rows: &[Sensor], out: &mut Vec<Out>) {
            for r in rows {
                let ts = r.timestamp.as_micros();
                self.max_event_ms = self.max_event_ms.max(ts / 1000);
                let start = ts - ts.rem_euclid(SIZE);
                if start + SIZE <= self.late {
                    continue;
                }
                let room = match self.rooms.get(r.room_name.as_str()) {
                    Some(&id) => id,
                    None => {
                        let id = self.names.len() as u32;
                        self.rooms.insert(r.room_name.clone(), id);
                        self.names.push(r.room_name.clone());
                        id
                    }
                };
                let acc = self.state.entry((start, room)).or_insert(Acc {
                    temp_max: f64::MIN,
                    temp_min: f64::MAX,
                    ..Acc::default()
                });
                acc.count += 1;
                acc.temp_sum += r.temperature;
                acc.temp_max = acc.temp_max.max(r.temperature);
                acc.temp_min = acc.temp_min.min(r.temperature);
                acc.hum_sum += r.humidity as f64;
            }
            let wm = self.watermark;
            for ((start, room), a) in self.state.extract_if(|(start, _), _| start + SIZE <= wm) {
                out.push(Out {
                    window_start: start,
                    room: self.names[room as usize].clone(),
                    count: a.count,
                    avg_temp: a.temp_sum / a.count as f64,
                    max_temp: a.temp_max,
                    min_temp: a.temp_min,
                    avg_humidity: a.hum_sum / a.count as f64,
                });
            }
            self.late = self.watermark;
            self.watermark = self.watermark.max((self.max_event_ms - DELAY_MS) * 1000);
        }
    }

    /// Case 2 by hand: the same job from `(timestamp, value)`; the room is `value % 5`.
    #[derive(Default)]
    pub(crate) struct RateStatsByHand {
        state: HashMap<(i64, i64), Acc>,
        max_event_ms: i64,
        watermark: i64,
        late: i64,
    }

    impl RateStatsByHand {
        pub(crate) fn batch(&mut self, rows: &[RateRow], out: &mut Vec<Out>) {
            for r in rows {
                let ts = r.timestamp.as_micros();
                self.max_event_ms = self.max_event_ms.max(ts / 1000);
                let start = ts - ts.rem_euclid(SIZE);
                if start + SIZE <= self.late {
                    continue;
                }
                let v = r.value;
                let temperature = (20 + v % 10) as f64 + (v % 3) as f64 / 10.0;
                let humidity = 50 + v % 20;
                let acc = self.state.entry((start, v % 5)).or_insert(Acc {
                    temp_max: f64::MIN,
                    temp_min: f64::MAX,
                    ..Acc::default()
                });
                acc.count += 1;
                acc.temp_sum += temperature;
                acc.temp_max = acc.temp_max.max(temperature);
                acc.temp_min = acc.temp_min.min(temperature);
                acc.hum_sum += humidity as f64;
            }
            let wm = self.watermark;
            for ((start, room), a) in self.state.extract_if(|(start, _), _| start + SIZE <= wm) {
                out.push(Out {
                    window_start: start,
                    room: format!("Room_{room}"),
                    count: a.count,
                    avg_temp: a.temp_sum / a.count as f64,
                    max_temp: a.temp_max,
                    min_temp: a.temp_min,
                    avg_humidity: a.hum_sum / a.count as f64,
                });
            }
            self.late = self.watermark;
            self.watermark = self.watermark.max((self.max_event_ms - DELAY_MS) * 1000);
        }
    }

    /// Case 3 by hand.
    /// An alert row, built as the generated pipeline builds its rows (nothing reads it).
    #[allow(dead_code)]
    pub(crate) struct Alert {
        timestamp: Timestamp,
        room_name: String,
        temperature: f64,
        alert_type: String,
    }

    pub(crate) fn high_temp(rows: &[Sensor], out: &mut Vec<Alert>) {
        for r in rows {
            if r.temperature > 25.0 {
                out.push(Alert {
                    timestamp: r.timestamp,
                    room_name: r.room_name.clone(),
                    temperature: r.temperature,
                    alert_type: "HIGH TEMPERATURE ALERT".to_string(),
                });
            }
        }
    }

    /// Cases 4 and 5 by hand: windows of `size`/`slide` per integer key, count and sum.
    pub(crate) struct WindowedByHand {
        size: i64,
        slide: i64,
        delay_ms: i64,
        state: HashMap<(i64, i64), (i64, f64)>,
        max_event_ms: i64,
        watermark: i64,
        late: i64,
    }

    impl WindowedByHand {
        pub(crate) fn new(size: i64, slide: i64, delay_ms: i64) -> Self {
            WindowedByHand {
                size,
                slide,
                delay_ms,
                state: HashMap::new(),
                max_event_ms: 0,
                watermark: 0,
                late: 0,
            }
        }

        pub(crate) fn batch(&mut self, rows: &[Keyed], out: &mut Vec<(i64, i64, i64, f64)>) {
            for r in rows {
                let ts = r.ts.as_micros();
                self.max_event_ms = self.max_event_ms.max(ts / 1000);
                let mut start = ts - ts.rem_euclid(self.slide);
                while start > ts - self.size {
                    if start + self.size > self.late {
                        let acc = self.state.entry((start, r.key)).or_default();
                        acc.0 += 1;
                        acc.1 += r.value;
                    }
                    start -= self.slide;
                }
            }
            let (wm, size) = (self.watermark, self.size);
            out.extend(
                self.state
                    .extract_if(|(s, _), _| s + size <= wm)
                    .map(|((s, k), (c, t))| (s, k, c, t)),
            );
            self.late = self.watermark;
            self.watermark = self
                .watermark
                .max((self.max_event_ms - self.delay_ms) * 1000);
        }

        pub(crate) fn groups(&self) -> usize {
            self.state.len()
        }
    }

    /// Case 1's job by hand over `rows` in batches of `batch` rows; returns the rows emitted.
    pub(crate) fn room_stats_job(rows: &[Sensor], batch: usize) -> usize {
        let mut h = RoomStatsByHand::default();
        let mut out = Vec::new();
        rows.chunks(batch).for_each(|c| h.batch(c, &mut out));
        out.len()
    }

    /// Case 2's job by hand.
    pub(crate) fn rate_stats_job(rows: &[RateRow], batch: usize) -> usize {
        let mut h = RateStatsByHand::default();
        let mut out = Vec::new();
        rows.chunks(batch).for_each(|c| h.batch(c, &mut out));
        out.len()
    }

    /// Case 3's job by hand.
    pub(crate) fn high_temp_job(rows: &[Sensor], batch: usize) -> usize {
        let mut out = Vec::new();
        rows.chunks(batch)
            .map(|c| {
                high_temp(c, &mut out);
                let n = out.len();
                out.clear();
                n
            })
            .sum()
    }

    /// Cases 4 and 5's job by hand: windows of `size`/`slide` µs, a 1-minute watermark delay.
    pub(crate) fn windowed_job(rows: &[Keyed], batch: usize, size: i64, slide: i64) -> usize {
        let mut h = WindowedByHand::new(size, slide, 60_000);
        let mut out = Vec::new();
        rows.chunks(batch).for_each(|c| h.batch(c, &mut out));
        out.len() + h.groups()
    }
}
