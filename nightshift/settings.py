"""The one settings object: every knob Nightshift reads comes from an environment variable here.

| variable                            | default                      | meaning                                     |
|-------------------------------------|------------------------------|---------------------------------------------|
| NIGHTSHIFT_HOME                     | `<repo>/.nightshift`         | base for every default path below           |
| NIGHTSHIFT_CLICKHOUSE_URL           | `$HOME/warehouse` (embedded) | `chdb:///abs/dir` or `http(s)://u:p@h:port` |
| NIGHTSHIFT_LAKE                     | `$HOME/lake`                 | Parquet dir or fsspec URL (s3://)           |
| NIGHTSHIFT_LANDING                  | `$HOME/landing`              | incoming channel data drops                 |
| NIGHTSHIFT_EXPORTS                  | `$HOME/exports`              | outgoing files for delivery channels        |
| NIGHTSHIFT_REPORTS                  | `$HOME/reports`              | reports written for operations              |
| NIGHTSHIFT_SPARK_MASTER             | `local[2]`                   | `local[N]` or `spark://host:port`           |
| NIGHTSHIFT_SPARK_DRIVER_MEMORY      | `2g`                         | driver memory                               |
| NIGHTSHIFT_SPARK_SHUFFLE_PARTITIONS | 2 x cores (min 2)            | `spark.sql.shuffle.partitions`              |
| NIGHTSHIFT_SPARK_UI                 | `false`                      | start the Spark web UI                      |
| NIGHTSHIFT_SPARK_JAVA_OPTIONS       | (none)                       | extra JVM options for Spark (see below)     |
| NIGHTSHIFT_SPARK_CLASS_CACHE        | `<repo>/.cache/spark-classes`| the driver's class archive (`""`: off)      |
| NIGHTSHIFT_WAREHOUSE_LOCK_TIMEOUT   | `120` (seconds)              | how long to wait for a locked warehouse     |
| NIGHTSHIFT_DBT_THREADS              | `4`                          | dbt models and tests run at once            |
| NIGHTSHIFT_DBT_PARSE_CACHE          | `<repo>/.cache/dbt-parse`    | dbt's parse, shared (`""`: off)             |

NIGHTSHIFT_SPARK_JAVA_OPTIONS is added to the driver's and executors' JVM options. `-XX:TieredStopAtLevel=1` (JIT
compile with C1 only) halves the JVM's CPU on small nights, where compiling costs more than it saves (measured on
the identity job at 70k links: 28 -> 16 JVM CPU s); it slows big nights, so it is not the default. Pair it with
`-XX:ReservedCodeCacheSize=240m`: C1 alone gets a 48 MB code cache, which several nights in one JVM can fill. The
test suite sets both.

NIGHTSHIFT_SPARK_CLASS_CACHE is a folder holding one class archive per Java build and Spark version (AppCDS): the
driver's JVM maps Spark's classes from it instead of loading them from the jars, which takes 3-5 s off every Spark
session started in a new process (each `nightshift run`, each Airflow task). `make setup` (`nightshift spark-init`)
dumps it; until then, or when the folder is empty (`""`: off), Spark starts as without it.

NIGHTSHIFT_DBT_THREADS is dbt's `--threads` for the build stage and every other dbt run Nightshift starts. dbt's
time per node is mostly Python (rendering, materialization macros), so several nodes at once let the engine work
while dbt prepares the next: the 20k-people night's build 18.1 -> 12.8 s of dbt time at 4 (2 cores). Each dbt
thread has its own connection, so up to that many queries run in the warehouse at once: set 1 if one big
night's models need the whole memory of the machine one at a time.

NIGHTSHIFT_DBT_PARSE_CACHE is a folder where installations of this project share dbt's saved parse
(`partial_parse.msgpack`): a new installation's first dbt run starts from it instead of parsing all ~240 files
(dbt's load: 14.7 s -> 1.7 s on 2 cores). dbt checks each file's checksum, the vars and its version before reusing
a parse, as it does night after night in one installation. Empty turns sharing off; a folder that cannot be
written is skipped.

Where the export stage publishes each night's files besides `$EXPORTS/<date>/` (`nightshift.deliveries.publish`),
off unless set: NIGHTSHIFT_EXPORT_TARGET, an fsspec URL (`sftp://user:password@host:port/path`,
`s3://bucket/prefix`, or a directory), and NIGHTSHIFT_EXPORT_TARGET_OPTIONS, the filesystem's options as JSON
(e.g. `{"known_hosts": null}` for SFTP, `{"client_kwargs": {"endpoint_url": "https://..."}}` for S3; AWS keys
come from the usual AWS_* variables).

Delivery of the nightly report (`nightshift.reporting.delivery`), off unless set:

- NIGHTSHIFT_REPORT_EMAIL_TO: comma-separated recipients (empty: no e-mail); NIGHTSHIFT_REPORT_EMAIL_FROM
  (default `nightshift@localhost`).
- NIGHTSHIFT_REPORT_SMTP_CONN_ID: an Airflow connection id (e.g. `smtp_default`), used in production: login and
  TLS live there. Else NIGHTSHIFT_REPORT_SMTP_HOST and _PORT (default 25): a plain relay, no login.
- NIGHTSHIFT_REPORT_WEBHOOK_URL: a WeCom or DingTalk group-robot webhook (empty: none);
  NIGHTSHIFT_REPORT_WEBHOOK_KIND `wecom` (default) or `dingtalk`. A DingTalk robot with signing (加签): append
  `&secret=SEC...` to the URL; each message is signed with it and the secret itself is never sent.
- NIGHTSHIFT_REPORT_URL_BASE: where people open reports (e.g. `https://reports.example/`); messages link to
  `<base>/<date>/index.html`, or to the local file when empty. NIGHTSHIFT_REPORT_DELIVERY_TIMEOUT: seconds per
  attempt (default 10).

Delivery through the channels' APIs (the `deliver` stage, `nightshift.deliveries.api`), off unless set:

- NIGHTSHIFT_DELIVERY_ENDPOINTS: JSON `{channel: base URL}` for `sms` (Aliyun), `app_push` (JPush),
  `wechat_oa_template` (WeChat) and `wecom` (e.g. `{"sms": "https://dysmsapi.aliyuncs.com"}`); empty: the stage
  sends nothing and says so. NIGHTSHIFT_DELIVERY_RATE_LIMITS: JSON `{channel: requests per second}` over the
  defaults (sms 50, app_push 20, wechat_oa_template 100, wecom 100). NIGHTSHIFT_DELIVERY_TIMEOUT: seconds per
  call (default 10); NIGHTSHIFT_DELIVERY_MAX_ATTEMPTS: tries per call on retryable errors (default 6), with
  exponential backoff from NIGHTSHIFT_DELIVERY_BACKOFF_SECONDS (default 0.5).
- The vendors' secrets are NOT settings: they come only from the environment (ALIYUN_ACCESS_KEY_ID/_SECRET,
  JPUSH_APP_KEY/_MASTER_SECRET, WECHAT_APP_ID/_SECRET, WECOM_CORP_ID/_SECRET), read when a delivery starts and
  never logged or stored.

Short links (`template.link` in a plan, `nightshift shortlinks serve`):

- NIGHTSHIFT_SHORTLINK_BASE_URL: the public address of the redirect service; a link is `<base>/<code>` (default
  `http://127.0.0.1:8710`, where `nightshift shortlinks serve` listens by default: fine for a demo, set the real
  public https address in production).
- NIGHTSHIFT_SHORTLINK_IP_SALT: the secret mixed into each click's IP before hashing (`sha256(salt + ip)`), so
  the click log never holds an address and the hashes cannot be reversed by hashing every IPv4 address. Required
  by the service (it refuses to start without one); keep it secret and stable, or one visitor's hashes split.

Read by the DAG file at parse time (not a runtime setting): NIGHTSHIFT_RETRY_DELAY_SECONDS (default 300), the
delay between task retries; `airflow dags test` runs started by Nightshift set it to 1.

Pointing NIGHTSHIFT_HOME (or every path variable) somewhere else gives a fully separate installation;
the tests rely on that.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Literal
from urllib.parse import unquote, urlparse

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from nightshift.errors import ConfigurationError

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _default_shuffle_partitions() -> int:
    return max(2, 2 * (os.cpu_count() or 1))


@dataclass(frozen=True)
class WarehouseTarget:
    """Where the warehouse lives: an embedded engine directory or a ClickHouse server."""

    embedded_path: Path | None = None
    host: str = ""
    port: int = 8123
    username: str = "default"
    password: str = ""
    secure: bool = False

    @property
    def is_embedded(self) -> bool:
        return self.embedded_path is not None

    def describe(self) -> str:
        if self.is_embedded:
            return f"embedded ClickHouse (chdb) in {self.embedded_path}"
        scheme = "https" if self.secure else "http"
        return f"ClickHouse server {scheme}://{self.username}@{self.host}:{self.port}"


def parse_warehouse_url(url: str, default_embedded_path: Path) -> WarehouseTarget:
    """Turn NIGHTSHIFT_CLICKHOUSE_URL into a target; empty means the default embedded directory."""
    if not url:
        return WarehouseTarget(embedded_path=default_embedded_path.resolve())
    parsed = urlparse(url)
    if parsed.scheme == "chdb":
        if parsed.netloc or not parsed.path.startswith("/"):
            raise ConfigurationError(
                f"NIGHTSHIFT_CLICKHOUSE_URL={url!r}: an embedded warehouse needs an absolute directory, "
                "for example chdb:///srv/nightshift/warehouse"
            )
        return WarehouseTarget(embedded_path=Path(parsed.path).resolve())
    if parsed.scheme in ("http", "https"):
        if not parsed.hostname:
            raise ConfigurationError(
                f"NIGHTSHIFT_CLICKHOUSE_URL={url!r} has no host; expected http(s)://user:password@host:port"
            )
        secure = parsed.scheme == "https"
        return WarehouseTarget(
            host=parsed.hostname,
            port=parsed.port or (8443 if secure else 8123),
            username=unquote(parsed.username or "default"),
            password=unquote(parsed.password or ""),
            secure=secure,
        )
    raise ConfigurationError(
        f"NIGHTSHIFT_CLICKHOUSE_URL={url!r} has an unknown scheme {parsed.scheme!r}; use chdb:///abs/dir "
        "for the embedded engine or http(s)://user:password@host:port for a ClickHouse server"
    )


def hide_password(url: str) -> str:
    """The URL with its password, if any, shown as ***."""
    parsed = urlparse(url)
    if not parsed.password:
        return url
    return url.replace(f":{parsed.password}@", ":***@", 1)


class Settings(BaseSettings):
    """Settings in force, read from NIGHTSHIFT_* environment variables (see the module docstring)."""

    model_config = SettingsConfigDict(env_prefix="NIGHTSHIFT_", frozen=True, extra="ignore")

    home: Path = Field(default=PROJECT_ROOT / ".nightshift")
    clickhouse_url: str = ""
    lake: str = ""
    landing: Path | None = None
    exports: Path | None = None
    export_target: str = ""
    export_target_options: str = ""
    reports: Path | None = None
    spark_master: str = "local[2]"
    spark_driver_memory: str = "2g"
    spark_shuffle_partitions: int = Field(default_factory=_default_shuffle_partitions, ge=1)
    spark_ui: bool = False
    spark_java_options: str = ""
    spark_class_cache: str = str(PROJECT_ROOT / ".cache" / "spark-classes")
    warehouse_lock_timeout: float = Field(default=120.0, ge=0)
    dbt_threads: int = Field(default=4, ge=1)
    dbt_parse_cache: str = str(PROJECT_ROOT / ".cache" / "dbt-parse")
    report_email_to: str = ""
    report_email_from: str = "nightshift@localhost"
    report_smtp_conn_id: str = ""
    report_smtp_host: str = ""
    report_smtp_port: int = Field(default=25, ge=1, le=65535)
    report_webhook_url: str = ""
    report_webhook_kind: Literal["wecom", "dingtalk"] = "wecom"
    report_url_base: str = ""
    report_delivery_timeout: float = Field(default=10.0, gt=0)
    delivery_endpoints: str = ""
    delivery_rate_limits: str = ""
    delivery_timeout: float = Field(default=10.0, gt=0)
    delivery_max_attempts: int = Field(default=6, ge=1)
    delivery_backoff_seconds: float = Field(default=0.5, ge=0)
    shortlink_base_url: str = "http://127.0.0.1:8710"
    shortlink_ip_salt: str = ""

    @field_validator("home", mode="after")
    @classmethod
    def _absolute_home(cls, home: Path) -> Path:
        return home.expanduser().resolve()

    @cached_property
    def warehouse(self) -> WarehouseTarget:
        return parse_warehouse_url(self.clickhouse_url, self.home / "warehouse")

    @property
    def lake_root(self) -> str:
        """Lake location as a string: a local absolute path or an fsspec URL such as s3://bucket/lake."""
        if not self.lake:
            return str(self.home / "lake")
        if "://" in self.lake:
            return self.lake.rstrip("/")
        return str(Path(self.lake).expanduser().resolve())

    @property
    def landing_dir(self) -> Path:
        return (self.landing or self.home / "landing").expanduser().resolve()

    @property
    def exports_dir(self) -> Path:
        return (self.exports or self.home / "exports").expanduser().resolve()

    @property
    def reports_dir(self) -> Path:
        return (self.reports or self.home / "reports").expanduser().resolve()

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    def describe(self) -> dict[str, str]:
        """Settings in force, as shown by `nightshift status` (passwords hidden)."""
        return {
            "NIGHTSHIFT_HOME": str(self.home),
            "NIGHTSHIFT_CLICKHOUSE_URL": self.warehouse.describe(),
            "NIGHTSHIFT_LAKE": self.lake_root,
            "NIGHTSHIFT_LANDING": str(self.landing_dir),
            "NIGHTSHIFT_EXPORTS": str(self.exports_dir),
            "NIGHTSHIFT_EXPORT_TARGET": hide_password(self.export_target) or "(the exports folder only)",
            "NIGHTSHIFT_REPORTS": str(self.reports_dir),
            "NIGHTSHIFT_SPARK_MASTER": self.spark_master,
            "NIGHTSHIFT_SPARK_DRIVER_MEMORY": self.spark_driver_memory,
            "NIGHTSHIFT_SPARK_SHUFFLE_PARTITIONS": str(self.spark_shuffle_partitions),
            "NIGHTSHIFT_SPARK_UI": str(self.spark_ui).lower(),
            "NIGHTSHIFT_SPARK_JAVA_OPTIONS": self.spark_java_options or "(none)",
            "NIGHTSHIFT_SPARK_CLASS_CACHE": self.spark_class_cache or "(off)",
            "NIGHTSHIFT_WAREHOUSE_LOCK_TIMEOUT": f"{self.warehouse_lock_timeout:g}s",
            "NIGHTSHIFT_DBT_THREADS": str(self.dbt_threads),
            "NIGHTSHIFT_DBT_PARSE_CACHE": self.dbt_parse_cache or "(off)",
            "NIGHTSHIFT_REPORT_EMAIL_TO": self.report_email_to or "(no e-mail)",
            "NIGHTSHIFT_DELIVERY_ENDPOINTS": self.delivery_endpoints or "(no API delivery)",
            "NIGHTSHIFT_SHORTLINK_BASE_URL": self.shortlink_base_url,
            "NIGHTSHIFT_SHORTLINK_IP_SALT": "(set)" if self.shortlink_ip_salt else "(not set)",
            "NIGHTSHIFT_REPORT_WEBHOOK_URL": (
                f"{self.report_webhook_kind} robot" if self.report_webhook_url else "(none)"
            ),
        }


def get_settings() -> Settings:
    """Read the settings from the environment now (cheap; not cached so tests can change the env)."""
    try:
        return Settings()
    except ValueError as error:
        raise ConfigurationError(f"Invalid NIGHTSHIFT_* setting: {error}") from None
