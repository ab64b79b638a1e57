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

from pyspark.sql import functions as F

from oracle import collector, data_rows, end_offset, spark_session, stage

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


def normalise_watermark(w):
    if w is None:
        return None
    return w.replace(".000Z", "Z")


def main():
    spark = spark_session()
    runs = [("stream_stream_%s_join_local" % how, how, None) for how in HOWS]
    runs += [("stream_stream_%s_join_nulls_local" % how, how, NULLS) for how in ["inner", "left_outer"]]
    for name, how, inline in runs:
        out = os.path.join(HERE, name)
        shutil.rmtree(out, ignore_errors=True)
        scratch = os.path.join(SCRATCH, name)
        shutil.rmtree(scratch, ignore_errors=True)
        for side in ["left", "right"]:
            os.makedirs(os.path.join(out, "input", side))
            if inline is None:
                for n in sorted(os.listdir(os.path.join(BASE, "input", side))):
                    shutil.copy(os.path.join(BASE, "input", side, n), os.path.join(out, "input", side, n))
            else:
                for i, text in enumerate(inline[side]):
                    with open(os.path.join(out, "input", side, "batch-%03d.csv" % i), "w") as f:
                        f.write(text)
        names = {side: sorted(os.listdir(os.path.join(out, "input", side))) for side in ["left", "right"]}
        for side in ["left", "right"]:
            stage([os.path.join(out, "input", side, n) for n in names[side]], os.path.join(scratch, side))
        left = (spark.readStream.schema("ts TIMESTAMP, key STRING, value DOUBLE")
                .option("maxFilesPerTrigger", 1).csv(scratch + "/left"))
        right = (spark.readStream.schema("ts TIMESTAMP, key STRING, value DOUBLE")
                 .option("maxFilesPerTrigger", 1).csv(scratch + "/right"))
        l = left.withWatermark("ts", "30 seconds").select(F.col("ts").alias("imp_ts"), F.col("key").alias("ad"), F.col("value").alias("imp_v"))
        r = right.withWatermark("ts", "30 seconds").select(F.col("ts").alias("click_ts"), F.col("key").alias("click_ad"), F.col("value").alias("click_v"))
        result = l.join(r, F.expr(CONDITION), how)
        columns = [f.name for f in result.schema.fields]
        batches = {}
        q = (result.writeStream.outputMode("append").foreachBatch(collector(columns, batches, sort=True))
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
                    index = end_offset(s)["logOffset"]
                    files.append(names[side][index])
                    file_rows.append(data_rows(os.path.join(out, "input", side, names[side][index])))
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
