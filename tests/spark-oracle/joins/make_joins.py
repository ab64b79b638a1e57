"""Spark 4.3.0's output for the stream-stream join types golden2/ does not show.

Runs golden2/stream_stream_inner_join's query with every other join type (`how`) over the same
two inputs, the way the oracle's generator ran it (PySpark, master local[2],
spark.sql.shuffle.partitions=2, UTC, maxFilesPerTrigger=1, trigger(availableNow=True),
foreachBatch collecting each batch), and writes one scenario folder per join type in the
golden2 format (input/left, input/right, query.txt, schema.json, expected.jsonl).

    python3 -m venv .venv && .venv/bin/pip install pyspark==4.3.0
    SPARK_LOCAL_IP=127.0.0.1 .venv/bin/python make_joins.py
"""

import json
import os
import shutil

from pyspark.sql import SparkSession, functions as F

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = os.path.join(HERE, "..", "golden2", "stream_stream_inner_join")
SCRATCH = os.path.join(HERE, "scratch")
HOWS = ["left_outer", "right_outer", "full_outer", "left_semi"]

# Rows with null keys and null event times, on both sides: Spark filters a null key out of a
# side it infers `IS NOT NULL` for (both sides of an inner join, the null-supplying side of an
# outer join) below that side's watermark and in its scan, so such a row moves neither the
# watermark nor `numInputRows`.
NULLS = {
    "left": [
        "2024-01-01T10:00:00.000Z,ad1,1\n2024-01-01T10:00:50.000Z,,9\n",
        "2024-01-01T10:00:05.000Z,ad2,2\n",
        "",
    ],
    "right": [
        "2024-01-01T10:00:10.000Z,ad1,10\n",
        "2024-01-01T10:00:20.000Z,ad2,20\n,ad2,21\n",
        "2024-01-01T10:01:00.000Z,,0\n",
    ],
}
CONDITION = "ad = click_ad AND click_ts >= imp_ts AND click_ts <= imp_ts + interval 20 seconds"

QUERY = '''# Spark 4.3.0, master local[2], spark.sql.shuffle.partitions=2, spark.sql.session.timeZone=UTC
from pyspark.sql import functions as F

left = (spark.readStream.schema("ts TIMESTAMP, key STRING, value DOUBLE")
        .option("maxFilesPerTrigger", 1).csv(input_dir + "/left"))
right = (spark.readStream.schema("ts TIMESTAMP, key STRING, value DOUBLE")
         .option("maxFilesPerTrigger", 1).csv(input_dir + "/right"))

l = left.withWatermark("ts", "30 seconds").select(F.col("ts").alias("imp_ts"), F.col("key").alias("ad"), F.col("value").alias("imp_v"))
r = right.withWatermark("ts", "30 seconds").select(F.col("ts").alias("click_ts"), F.col("key").alias("click_ad"), F.col("value").alias("click_v"))
result = l.join(r, F.expr("%s"), "%s")

query = (result.writeStream
         .outputMode("append")
         .foreachBatch(collect)          # collect(df, batch_id): df.collect(), rows sorted
         .option("checkpointLocation", checkpoint_dir)
         .trigger(availableNow=True)
         .start())
query.awaitTermination()
# watermark per batch: query.recentProgress[i]['eventTime']['watermark']
'''


def ts(v):
    return v.strftime("%Y-%m-%dT%H:%M:%S") + "Z"


def cell(v):
    return ts(v) if hasattr(v, "strftime") else v


def normalise_watermark(w):
    if w is None:
        return None
    return w.replace(".000Z", "Z")


def main():
    spark = (SparkSession.builder.master("local[2]")
             .config("spark.sql.shuffle.partitions", "2")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    runs = [("stream_stream_%s_join_local" % how, how, None) for how in HOWS]
    runs += [("stream_stream_%s_join_nulls_local" % how, how, NULLS) for how in ["inner", "left_outer"]]
    for name, how, inline in runs:
        out = os.path.join(HERE, name)
        shutil.rmtree(out, ignore_errors=True)
        scratch = os.path.join(SCRATCH, name)
        shutil.rmtree(scratch, ignore_errors=True)
        for side in ["left", "right"]:
            os.makedirs(os.path.join(out, "input", side))
            os.makedirs(os.path.join(scratch, side))
            if inline is None:
                for n in sorted(os.listdir(os.path.join(BASE, "input", side))):
                    shutil.copy(os.path.join(BASE, "input", side, n), os.path.join(out, "input", side, n))
            else:
                for i, text in enumerate(inline[side]):
                    with open(os.path.join(out, "input", side, "batch-%03d.csv" % i), "w") as f:
                        f.write(text)
        names = {side: sorted(os.listdir(os.path.join(out, "input", side))) for side in ["left", "right"]}
        for side in ["left", "right"]:
            for i, n in enumerate(names[side]):
                to = os.path.join(scratch, side, n)
                shutil.copy(os.path.join(out, "input", side, n), to)
                os.utime(to, (1_700_000_000 + i, 1_700_000_000 + i))
        left = (spark.readStream.schema("ts TIMESTAMP, key STRING, value DOUBLE")
                .option("maxFilesPerTrigger", 1).csv(scratch + "/left"))
        right = (spark.readStream.schema("ts TIMESTAMP, key STRING, value DOUBLE")
                 .option("maxFilesPerTrigger", 1).csv(scratch + "/right"))
        l = left.withWatermark("ts", "30 seconds").select(F.col("ts").alias("imp_ts"), F.col("key").alias("ad"), F.col("value").alias("imp_v"))
        r = right.withWatermark("ts", "30 seconds").select(F.col("ts").alias("click_ts"), F.col("key").alias("click_ad"), F.col("value").alias("click_v"))
        result = l.join(r, F.expr(CONDITION), how)
        columns = [f.name for f in result.schema.fields]
        batches = {}

        def collect(df, bid):
            rows = [[cell(x) for x in row] for row in df.collect()]
            rows.sort(key=lambda r: json.dumps([(x is not None, x) for x in r]))
            batches[bid] = [dict(zip(columns, r)) for r in rows]

        q = (result.writeStream.outputMode("append").foreachBatch(collect)
             .option("checkpointLocation", os.path.join(scratch, "checkpoint"))
             .trigger(availableNow=True).start())
        q.awaitTermination()
        with open(os.path.join(out, "query.txt"), "w") as f:
            f.write(QUERY % (CONDITION, how))
        with open(os.path.join(out, "schema.json"), "w") as f:
            json.dump(result.schema.jsonValue(), f, indent=1)
        with open(os.path.join(out, "expected.jsonl"), "w") as f:
            for p in sorted(q.recentProgress, key=lambda p: p["batchId"]):
                bid = p["batchId"]
                files, file_rows = [], []
                data = any(s["startOffset"] != s["endOffset"] for s in p["sources"])
                for side, s in zip(["left", "right"], p["sources"]):
                    end = json.loads(s["endOffset"]) if isinstance(s["endOffset"], str) else s["endOffset"]
                    index = end["logOffset"]
                    files.append(names[side][index])
                    with open(os.path.join(out, "input", side, names[side][index])) as src:
                        file_rows.append(sum(1 for line in src if line.strip()))
                line = {
                    "batch": bid,
                    "file": files if data else None,
                    "file_rows": file_rows if data else [0, 0],
                    "num_input_rows": p["numInputRows"],
                    "watermark": normalise_watermark(p["eventTime"].get("watermark")),
                    "rows": batches.get(bid, []),
                }
                f.write(json.dumps(line) + "\n")
        print("wrote", name, flush=True)
    shutil.rmtree(SCRATCH, ignore_errors=True)


if __name__ == "__main__":
    main()
