"""The one way to get a SparkSession, configured from settings (master, memory, partitions, UI), and the class
archive that lets its JVM start without loading Spark's classes from the jars one by one."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from nightshift.errors import ConfigurationError
from nightshift.settings import Settings, get_settings

INITIAL_SHUFFLE_PARTITIONS = 64
ADVISORY_PARTITION_SIZE = "16m"


def _ensure_java_home() -> None:
    """Spark 4 needs Java 17; find it when JAVA_HOME is not set (Debian installs it under /usr/lib/jvm)."""
    if os.environ.get("JAVA_HOME"):
        return
    java = shutil.which("java")
    if java:
        os.environ["JAVA_HOME"] = str(Path(java).resolve().parent.parent)
        return
    raise ConfigurationError(
        "Spark needs Java 17 but no `java` is on PATH and JAVA_HOME is unset. Run `make setup` "
        "(installs openjdk-17-jre-headless with apt) or set JAVA_HOME."
    )


def get_spark(app_name: str = "nightshift", settings: Settings | None = None):
    """A SparkSession for `NIGHTSHIFT_SPARK_MASTER`; reuses the active one if it is already running."""
    settings = settings or get_settings()
    _ensure_java_home()
    # Executors must run the same interpreter (and therefore the same locked packages) as the driver.
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark.sql import SparkSession

    scratch = settings.home / "spark"
    driver_options = [f"-Dderby.system.home={scratch}", *_archive_options(settings), settings.spark_java_options]
    builder = (
        SparkSession.builder.appName(app_name)
        .master(settings.spark_master)
        .config("spark.driver.memory", settings.spark_driver_memory)
        .config("spark.sql.shuffle.partitions", str(settings.spark_shuffle_partitions))
        .config("spark.default.parallelism", str(settings.spark_shuffle_partitions))
        .config("spark.ui.enabled", str(settings.spark_ui).lower())
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", str(scratch / "spark-warehouse"))
        .config("spark.local.dir", str(scratch / "tmp"))
        .config("spark.driver.extraJavaOptions", " ".join(filter(None, driver_options)))
        .config("spark.executor.extraJavaOptions", settings.spark_java_options)
        .config("spark.sql.adaptive.enabled", "true")
        # Shuffle into many small partitions and let AQE merge them up to a modest size: a shuffle's compressed bytes
        # understate the rows a task must hold (the reconcile bench's 10M keys make 435 MB compressed, 34M rows), and
        # a hash aggregation that outgrows a 2g driver's memory spills and falls back to sorting (measured 4 GB spilled
        # with 4 partitions). Small shuffles still end up in one or a few partitions.
        .config(
            "spark.sql.adaptive.coalescePartitions.initialPartitionNum",
            str(max(settings.spark_shuffle_partitions, INITIAL_SHUFFLE_PARTITIONS)),
        )
        .config("spark.sql.adaptive.advisoryPartitionSizeInBytes", ADVISORY_PARTITION_SIZE)
        # ... also for cached frames (the audience and segment jobs cache some): else a small one keeps 64 partitions
        .config("spark.sql.optimizer.canChangeCachedPlanOutputPartitioning", "true")
        # Progress bars garble task logs and CLI output; stage timings are reported by Nightshift itself.
        .config("spark.ui.showConsoleProgress", "false")
    )
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    _check_java_options(spark, settings.spark_java_options)
    return spark


@contextmanager
def session_settings(spark, wanted: Mapping[str, str]) -> Iterator[None]:
    """Spark SQL settings for the work inside the block, the session's own restored afterwards: one process's stages
    share a session (`nightshift run`), and a setting one stage needs must not change how the next one plans.

    Spark plans a DataFrame when an action runs, so the action (the write) belongs inside the block."""
    saved = {key: spark.conf.get(key, None) for key in wanted}
    for key, value in wanted.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, value)


def _check_java_options(spark, options: str) -> None:
    """Spark starts its JVM with -XX:+IgnoreUnrecognizedVMOptions, so a misspelt -XX option in
    NIGHTSHIFT_SPARK_JAVA_OPTIONS would silently do nothing: ask the running JVM for each one instead."""
    names = re.findall(r"-XX:[+-]?(\w+)", options)
    if not names:
        return
    from pyspark.errors import IllegalArgumentException

    jvm = spark.sparkContext._jvm
    diagnostics = jvm.java.lang.management.ManagementFactory.getPlatformMXBean(
        jvm.java.lang.Class.forName("com.sun.management.HotSpotDiagnosticMXBean")
    )
    for name in names:
        try:
            diagnostics.getVMOption(name)
        except IllegalArgumentException:
            raise ConfigurationError(
                f"NIGHTSHIFT_SPARK_JAVA_OPTIONS ({options!r}) names -XX:{name}, which this JVM does not know; Spark "
                "tells the JVM to ignore unknown options, so it would have no effect. Correct the name (`java "
                "-XX:+PrintFlagsFinal -version` lists them) or remove it."
            ) from None


# The driver JVM's class archive (AppCDS, JDK 17's dynamic archive). A cold JVM reads, verifies and links some ten
# thousand classes from Spark's ~280 jars (10,964 for a session and one small query); mapped from an archive that
# was dumped once, they cost almost nothing. Measured on 2 cores: a session plus one small query 9.1-10.1 s ->
# 5.3-6.4 s; the segments and audiences stages of a 20k-people night in a fresh process 21.7-22.7 s -> 17.3-19.4 s.
# Every Airflow task and every `nightshift run` starts such a JVM. A cluster's executors start their own JVMs and
# are left alone.
ARCHIVE_LOGGING_OFF = ("-Xlog:cds=off", "-Xlog:cds+dynamic=off")  # a JVM that cannot use it says so on stdout


def class_archive(settings: Settings) -> Path | None:
    """Where this Java and this Spark keep their class archive (NIGHTSHIFT_SPARK_CLASS_CACHE), or None when the cache
    is off or the Java runtime does not say its version. The file may not exist yet (`nightshift spark-init`)."""
    if not settings.spark_class_cache:
        return None
    _ensure_java_home()
    release = Path(os.environ["JAVA_HOME"]) / "release"
    try:
        runtime = re.search(r'^JAVA_RUNTIME_VERSION="([^"]+)"', release.read_text(), re.MULTILINE)
    except OSError:
        return None
    if runtime is None:
        return None
    from pyspark import __version__ as spark_version

    java = re.sub(r"[^\w.+-]", "_", runtime.group(1))
    return Path(settings.spark_class_cache).expanduser() / f"spark-{spark_version}-java-{java}.jsa"


def _archive_options(settings: Settings) -> list[str]:
    archive = class_archive(settings)
    if archive is None or not archive.is_file():
        return []
    # A JVM of another build or class path ignores the archive and runs as without it.
    return [f"-XX:SharedArchiveFile={archive}", *ARCHIVE_LOGGING_OFF]


def ensure_class_archive(settings: Settings) -> Path | None:
    """Dump the driver's class archive if this Java and Spark have none yet (`make setup` runs this); return it.

    A short Spark job runs in a process of its own whose JVM writes the classes it loaded when it exits. The file is
    dumped under a temporary name and renamed into place only once a JVM has mapped it: a JVM given a truncated
    archive crashes (measured), so a half-written one must never carry the final name."""
    archive = class_archive(settings)
    if archive is None or archive.is_file():
        return archive
    archive.parent.mkdir(parents=True, exist_ok=True)
    partial = archive.with_name(f"{archive.name}.{os.getpid()}.partial")
    with tempfile.TemporaryDirectory(prefix="nightshift-spark-classes-") as scratch:
        environment = {
            **os.environ, "NIGHTSHIFT_HOME": scratch, "NIGHTSHIFT_SPARK_MASTER": "local[2]",
            "NIGHTSHIFT_SPARK_CLASS_CACHE": "", "NIGHTSHIFT_SPARK_UI": "false",
            "NIGHTSHIFT_SPARK_JAVA_OPTIONS": f"{settings.spark_java_options} -XX:ArchiveClassesAtExit={partial}",
        }  # fmt: skip
        recorded = subprocess.run([sys.executable, "-m", "nightshift.spark", scratch], env=environment,
                                  capture_output=True, text=True)  # fmt: skip
    try:
        if recorded.returncode != 0:
            lines = (recorded.stdout + recorded.stderr).splitlines()
            cause = next((line for line in reversed(lines) if "Error" in line or "Exception" in line), "")
            raise ConfigurationError(
                f"Dumping Spark's class archive failed (exit {recorded.returncode}): {cause.strip()}\nSpark works "
                "without the archive, only slower to start. The end of the job's output:\n" + "\n".join(lines[-30:])
            )
        if not _maps_cleanly(partial):
            raise ConfigurationError(
                f"The JVM dumped a class archive it cannot map ({partial}); Spark works without it, only slower to "
                "start. Check the free space in that folder, or set NIGHTSHIFT_SPARK_CLASS_CACHE to another one."
            )
        os.replace(partial, archive)
    finally:
        partial.unlink(missing_ok=True)
    return archive


def _maps_cleanly(archive: Path) -> bool:
    """Whether a JVM starts with `archive` mapped (a truncated one makes it crash before `main`)."""
    if not archive.is_file():
        return False
    java = Path(os.environ["JAVA_HOME"]) / "bin" / "java"
    crash_quietly = ("-XX:ErrorFile=/dev/null", "-XX:-CreateCoredumpOnCrash")  # no hs_err file, no core
    started = subprocess.run([str(java), f"-XX:SharedArchiveFile={archive}", *ARCHIVE_LOGGING_OFF, *crash_quietly,
                              "-version"], capture_output=True)  # fmt: skip
    return started.returncode == 0


def _exercise(spark, scratch: Path) -> None:
    """A small job that loads the classes the stages use: Python rows, Parquet out and in, shuffled and broadcast
    joins, aggregations, windows, arrays and maps, dates and time zones, hashes, unions, a collect."""
    from pyspark.sql import Window
    from pyspark.sql import functions as F

    people = spark.createDataFrame(
        [(n, f"p{n % 97}", n % 5 == 0, f"2026-11-{1 + n % 28:02d}") for n in range(2000)],
        "one_id long, channel string, flagged boolean, day string",
    ).withColumn("day", F.to_date("day"))
    path = str(scratch / "people")
    people.write.mode("overwrite").parquet(path)
    people = spark.read.parquet(path)
    ranked = people.withColumn(
        "rank", F.row_number().over(Window.partitionBy("channel").orderBy(F.col("day").desc(), "one_id"))
    )
    counts = ranked.groupBy("channel").agg(
        F.count("*").alias("people"), F.sum(F.col("flagged").cast("int")).alias("flagged"),
        F.max("day").alias("last"), F.collect_set("one_id").alias("ids"), F.count_if("flagged").alias("n"),
    )  # fmt: skip
    joined = ranked.join(counts, "channel").join(F.broadcast(counts.select("channel", "people")), "channel", "left")
    shaped = joined.select(
        "one_id", F.explode(F.array(F.lit("sms"), F.lit("push"))).alias("via"),
        F.create_map(F.lit("k"), F.col("channel")).alias("map"), F.xxhash64("one_id").alias("hash"),
        F.sha2(F.col("channel"), 256).alias("sha"), F.date_format(F.to_utc_timestamp(F.col("day").cast("timestamp"),
        "Asia/Shanghai"), "yyyy-MM-dd HH:mm").alias("at"), F.when(F.col("rank") == 1, "first").otherwise("later"),
    )  # fmt: skip
    shaped.unionByName(shaped).drop("map").distinct().groupBy("via").count().collect()
    shaped.write.mode("overwrite").parquet(str(scratch / "shaped"))


if __name__ == "__main__":  # `ensure_class_archive` runs this in the process whose JVM dumps the archive
    _exercise(get_spark("nightshift-class-archive"), Path(sys.argv[1]))
