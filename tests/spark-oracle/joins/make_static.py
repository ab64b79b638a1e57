"""Spark 4.3.0's output for golden2/stream_static_inner_join's query as a left outer join.

The same stream, the same static table and the same method as the oracle's scenario (PySpark,
master local[2], spark.sql.shuffle.partitions=2, UTC, maxFilesPerTrigger=1,
trigger(availableNow=True), foreachBatch), with `"left_outer"`: one scenario folder in the
golden2 format.

    SPARK_LOCAL_IP=127.0.0.1 .venv/bin/python make_static.py
"""

import json
import os
import shutil

from pyspark.sql import functions as F

from oracle import collector, data_rows, end_offset, spark_session, stage

HERE = os.path.dirname(os.path.abspath(__file__))
BASE = os.path.join(HERE, "..", "golden2", "stream_static_inner_join")
NAME = "stream_static_left_outer_join_local"


def main():
    spark = spark_session()
    out = os.path.join(HERE, NAME)
    scratch = os.path.join(HERE, "scratch", NAME)
    shutil.rmtree(out, ignore_errors=True)
    shutil.rmtree(scratch, ignore_errors=True)
    os.makedirs(os.path.join(out, "input"))
    shutil.copy(os.path.join(BASE, "static.csv"), os.path.join(out, "static.csv"))
    names = sorted(os.listdir(os.path.join(BASE, "input")))
    for n in names:
        shutil.copy(os.path.join(BASE, "input", n), os.path.join(out, "input", n))
    stage([os.path.join(BASE, "input", n) for n in names], scratch)
    src = (spark.readStream.schema("ts TIMESTAMP, key STRING, value DOUBLE")
           .option("maxFilesPerTrigger", 1).csv(scratch))
    static = spark.read.schema("ts TIMESTAMP, key STRING, value DOUBLE").csv(os.path.join(out, "static.csv"))
    result = (src.join(static.select("key", F.col("value").alias("weight")), "key", "left_outer")
              .select("ts", "key", "value", "weight"))
    columns = [f.name for f in result.schema.fields]
    batches = {}
    q = (result.writeStream.outputMode("append").foreachBatch(collector(columns, batches))
         .option("checkpointLocation", os.path.join(scratch, "checkpoint"))
         .trigger(availableNow=True).start())
    q.awaitTermination()
    with open(os.path.join(BASE, "query.txt")) as f:
        query = f.read().replace('"key")\n', '"key", "left_outer")\n')
    with open(os.path.join(out, "query.txt"), "w") as f:
        f.write(query)
    with open(os.path.join(out, "schema.json"), "w") as f:
        json.dump(result.schema.jsonValue(), f, indent=1)
    with open(os.path.join(out, "expected.jsonl"), "w") as f:
        for p in sorted(q.recentProgress, key=lambda p: p["batchId"]):
            bid = p["batchId"]
            s = p["sources"][0]
            data = s["startOffset"] != s["endOffset"]
            name = names[end_offset(s)["logOffset"]]
            file_rows = data_rows(os.path.join(BASE, "input", name))
            f.write(json.dumps({
                "batch": bid,
                "file": name if data else None,
                "file_rows": file_rows if data else 0,
                "num_input_rows": p["numInputRows"],
                "watermark": None,
                "rows": batches.get(bid, []),
            }) + "\n")
    shutil.rmtree(os.path.join(HERE, "scratch"), ignore_errors=True)
    print("wrote", NAME, flush=True)


if __name__ == "__main__":
    main()
