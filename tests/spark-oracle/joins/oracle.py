"""What make_joins.py and make_static.py share: the oracle's Spark session, the way it wrote
values and counted input, the input staged for a file source, and the batch collector.

The oracle ran its scenarios with PySpark, master local[2], spark.sql.shuffle.partitions=2,
UTC, maxFilesPerTrigger=1, trigger(availableNow=True), foreachBatch collecting each batch.
"""

import json
import os
import shutil

from pyspark.sql import SparkSession

# Staged input files get increasing modification times from here, one second apart, so the
# file source reads them in name order.
MTIME = 1_700_000_000


def spark_session():
    spark = (SparkSession.builder.master("local[2]")
             .config("spark.sql.shuffle.partitions", "2")
             .config("spark.ui.enabled", "false")
             .config("spark.sql.session.timeZone", "UTC").getOrCreate())
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def ts(v):
    """A timestamp as the oracle wrote it: ISO 8601 in UTC, milliseconds only when not zero."""
    frac = ""
    if v.microsecond % 1000:
        frac = ".%06d" % v.microsecond
    elif v.microsecond:
        frac = ".%03d" % (v.microsecond // 1000)
    return v.strftime("%Y-%m-%dT%H:%M:%S") + frac + "Z"


def cell(v):
    return ts(v) if hasattr(v, "strftime") else v


def stage(sources, scratch):
    """Copies the files `sources` (in order) into `scratch`, their mtimes increasing."""
    os.makedirs(scratch, exist_ok=True)
    for i, path in enumerate(sources):
        to = os.path.join(scratch, os.path.basename(path))
        shutil.copy(path, to)
        os.utime(to, (MTIME + i, MTIME + i))


def collector(columns, batches, sort=False):
    """A foreachBatch function that keeps each batch's rows (as dicts) in `batches[batch_id]`,
    sorted when `sort` (nulls first), in Spark's order otherwise."""
    def collect(df, bid):
        rows = [[cell(x) for x in row] for row in df.collect()]
        if sort:
            rows.sort(key=lambda r: json.dumps([(x is not None, x) for x in r]))
        batches[bid] = [dict(zip(columns, r)) for r in rows]
    return collect


def end_offset(source):
    """A progress source's end offset, parsed."""
    end = source["endOffset"]
    return json.loads(end) if isinstance(end, str) else end


def data_rows(path):
    """The non-blank lines of an input file: the rows the oracle says it held."""
    with open(path) as f:
        return sum(1 for line in f if line.strip())
