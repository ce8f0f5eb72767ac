"""The one way to get a SparkSession, configured from settings (master, memory, partitions, UI)."""

from __future__ import annotations

import os
import re
import shutil
import sys
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
        .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={scratch} {settings.spark_java_options}".strip())
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
