"""The Spark driver's class archive (NIGHTSHIFT_SPARK_CLASS_CACHE, `nightshift spark-init`): a new Spark process maps
it, a cache set to "" turns it off, and an archive that a JVM cannot map never gets the name Spark looks for."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nightshift.errors import ConfigurationError
from nightshift.settings import Settings
from nightshift.spark import _archive_options, _maps_cleanly, class_archive, ensure_class_archive
from tests.conftest import REPO_ROOT, isolated_env

MAPPED_ARCHIVES = """
from nightshift.spark import get_spark
spark = get_spark("class-archive-test")
pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
with open(f"/proc/{pid}/maps") as maps:
    print("MAPPED " + " ".join(sorted({line.split()[-1] for line in maps if line.rstrip().endswith(".jsa")})))
"""


def _archives_mapped_by_a_new_spark_process(home) -> list[str]:
    completed = subprocess.run([sys.executable, "-c", MAPPED_ARCHIVES], env=isolated_env(home), cwd=REPO_ROOT,
                               capture_output=True, text=True, timeout=300)  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    line = next(line for line in completed.stdout.splitlines() if line.startswith("MAPPED"))
    return line.split()[1:]


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """The repository's own class archive, as `make setup` left it (dumped here when pytest runs without make)."""
    home = tmp_path_factory.mktemp("class-archive")
    archive = ensure_class_archive(Settings(home=home))
    assert archive is not None and archive.is_file() and archive.parent == REPO_ROOT / ".cache" / "spark-classes"
    modified = archive.stat().st_mtime_ns
    assert ensure_class_archive(Settings(home=home)) == archive and archive.stat().st_mtime_ns == modified  # kept
    return archive


def test_a_new_spark_process_maps_the_class_archive_unless_the_cache_is_off(archive, tmp_path):

    assert str(archive) in _archives_mapped_by_a_new_spark_process(tmp_path)
    off = Settings(home=tmp_path, spark_class_cache="")
    assert class_archive(off) is None and _archive_options(off) == [] and ensure_class_archive(off) is None
    assert off.describe()["NIGHTSHIFT_SPARK_CLASS_CACHE"] == "(off)"


def test_an_archive_a_jvm_cannot_map_is_never_given_the_name_spark_looks_for(archive, tmp_path):
    assert class_archive(Settings(home=tmp_path)) == archive
    truncated = tmp_path / "truncated.jsa"
    with archive.open("rb") as whole, truncated.open("wb") as part:
        part.write(whole.read(archive.stat().st_size // 4))
    assert _maps_cleanly(archive) and not _maps_cleanly(truncated)  # a JVM given the truncated one crashes

    # a recording job that fails (here its JVM refuses to start) leaves neither an archive nor a partial file behind
    cache = tmp_path / "cache"
    failing = Settings(home=tmp_path, spark_class_cache=str(cache), spark_java_options="-Xss1k")
    with pytest.raises(ConfigurationError, match="Dumping Spark's class archive failed") as refused:
        ensure_class_archive(failing)
    assert "stack size specified is too small" in str(refused.value)
    assert list(cache.iterdir()) == []
