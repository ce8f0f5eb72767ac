"""The production topology (docker-compose.yml) agrees with the code: Docker cannot run here, so this checks it.

The settings list comes from `nightshift.settings.Settings` itself and the Airflow option names from the installed
Airflow's config reference, so adding a setting without wiring it (or misspelling an option) fails here.
Compose variables (`${VAR:-default}`) are resolved the way `docker compose` does, from `.env.example`, with a
placeholder for each secret that the example leaves empty.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import os
import re
import shlex
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml
from sqlalchemy.engine import make_url

from nightshift import airflow_setup
from nightshift.settings import Settings

REPO = Path(__file__).resolve().parent.parent
COMPOSE_FILE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
DAG_FILE = REPO / "dags" / "nightly_marketing.py"

CLICKHOUSE = "clickhouse"
POSTGRES = "postgres"
AIRFLOW_INIT = "airflow-init"
AIRFLOW_APISERVER = "airflow-apiserver"
AIRFLOW_SCHEDULER = "airflow-scheduler"
AIRFLOW_DAG_PROCESSOR = "airflow-dag-processor"
AIRFLOW_TRIGGERER = "airflow-triggerer"
SPARK_MASTER = "spark-master"
SPARK_WORKER = "spark-worker"
AIRFLOW_SERVICES = (AIRFLOW_INIT, AIRFLOW_APISERVER, AIRFLOW_SCHEDULER, AIRFLOW_DAG_PROCESSOR, AIRFLOW_TRIGGERER)
AIRFLOW_DAEMONS = AIRFLOW_SERVICES[1:]
SPARK_SERVICES = (SPARK_MASTER, SPARK_WORKER)
REQUIRED_SERVICES = (CLICKHOUSE, POSTGRES, *AIRFLOW_SERVICES, *SPARK_SERVICES)
# The Airflow 3 component each service runs (`airflow <command>`).
AIRFLOW_COMMANDS = {
    AIRFLOW_APISERVER: ["airflow", "api-server"],
    AIRFLOW_SCHEDULER: ["airflow", "scheduler"],
    AIRFLOW_DAG_PROCESSOR: ["airflow", "dag-processor"],
    AIRFLOW_TRIGGERER: ["airflow", "triggerer"],
}
POSTGRES_PORT = 5432
# Service and healthcheck keys of the Compose Specification (compose-spec.json) that this topology may use.
# Compose rejects unknown keys at `up`, which cannot run here; this catches a misspelt key first.
COMPOSE_SERVICE_KEYS = {
    "build", "command", "configs", "container_name", "cpus", "depends_on", "deploy", "entrypoint", "env_file",
    "environment", "expose", "extra_hosts", "healthcheck", "hostname", "image", "init", "labels", "logging",
    "mem_limit", "networks", "platform", "ports", "profiles", "pull_policy", "read_only", "restart", "secrets",
    "shm_size", "stop_grace_period", "stop_signal", "tmpfs", "ulimits", "user", "volumes", "working_dir",
}  # fmt: skip
HEALTHCHECK_KEYS = {"test", "interval", "timeout", "retries", "start_period", "start_interval", "disable"}
SECRET_NAME = re.compile(r"PASSWORD|SECRET|FERNET")
# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}; `$$` is a literal `$`.
COMPOSE_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


# ---------------------------------------------------------------- reading the files


@cache
def compose_text() -> str:
    return COMPOSE_FILE.read_text()


def env_example() -> dict[str, str]:
    """KEY=value lines of .env.example (comments and blank lines skipped)."""
    values = {}
    for number, line in enumerate(ENV_EXAMPLE.read_text().splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, separator, value = line.partition("=")
        assert separator, f"{ENV_EXAMPLE}:{number}: expected KEY=value, got {line!r}"
        values[key.strip()] = value.strip()
    return values


def example_environment() -> dict[str, str]:
    """What compose would read from a filled-in .env: the example, with a placeholder for each empty secret."""
    return {key: value or f"example-{key.lower().replace('_', '-')}" for key, value in env_example().items()}


def referenced_variables() -> dict[str, set[str]]:
    """Every compose variable the file references -> the operators used with it ('' for a plain ${NAME})."""
    found: dict[str, set[str]] = {}
    for match in COMPOSE_VARIABLE.finditer(compose_text()):
        if match["name"]:
            found.setdefault(match["name"], set()).add(match["op"] or "")
    return found


def interpolate(value: str, environment: dict[str, str], where: str) -> str:
    """Resolve compose variables in one string, as `docker compose` does."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match["name"], match["op"], match["arg"]
        is_set = name in environment
        is_nonempty = bool(environment.get(name))
        if op in (":-", "-"):
            use_default = not is_nonempty if op == ":-" else not is_set
            return arg if use_default else environment[name]
        if op in (":?", "?"):
            missing = not is_nonempty if op == ":?" else not is_set
            if missing:
                raise AssertionError(f"{COMPOSE_FILE.name} {where}: ${{{name}}} is required ({arg}) but unset")
            return environment[name]
        assert is_set, f"{COMPOSE_FILE.name} {where}: ${{{name}}} has no default and is not in {ENV_EXAMPLE.name}"
        return environment[name]

    return COMPOSE_VARIABLE.sub(replace, value)


def interpolate_tree(node: Any, environment: dict[str, str], where: str = "") -> Any:
    if isinstance(node, dict):
        return {key: interpolate_tree(value, environment, f"{where}.{key}") for key, value in node.items()}
    if isinstance(node, list):
        return [interpolate_tree(item, environment, f"{where}[{index}]") for index, item in enumerate(node)]
    if isinstance(node, str):
        return interpolate(node, environment, where)
    return node


@cache
def _compose() -> dict[str, Any]:
    raw = yaml.safe_load(compose_text())  # safe_load resolves the anchors and `<<` merges like compose does
    return interpolate_tree(raw, example_environment())


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _compose()


def service(compose: dict[str, Any], name: str) -> dict[str, Any]:
    services = compose.get("services", {})
    assert name in services, f"{COMPOSE_FILE.name} has no service {name!r}; services: {sorted(services)}"
    return services[name]


def environment_of(svc: dict[str, Any]) -> dict[str, str]:
    env = svc.get("environment") or {}
    if isinstance(env, list):  # the `- KEY=value` form
        env = dict(item.split("=", 1) for item in env)
    return {key: str(value) for key, value in env.items()}


def command_of(svc: dict[str, Any]) -> list[str]:
    command = svc.get("command") or []
    return shlex.split(command) if isinstance(command, str) else [str(part) for part in command]


def mounts_of(svc: dict[str, Any]) -> dict[str, str]:
    """Container path -> source (named volume or host path) for a service's volumes, short or long syntax."""
    mounts = {}
    for volume in svc.get("volumes", []):
        if isinstance(volume, dict):
            mounts[volume["target"]] = volume.get("source", "")
        else:
            source, _, rest = volume.partition(":")
            mounts[rest.split(":")[0]] = source
    return mounts


def container_ports(svc: dict[str, Any]) -> set[int]:
    """Ports the service listens on inside the compose network (`expose` plus the container side of `ports`)."""
    ports = {int(str(port).split("/")[0]) for port in svc.get("expose", [])}
    for port in svc.get("ports", []):
        target = port["target"] if isinstance(port, dict) else str(port).split("/")[0].rsplit(":", 1)[-1]
        ports.add(int(target))
    return ports


def setting_variables() -> set[str]:
    """Every environment variable nightshift/settings.py reads, derived from the Settings model itself."""
    prefix = Settings.model_config.get("env_prefix", "")
    return {f"{prefix}{name}".upper() for name in Settings.model_fields}


def is_pinned(reference: str) -> bool:
    """An image reference with a digest, or a tag that is not `latest` and names a version (has a digit)."""
    if "@sha256:" in reference:
        return True
    last_part = reference.rsplit("/", 1)[-1]
    if ":" not in last_part:
        return False
    tag = last_part.split(":", 1)[1]
    return tag != "latest" and any(character.isdigit() for character in tag)


def dockerfile_of(svc: dict[str, Any]) -> Path:
    build = svc["build"]
    if isinstance(build, str):
        return REPO / build / "Dockerfile"
    return REPO / build.get("context", ".") / build.get("dockerfile", "Dockerfile")


def from_images(dockerfile: Path) -> list[str]:
    """The base image of every FROM line, with ARG defaults substituted (stage names are not images)."""
    text = dockerfile.read_text()
    args = dict(re.findall(r"^ARG\s+(\w+)=(\S+)", text, flags=re.MULTILINE))
    stages: set[str] = set()
    images = []
    for image, stage in re.findall(r"^FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?", text, flags=re.I | re.M):
        image = re.sub(r"\$\{?(\w+)\}?", lambda match: args.get(match[1], match[0]), image)
        if image not in stages:
            images.append(image)
        if stage:
            stages.add(stage)
    return images


def dag_constant(name: str) -> str:
    """A string constant of the DAG file, read without importing Airflow."""
    for node in ast.parse(DAG_FILE.read_text()).body:
        if isinstance(node, ast.Assign) and any(getattr(target, "id", None) == name for target in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{DAG_FILE} defines no {name}; the compose init must create the pool the DAG uses")


def airflow_config_reference() -> dict[str, Any]:
    """The installed Airflow's own option list (config_templates/config.yml), read without importing Airflow."""
    spec = importlib.util.find_spec("airflow")
    assert spec and spec.submodule_search_locations, "apache-airflow is not installed in this environment"
    path = Path(next(iter(spec.submodule_search_locations))) / "config_templates" / "config.yml"
    return yaml.safe_load(path.read_text())


def is_under(path: str, directory: str) -> bool:
    return PurePosixPath(path) == PurePosixPath(directory) or PurePosixPath(directory) in PurePosixPath(path).parents


# ---------------------------------------------------------------- services and images


def test_required_services_exist(compose):
    missing = [name for name in REQUIRED_SERVICES if name not in compose.get("services", {})]
    assert not missing, f"{COMPOSE_FILE.name} lacks the services {missing}"


def test_services_use_only_compose_spec_keys(compose):
    for name, svc in compose["services"].items():
        unknown = set(svc) - COMPOSE_SERVICE_KEYS
        assert not unknown, f"service {name!r} uses keys that are not in the Compose Specification: {unknown}"
        unknown = set(svc.get("healthcheck", {})) - HEALTHCHECK_KEYS
        assert not unknown, f"service {name!r}: healthcheck keys {unknown} are not in the Compose Specification"


def test_every_image_is_pinned(compose):
    for name, svc in compose["services"].items():
        if "build" in svc:
            dockerfile = dockerfile_of(svc)
            assert dockerfile.is_file(), f"service {name!r} builds from {dockerfile}, which does not exist"
            bases = from_images(dockerfile)
            assert bases, f"{dockerfile} has no FROM line"
            unpinned = [image for image in bases if not is_pinned(image)]
            assert not unpinned, f"{dockerfile}: FROM {unpinned} not pinned to an exact version"
        else:
            assert "image" in svc, f"service {name!r} has neither `image` nor `build`"
        if "image" in svc:
            assert is_pinned(svc["image"]), f"service {name!r}: image {svc['image']!r} is not pinned to a version"


def test_project_image_tag_is_the_project_version(compose):
    version = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["version"]
    built = {svc["image"] for svc in compose["services"].values() if "build" in svc}
    assert built == {f"nightshift:{version}"}, f"built images {built} should all be tagged nightshift:{version}"


def test_dockerfile_installs_like_the_makefile(compose):
    dockerfile = dockerfile_of(service(compose, AIRFLOW_SCHEDULER))
    text = dockerfile.read_text()
    assert re.match(r"python:3\.11\.\d+-slim-bookworm$", from_images(dockerfile)[0]), "base must be python:3.11.x"
    assert "openjdk-17-jre-headless" in text, f"{dockerfile} must install Java 17 for Spark 4"
    makefile_uv = re.search(r"^UV_VERSION\s*:=\s*(\S+)", (REPO / "Makefile").read_text(), re.M)[1]
    docker_uv = re.search(r"^ARG UV_VERSION=(\S+)", text, re.M)[1]
    assert docker_uv == makefile_uv, f"{dockerfile} uses uv {docker_uv}, the Makefile uv {makefile_uv}"
    assert re.search(r"uv pip sync .*requirements\.lock", text), f"{dockerfile} must install from requirements.lock"
    # Both set PYTHONDONTWRITEBYTECODE, or run where it is set: only the install can compile the packages.
    for name, recipe in (("Makefile", (REPO / "Makefile").read_text()), (str(dockerfile), text)):
        sync = re.search(r"uv pip sync .*requirements\.lock", recipe)[0]
        assert "--compile-bytecode" in sync, f"{name} must install with `uv pip sync --compile-bytecode`: {sync}"
    assert re.search(r"uv pip install .*--no-deps -e \. -e plugins/dbt-nightshift", text), (
        f"{dockerfile} must install the project and the dbt plugin the way the Makefile does"
    )


def test_lock_has_the_postgres_driver_for_airflow_metadata():
    """Production Airflow keeps its metadata in Postgres: the lock must carry the drivers (airflow[postgres])."""
    pin = re.compile(r"^([A-Za-z0-9_.\-]+)==(\S+)", re.M)
    locked = {re.sub(r"[-_.]+", "-", name).lower() for name, _ in pin.findall((REPO / "requirements.lock").read_text())}
    assert {"psycopg2-binary", "asyncpg", "apache-airflow-providers-postgres"} <= locked


# ---------------------------------------------------------------- NIGHTSHIFT_* settings


@pytest.mark.parametrize("name", AIRFLOW_SERVICES + SPARK_SERVICES)
def test_every_setting_the_code_reads_is_wired(compose, name):
    env = environment_of(service(compose, name))
    wired = {key for key in env if key.startswith("NIGHTSHIFT_")}
    missing = setting_variables() - wired
    unknown = wired - setting_variables()
    assert not missing, f"service {name!r} does not set {sorted(missing)} (read by nightshift/settings.py)"
    assert not unknown, f"service {name!r} sets {sorted(unknown)}, which nightshift/settings.py never reads"


def test_settings_are_written_once(compose):
    assert "x-nightshift-env: &nightshift-env" in compose_text(), "settings belong in the x-nightshift-env anchor"
    values = {
        name: {key: value for key, value in environment_of(service(compose, name)).items() if "NIGHTSHIFT_" in key}
        for name in AIRFLOW_SERVICES + SPARK_SERVICES
    }
    reference = values[AIRFLOW_SCHEDULER]
    differing = [name for name, settings in values.items() if settings != reference]
    assert not differing, f"services {differing} see different NIGHTSHIFT_* settings than {AIRFLOW_SCHEDULER}"


def test_settings_parse_with_the_code(compose, monkeypatch):
    """The scheduler's environment (where tasks run) gives valid Settings in server and cluster mode."""
    env = environment_of(service(compose, AIRFLOW_SCHEDULER))
    for key in setting_variables():
        monkeypatch.setenv(key, env[key])
    settings = Settings()
    assert not settings.warehouse.is_embedded, "production must use the ClickHouse server, not the embedded engine"
    assert settings.spark_master.startswith("spark://"), "production must use the Spark cluster, not local[N]"
    assert str(settings.airflow_home) == env["AIRFLOW_HOME"], (
        f"AIRFLOW_HOME={env['AIRFLOW_HOME']} but the code expects {settings.airflow_home} ($NIGHTSHIFT_HOME/airflow)"
    )


def test_clickhouse_url_points_at_the_clickhouse_service(compose):
    url = urlparse(environment_of(service(compose, AIRFLOW_SCHEDULER))["NIGHTSHIFT_CLICKHOUSE_URL"])
    clickhouse = service(compose, url.hostname or "")
    assert url.hostname == CLICKHOUSE
    assert url.port in container_ports(clickhouse), f"{url.port} is not a port the {CLICKHOUSE} service exposes"
    server_env = environment_of(clickhouse)
    assert (url.username, url.password) == (server_env["CLICKHOUSE_USER"], server_env["CLICKHOUSE_PASSWORD"]), (
        "the credentials in NIGHTSHIFT_CLICKHOUSE_URL differ from the user the ClickHouse service creates"
    )


def test_spark_master_url_points_at_the_master_service(compose):
    master_url = environment_of(service(compose, AIRFLOW_SCHEDULER))["NIGHTSHIFT_SPARK_MASTER"]
    url = urlparse(master_url)
    assert (url.scheme, url.hostname) == ("spark", SPARK_MASTER), f"NIGHTSHIFT_SPARK_MASTER={master_url}"
    master = service(compose, SPARK_MASTER)
    command = command_of(master)
    assert "org.apache.spark.deploy.master.Master" in command
    assert command[command.index("--port") + 1] == str(url.port), "the master listens on another port"
    assert command[command.index("--host") + 1] == SPARK_MASTER
    assert url.port in container_ports(master)
    worker_command = command_of(service(compose, SPARK_WORKER))
    assert "org.apache.spark.deploy.worker.Worker" in worker_command
    assert worker_command[-1] == master_url, "the worker registers with another master than the driver uses"


def test_spark_executors_can_reach_the_driver(compose):
    """LocalExecutor runs tasks (so Spark drivers) in the scheduler; executors connect back by its hostname."""
    assert service(compose, AIRFLOW_SCHEDULER).get("hostname") == AIRFLOW_SCHEDULER


def test_lake_is_one_shared_volume_at_the_path_the_code_reads(compose):
    lake = environment_of(service(compose, AIRFLOW_SCHEDULER))["NIGHTSHIFT_LAKE"]
    assert lake.startswith("/"), f"NIGHTSHIFT_LAKE={lake}: the shared-volume lake must be an absolute path"
    sources = {}
    for name in AIRFLOW_SERVICES + SPARK_SERVICES:
        mounts = mounts_of(service(compose, name))
        assert lake in mounts, f"service {name!r} does not mount the lake at {lake}; mounts: {sorted(mounts)}"
        sources[name] = mounts[lake]
    assert len(set(sources.values())) == 1, f"the lake comes from different volumes: {sources}"
    assert next(iter(sources.values())) in (compose.get("volumes") or {}), "the lake volume is not declared"


@pytest.mark.parametrize("name", AIRFLOW_SERVICES)
def test_every_data_path_is_on_a_volume(compose, name):
    """Home, landing, exports, reports and lake outlive the containers that write them."""
    svc = service(compose, name)
    env, targets = environment_of(svc), mounts_of(svc)
    for key in ("NIGHTSHIFT_HOME", "NIGHTSHIFT_LAKE", "NIGHTSHIFT_LANDING", "NIGHTSHIFT_EXPORTS", "NIGHTSHIFT_REPORTS"):
        assert any(is_under(env[key], target) for target in targets), (
            f"service {name!r}: {key}={env[key]} is not on any mounted volume ({sorted(targets)})"
        )


# ---------------------------------------------------------------- Airflow


def test_airflow_metadata_database_is_the_postgres_service(compose):
    url = make_url(environment_of(service(compose, AIRFLOW_SCHEDULER))["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"])
    postgres_env = environment_of(service(compose, POSTGRES))
    assert url.drivername.startswith("postgresql"), f"metadata DB driver is {url.drivername}"
    assert url.host == POSTGRES
    assert (url.port or POSTGRES_PORT) in container_ports(service(compose, POSTGRES))
    assert (url.username, url.password, url.database) == (
        postgres_env["POSTGRES_USER"],
        postgres_env["POSTGRES_PASSWORD"],
        postgres_env["POSTGRES_DB"],
    ), "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN does not match the user/password/database the postgres service creates"


def test_airflow_option_names_exist_in_airflow(compose):
    reference = airflow_config_reference()
    for name in AIRFLOW_SERVICES:
        for key in environment_of(service(compose, name)):
            if not key.startswith("AIRFLOW__"):
                continue
            section, option = key.removeprefix("AIRFLOW__").lower().split("__", 1)
            assert option in reference.get(section, {}).get("options", {}), (
                f"service {name!r}: {key} is not an Airflow option ([{section}] {option} unknown to the installed "
                "Airflow's config reference)"
            )


def test_airflow_components_executor_and_secrets(compose):
    envs = {name: environment_of(service(compose, name)) for name in AIRFLOW_SERVICES}
    assert all(env == envs[AIRFLOW_SCHEDULER] for env in envs.values()), "Airflow components disagree on settings"
    env = envs[AIRFLOW_SCHEDULER]
    assert env["AIRFLOW__CORE__EXECUTOR"] == "LocalExecutor"
    for name, expected in AIRFLOW_COMMANDS.items():
        assert command_of(service(compose, name)) == expected, f"service {name!r} should run {' '.join(expected)}"
    execution_api = urlparse(env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"])
    assert execution_api.hostname == AIRFLOW_APISERVER
    assert execution_api.port in container_ports(service(compose, AIRFLOW_APISERVER))
    assert execution_api.path.rstrip("/") == "/execution"
    image_root = PurePosixPath(
        re.search(r"^WORKDIR\s+(\S+)", dockerfile_of(service(compose, "airflow-scheduler")).read_text(), re.M)[1]
    )
    dags_folder = PurePosixPath(env["AIRFLOW__CORE__DAGS_FOLDER"])
    assert (REPO / dags_folder.relative_to(image_root) / DAG_FILE.name).is_file(), (
        f"AIRFLOW__CORE__DAGS_FOLDER={dags_folder} is not the image's copy of {DAG_FILE.parent}"
    )


def test_secrets_come_from_the_env_file():
    documented = env_example()
    for name, operators in referenced_variables().items():
        assert name in documented, f"{COMPOSE_FILE.name} uses ${{{name}}}, which {ENV_EXAMPLE.name} does not document"
        if SECRET_NAME.search(name):
            assert operators == {":?"}, f"secret ${{{name}}} must be required (`:?`) and never have a default"
            assert documented[name] == "", f"{ENV_EXAMPLE.name} must not ship a value for the secret {name}"


def test_no_secret_is_written_into_the_compose_file(compose):
    """Secret settings, and passwords inside URLs, resolve to the (empty in the example) secrets of .env."""
    from_env_file = tuple(value for key, value in example_environment().items() if SECRET_NAME.search(key))
    for name, svc in compose["services"].items():
        for key, value in environment_of(svc).items():
            if SECRET_NAME.search(key) or key.endswith(("_KEY", "_JWT_SECRET")):
                assert value in from_env_file, f"service {name!r}: {key} is not taken from a secret in .env"
            password = urlparse(value).password if "://" in value else None
            if password is not None:
                assert password in from_env_file, f"service {name!r}: the password in {key} is not from .env"


def test_init_migrates_and_sizes_the_warehouse_pool_for_server_mode(compose):
    script = " ".join(command_of(service(compose, AIRFLOW_INIT)))
    assert "airflow db migrate" in script
    pool = dag_constant("WAREHOUSE_POOL")
    assert pool == airflow_setup.WAREHOUSE_POOL, "the DAG and `nightshift airflow-init` name different pools"
    match = re.search(rf"airflow pools set {re.escape(pool)} (\d+)", script)
    assert match, f"{AIRFLOW_INIT} must create the pool {pool!r} the DAG uses (airflow pools set {pool} N ...)"
    slots = int(match[1])
    parallelism = int(environment_of(service(compose, AIRFLOW_INIT))["AIRFLOW__CORE__PARALLELISM"])
    assert 1 < slots <= parallelism, (
        f"pool {pool} has {slots} slots: with a ClickHouse server it should allow concurrency (>1) and not exceed "
        f"AIRFLOW__CORE__PARALLELISM={parallelism}"
    )


# ---------------------------------------------------------------- start-up order


def test_long_running_services_have_healthchecks(compose):
    for name, svc in compose["services"].items():
        if name == AIRFLOW_INIT:
            continue
        test = (svc.get("healthcheck") or {}).get("test")
        assert test and test != ["NONE"], f"service {name!r} has no healthcheck"


def test_depends_on_waits_for_health_or_completion(compose):
    services = compose["services"]
    for name, svc in services.items():
        depends_on = svc.get("depends_on") or {}
        assert isinstance(depends_on, dict), f"service {name!r}: depends_on must state a condition per service"
        for dependency, rule in depends_on.items():
            condition = (rule or {}).get("condition")
            assert dependency in services, f"service {name!r} depends on unknown service {dependency!r}"
            assert condition in ("service_healthy", "service_completed_successfully"), (
                f"service {name!r} starts without waiting for {dependency!r} (condition {condition!r})"
            )
            if condition == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency!r} has no healthcheck to wait for"
    assert service(compose, AIRFLOW_INIT)["depends_on"][POSTGRES]["condition"] == "service_healthy"
    for name in AIRFLOW_DAEMONS:
        rule = service(compose, name)["depends_on"].get(AIRFLOW_INIT)
        assert rule == {"condition": "service_completed_successfully"}, f"{name!r} must wait for {AIRFLOW_INIT}"
    scheduler_needs = service(compose, AIRFLOW_SCHEDULER)["depends_on"]
    for dependency in (CLICKHOUSE, SPARK_MASTER, AIRFLOW_APISERVER):
        assert scheduler_needs.get(dependency) == {"condition": "service_healthy"}, (
            f"tasks run in {AIRFLOW_SCHEDULER}; it must wait for {dependency} to be healthy"
        )
    assert service(compose, SPARK_WORKER)["depends_on"][SPARK_MASTER] == {"condition": "service_healthy"}


@pytest.mark.slow
def test_init_script_runs_against_a_real_metadata_database(compose, tmp_path):
    """The airflow-init script itself, run by bash with the installed Airflow (SQLite standing in for Postgres)."""
    command = command_of(service(compose, AIRFLOW_INIT))
    assert command[:2] == ["bash", "-c"], f"{AIRFLOW_INIT} should run a bash script, got {command}"
    pool = dag_constant("WAREHOUSE_POOL")
    venv_bin = str(Path(sys.executable).parent)
    env = {
        "PATH": f"{venv_bin}{os.pathsep}{os.environ.get('PATH', '')}",
        "HOME": str(tmp_path),
        "AIRFLOW_HOME": str(tmp_path / "airflow"),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{tmp_path / 'airflow.db'}",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "false",
    }
    subprocess.run(command, env=env, check=True, capture_output=True, text=True, timeout=300)
    shown = subprocess.run(
        ["airflow", "pools", "get", pool, "-o", "json"], env=env, check=True, capture_output=True, text=True
    )
    slots = int(json.loads(shown.stdout)[0]["slots"])
    expected = re.search(rf"airflow pools set {re.escape(pool)} (\d+)", command[2])[1]
    assert slots == int(expected), f"pool {pool} has {slots} slots after the init script, expected {expected}"


def test_shell_snippets_are_valid_bash(compose):
    """Healthchecks (CMD-SHELL) and `bash -c` commands parse, after compose's own `$$` -> `$` substitution."""
    snippets = {}
    for name, svc in compose["services"].items():
        test = (svc.get("healthcheck") or {}).get("test") or []
        if test[:1] == ["CMD-SHELL"]:
            snippets[f"{name} healthcheck"] = test[1]
        command = command_of(svc)
        if command[:2] == ["bash", "-c"]:
            snippets[f"{name} command"] = command[2]
    assert snippets, "expected shell healthchecks and the airflow-init script"
    for where, script in snippets.items():
        checked = subprocess.run(["bash", "-n", "-c", script], capture_output=True, text=True)
        assert checked.returncode == 0, f"{where} is not valid bash: {checked.stderr.strip()}"


def test_http_healthcheck_script_reports_up_and_down(tmp_path):
    """docker/healthcheck.py exits 0 for a server answering 2xx and 1 for one that is not listening."""
    import http.server
    import threading

    spec = importlib.util.spec_from_file_location("healthcheck", REPO / "docker" / "healthcheck.py")
    healthcheck = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(healthcheck)

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):  # keep pytest output clean
            pass

    (tmp_path / "health").write_text("ok")
    handler = lambda *args: Quiet(*args, directory=str(tmp_path))  # noqa: E731
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as server:
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        assert healthcheck.main([f"{url}/health"]) == 0
        assert healthcheck.main([f"{url}/missing"]) == 1
        server.shutdown()
    assert healthcheck.main([url + "/health"]) == 1, "a stopped server must be reported unhealthy"
    assert healthcheck.main([]) == 2
