"""The Spark side of the side-by-side with Sluice (see README.md next to this file).

    python spark_queries.py generate <dir> <files> <rows_per_file>
    python spark_queries.py windowed|alerts|keyed <dir>

`generate` writes the seed's rate rows (`timestamp`, `value`: 0, 1, 2, ..., one millisecond
apart from 2024-01-01T10:00:00Z) as `files` Parquet files of `rows_per_file` rows each
(snappy, INT64 TIMESTAMP_MICROS). A query reads the directory as a streaming file source,
`maxFilesPerTrigger` 1, trigger availableNow, into the `noop` sink, on `local[2]`, and prints
one line: `query rows seconds rows_per_second`.
"""

import sys
import time

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StructField, StructType, TimestampType

T0_MICROS = 1_704_103_200_000_000  # 2024-01-01T10:00:00Z


def session():
    return (
        SparkSession.builder.master("local[2]")
        .appName("sluice-side-by-side")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        .getOrCreate()
    )


def generate(spark, out, files, rows_per_file):
    total = files * rows_per_file
    (
        spark.range(0, total, numPartitions=files)
        .select(
            F.timestamp_micros(F.lit(T0_MICROS) + F.col("id") * 1000).alias("timestamp"),
            F.col("id").alias("value"),
        )
        .write.mode("overwrite")
        .parquet(out)
    )


def sensor_stream(spark, path):
    schema = StructType(
        [StructField("timestamp", TimestampType()), StructField("value", LongType())]
    )
    rate = spark.readStream.schema(schema).option("maxFilesPerTrigger", 1).parquet(path)
    # The seed's sensor_stream cell.
    return (
        rate.select(
            F.col("timestamp"),
            F.col("value"),
            (F.col("value") % 5).cast("string").alias("room_id"),
            (20 + (F.col("value") % 10) + (F.col("value") % 3) / 10.0).alias("temperature"),
            (50 + (F.col("value") % 20)).alias("humidity"),
        )
        .withColumn("room_name", F.expr("concat('Room_', room_id)"))
        .select("timestamp", "room_name", "temperature", "humidity")
    )


def query(spark, name, path):
    sensors = sensor_stream(spark, path)
    if name == "windowed":
        df = (
            sensors.withWatermark("timestamp", "30 seconds")
            .groupBy(F.window("timestamp", "10 seconds"), "room_name")
            .agg(
                F.count("*").alias("count"),
                F.avg("temperature").alias("avg_temp"),
                F.max("temperature").alias("max_temp"),
            )
        )
        mode = "append"
    elif name == "alerts":
        df = sensors.filter(F.col("temperature") > 25).select(
            "timestamp",
            "room_name",
            "temperature",
            F.lit("HIGH TEMPERATURE ALERT").alias("alert_type"),
        )
        mode = "append"
    elif name == "keyed":
        df = sensors.groupBy("room_name").agg(F.count("*").alias("count"))
        mode = "update"
    else:
        raise SystemExit(f"unknown query {name}")
    started = time.monotonic()
    q = (
        df.writeStream.format("noop")
        .outputMode(mode)
        .trigger(availableNow=True)
        .option("checkpointLocation", f"/tmp/sluice-side-by-side-checkpoint-{name}-{time.time_ns()}")
        .start()
    )
    q.awaitTermination()
    seconds = time.monotonic() - started
    rows = sum(p["numInputRows"] for p in q.recentProgress)
    print(f"{name} {rows} {seconds:.3f} {rows / seconds:.0f}", flush=True)


def main():
    spark = session()
    spark.sparkContext.setLogLevel("ERROR")
    if sys.argv[1] == "generate":
        generate(spark, sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        query(spark, sys.argv[1], sys.argv[2])
    spark.stop()


if __name__ == "__main__":
    main()
