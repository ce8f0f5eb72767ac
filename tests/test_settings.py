from pathlib import Path

import pytest

from nightshift.errors import ConfigurationError
from nightshift.settings import PROJECT_ROOT, Settings, parse_warehouse_url


def test_defaults_live_under_the_repo_dot_nightshift(monkeypatch):
    for name in (
        "NIGHTSHIFT_HOME",
        "NIGHTSHIFT_CLICKHOUSE_URL",
        "NIGHTSHIFT_LAKE",
        "NIGHTSHIFT_LANDING",
        "NIGHTSHIFT_EXPORTS",
        "NIGHTSHIFT_SPARK_MASTER",
    ):
        monkeypatch.delenv(name, raising=False)
    settings = Settings()
    home = PROJECT_ROOT / ".nightshift"
    assert settings.warehouse.embedded_path == home / "warehouse"
    assert settings.lake_root == str(home / "lake")
    assert settings.landing_dir == home / "landing"
    assert settings.exports_dir == home / "exports"
    assert settings.spark_master == "local[2]"


def test_one_home_variable_moves_the_whole_installation(monkeypatch, tmp_path):
    monkeypatch.setenv("NIGHTSHIFT_HOME", str(tmp_path))
    monkeypatch.delenv("NIGHTSHIFT_CLICKHOUSE_URL", raising=False)
    monkeypatch.delenv("NIGHTSHIFT_LAKE", raising=False)
    settings = Settings()
    paths = [
        settings.warehouse.embedded_path,
        Path(settings.lake_root),
        settings.landing_dir,
        settings.exports_dir,
        settings.reports_dir,
        settings.airflow_home,
    ]
    assert all(str(path).startswith(str(tmp_path)) for path in paths)


def test_each_location_can_be_set_separately(monkeypatch, tmp_path):
    monkeypatch.setenv("NIGHTSHIFT_CLICKHOUSE_URL", f"chdb://{tmp_path}/wh")
    monkeypatch.setenv("NIGHTSHIFT_LAKE", "s3://bucket/lake/")
    monkeypatch.setenv("NIGHTSHIFT_LANDING", str(tmp_path / "in"))
    monkeypatch.setenv("NIGHTSHIFT_EXPORTS", str(tmp_path / "out"))
    monkeypatch.setenv("NIGHTSHIFT_SPARK_MASTER", "spark://127.0.0.1:7077")
    settings = Settings()
    assert settings.warehouse.embedded_path == tmp_path / "wh"
    assert settings.lake_root == "s3://bucket/lake"
    assert settings.landing_dir == tmp_path / "in"
    assert settings.exports_dir == tmp_path / "out"
    assert settings.spark_master == "spark://127.0.0.1:7077"


def test_server_url_is_parsed_with_credentials():
    target = parse_warehouse_url("https://analyst:s%40cret@ch.example.internal:8443", Path("/unused"))
    assert not target.is_embedded
    assert (target.host, target.port, target.username, target.password, target.secure) == (
        "ch.example.internal",
        8443,
        "analyst",
        "s@cret",
        True,
    )
    assert "s@cret" not in target.describe()


@pytest.mark.parametrize(
    ("url", "hint"),
    [("chdb://relative/dir", "absolute directory"), ("mysql://h:3306", "unknown scheme"), ("http://", "no host")],
)
def test_bad_warehouse_urls_say_what_to_do(url, hint):
    with pytest.raises(ConfigurationError, match=hint):
        parse_warehouse_url(url, Path("/unused"))


def test_spark_java_options_reach_the_running_jvm(spark):
    # the session fixture's settings carry the suite's NIGHTSHIFT_SPARK_JAVA_OPTIONS (tests/conftest.py)
    from tests.conftest import TEST_SPARK_JAVA_OPTIONS

    runtime = spark.sparkContext._jvm.java.lang.management.ManagementFactory.getRuntimeMXBean()
    assert set(TEST_SPARK_JAVA_OPTIONS.split()) <= set(runtime.getInputArguments())
    assert Settings(spark_java_options="-Xss4m").describe()["NIGHTSHIFT_SPARK_JAVA_OPTIONS"] == "-Xss4m"


def test_a_misspelt_spark_java_option_is_refused_rather_than_ignored(spark, tmp_path):
    from nightshift.spark import get_spark

    misspelt = Settings(home=tmp_path, spark_java_options="-XX:TieredStopAtLevl=1")
    with pytest.raises(ConfigurationError, match="-XX:TieredStopAtLevl, which this JVM does not know"):
        get_spark("misspelt-option", misspelt)
    assert get_spark("known-option", Settings(home=tmp_path, spark_java_options="-XX:TieredStopAtLevel=1"))
