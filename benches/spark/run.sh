#!/usr/bin/env bash
# Sluice and Spark Structured Streaming side by side on the same Parquet files (see README.md).
#
#   benches/spark/run.sh [files] [rows_per_file] [runs]     # defaults: 50 1000000 3
#
# Needs Java 17 and Python 3; installs PySpark into a virtual environment under $WORK. Not
# run in CI.
set -euo pipefail
cd "$(dirname "$0")/../.."

FILES=${1:-50}
ROWS_PER_FILE=${2:-1000000}
RUNS=${3:-3}
WORK=${SLUICE_SPARK_WORK:-${TMPDIR:-/tmp}/sluice-side-by-side}
DATA="$WORK/seed-$FILES-$ROWS_PER_FILE"
mkdir -p "$WORK"

if [ ! -x "$WORK/venv/bin/python" ]; then
  python3 -m venv "$WORK/venv"
  "$WORK/venv/bin/pip" install --quiet pyspark
fi
PY="$WORK/venv/bin/python"

cargo build --release --quiet --features parquet --example spark_side_by_side
SLUICE=target/release/examples/spark_side_by_side

if [ ! -f "$DATA/_SUCCESS" ]; then
  echo "generating $FILES files of $ROWS_PER_FILE rows in $DATA"
  "$PY" benches/spark/spark_queries.py generate "$DATA" "$FILES" "$ROWS_PER_FILE"
fi

# One run: prints `system query rows seconds rows_per_second wall_seconds peak_rss_kb`.
# The query's own time (start to termination) gives rows/s; the wall time includes the
# process's start (the JVM's, for Spark). Peak RSS is the largest total resident memory of the
# run's processes (for Spark the Python driver and the JVM it starts), sampled every 100 ms,
# or the main process's peak from GNU time if that is larger (a short run between samples).
measure() {
  local system=$1 query=$2 out
  out=$(mktemp)
  local cmd
  if [ "$system" = spark ]; then
    cmd=("$PY" benches/spark/spark_queries.py "$query" "$DATA")
  else
    cmd=("$SLUICE" "$query" "$DATA")
  fi
  local started ended peak=0 rss
  started=$(date +%s.%N)
  setsid /usr/bin/time -f "%M" -o "$out.rss" "${cmd[@]}" >"$out" 2>"$out.err" &
  local pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    rss=$(ps -o rss= --sid "$pid" 2>/dev/null | awk '{s += $1} END {print s + 0}')
    [ "$rss" -gt "$peak" ] && peak=$rss
    sleep 0.1
  done
  wait "$pid" || { cat "$out.err" >&2; exit 1; }
  ended=$(date +%s.%N)
  local wall main
  wall=$(echo "$ended - $started" | bc)
  main=$(tail -1 "$out.rss")
  [ "$main" -gt "$peak" ] && peak=$main
  echo "$system $(tail -1 "$out") $wall $peak"
  rm -f "$out" "$out.rss" "$out.err"
}

RESULTS="$WORK/results-$(date +%Y%m%d-%H%M%S).txt"
for query in windowed alerts keyed; do
  for run in $(seq "$RUNS"); do
    # Alternating, so both see the same machine state.
    measure spark "$query" | tee -a "$RESULTS"
    measure sluice "$query" | tee -a "$RESULTS"
  done
done

echo
"$PY" - "$RESULTS" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1]) if line.strip()]
print(f"{'query':<10} {'system':<7} {'rows/s (median)':>16} {'query s':>8} {'wall s':>7} {'peak RSS MB':>12}")
by = {}
for system, query, n, secs, rate, wall, rss in rows:
    by.setdefault((query, system), []).append((float(rate), float(secs), float(wall), int(rss) / 1024))
for query in ["windowed", "alerts", "keyed"]:
    med = {}
    for system in ["spark", "sluice"]:
        runs = by.get((query, system), [])
        if not runs:
            continue
        m = [statistics.median(col) for col in zip(*runs)]
        med[system] = m
        print(f"{query:<10} {system:<7} {m[0]:>16,.0f} {m[1]:>8.2f} {m[2]:>7.2f} {m[3]:>12.0f}")
    if len(med) == 2:
        print(f"{query:<10} {'ratio':<7} {med['sluice'][0] / med['spark'][0]:>15.1f}x {'':>8} {'':>7} {med['sluice'][3] / med['spark'][3]:>11.2f}x")
print(f"(raw runs: {sys.argv[1]})")
PY
