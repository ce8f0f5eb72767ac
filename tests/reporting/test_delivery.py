"""Delivering the report: e-mail to a real SMTP server on 127.0.0.1 (Python 3.11's smtpd), the WeCom and DingTalk
group-robot messages to a real HTTP server on 127.0.0.1 (http.server), Airflow's SMTP connection, and failures that
are reported rather than raised."""

from __future__ import annotations

import asyncore
import email
import json
import smtpd
import socket
import subprocess
import sys
import textwrap
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

import pytest

from nightshift.reporting.delivery import MAX_MARKDOWN_BYTES, deliver, fit_markdown, signed_dingtalk_url
from nightshift.settings import Settings
from tests.conftest import REPO_ROOT, isolated_env

SUMMARY = "## Nightshift 2026-11-21: all 8 stages succeeded\n\n- Ingestion: 33 files, 362 lines\n\nReport: x\n"


class RecordingSmtpServer(smtpd.SMTPServer):
    def __init__(self) -> None:
        self.socket_map: dict = {}
        self.messages: list[tuple[str, list[str], bytes]] = []
        smtpd.SMTPServer.__init__(self, ("127.0.0.1", 0), None, map=self.socket_map, decode_data=False)

    def process_message(self, peer, mailfrom, rcpttos, data, **kwargs):
        self.messages.append((mailfrom, rcpttos, data))


@pytest.fixture
def smtp_server():
    server = RecordingSmtpServer()
    thread = threading.Thread(target=asyncore.loop, kwargs={"timeout": 0.05, "map": server.socket_map}, daemon=True)
    thread.start()
    yield server
    server.close()
    thread.join(timeout=5)


class RobotHandler(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's naming
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.requests.append((self.path, self.headers.get("Content-Type"), json.loads(body)))
        answer = json.dumps(self.server.answer).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):  # keep pytest output quiet
        pass


@pytest.fixture
def robot():
    server = ThreadingHTTPServer(("127.0.0.1", 0), RobotHandler)
    server.requests, server.answer = [], {"errcode": 0, "errmsg": "ok"}
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def html_page(tmp_path):
    page = tmp_path / "index.html"
    page.write_text("<html><body><h1>Nightshift nightly report</h1></body></html>", encoding="utf-8")
    return page


def _settings(tmp_path, **values) -> Settings:
    return Settings(home=tmp_path, report_delivery_timeout=5, **values)


def test_nothing_is_delivered_unless_configured(tmp_path, html_page):
    assert deliver(_settings(tmp_path), "title", SUMMARY, html_page) == []


def test_email_reaches_a_local_smtp_server_with_the_summary_and_the_page(tmp_path, html_page, smtp_server):
    port = smtp_server.socket.getsockname()[1]
    settings = _settings(tmp_path, report_email_to="ops@example.com, lead@example.com",
                         report_smtp_host="127.0.0.1", report_smtp_port=port)  # fmt: skip
    (outcome,) = deliver(settings, "Nightshift report 2026-11-21", SUMMARY, html_page)
    assert outcome.ok, outcome
    (mailfrom, recipients, data) = smtp_server.messages[0]
    assert mailfrom == "nightshift@localhost" and recipients == ["ops@example.com", "lead@example.com"]
    message = email.message_from_bytes(data)
    assert message["Subject"] == "Nightshift report 2026-11-21"
    body, attachment = [part for part in message.walk() if not part.is_multipart()]
    assert "33 files, 362 lines" in body.get_payload(decode=True).decode()
    assert attachment.get_filename() == "index.html"
    assert b"Nightshift nightly report" in attachment.get_payload(decode=True)


def test_wecom_robot_gets_one_markdown_message(tmp_path, html_page, robot):
    settings = _settings(
        tmp_path, report_webhook_url=f"http://127.0.0.1:{robot.server_port}/cgi-bin/webhook/send?key=k"
    )
    (outcome,) = deliver(settings, "Nightshift report", SUMMARY, html_page)
    assert outcome.ok and outcome.channel == "wecom", outcome
    path, content_type, payload = robot.requests[0]
    assert path == "/cgi-bin/webhook/send?key=k" and content_type == "application/json"
    assert payload == {"msgtype": "markdown", "markdown": {"content": SUMMARY}}


def test_dingtalk_robot_gets_title_and_text_and_a_valid_signature(tmp_path, html_page, robot):
    settings = _settings(tmp_path, report_webhook_url=f"http://127.0.0.1:{robot.server_port}/robot/send?access_token=t&secret=SEC123",
                         report_webhook_kind="dingtalk")  # fmt: skip
    (outcome,) = deliver(settings, "Nightshift report", SUMMARY, html_page)
    assert outcome.ok and outcome.channel == "dingtalk", outcome
    path, _, payload = robot.requests[0]
    assert payload == {"msgtype": "markdown", "markdown": {"title": "Nightshift report", "text": SUMMARY}}
    query = parse_qs(urlparse(path).query)
    assert query["access_token"] == ["t"] and "secret" not in query and "SEC123" not in path
    expected = parse_qs(urlparse(signed_dingtalk_url("http://x/?a=1", "SEC123", int(query["timestamp"][0]))).query)
    assert query["sign"] == expected["sign"]


def test_a_refused_message_and_unreachable_servers_are_reported_not_raised(tmp_path, html_page, robot):
    robot.answer = {"errcode": 93000, "errmsg": "invalid webhook url"}
    settings = _settings(tmp_path, report_webhook_url=f"http://127.0.0.1:{robot.server_port}/send",
                         report_email_to="ops@example.com", report_smtp_host="127.0.0.1",
                         report_smtp_port=_closed_port())  # fmt: skip
    outcomes = {outcome.channel: outcome for outcome in deliver(settings, "t", SUMMARY, html_page)}
    assert not outcomes["wecom"].ok and "93000" in outcomes["wecom"].detail
    assert not outcomes["email"].ok and "ConnectionRefused" in outcomes["email"].detail

    unreachable = _settings(tmp_path, report_webhook_url=f"http://127.0.0.1:{_closed_port()}/send")
    (outcome,) = deliver(unreachable, "t", SUMMARY, html_page)
    assert not outcome.ok and "ConnectError" in outcome.detail


def test_markdown_is_cut_at_a_line_to_fit_the_robot_limit():
    long_text = "\n".join(f"- line {n} 对账 {'x' * 40}" for n in range(200))
    fitted = fit_markdown(long_text)
    assert len(fitted.encode()) <= MAX_MARKDOWN_BYTES
    assert fitted.startswith("- line 0 ") and fitted.endswith("linked above)")
    assert fit_markdown(SUMMARY) == SUMMARY


AIRFLOW_CONNECTION_SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from nightshift.reporting.delivery import deliver, smtp_target
    from nightshift.settings import get_settings
    settings = get_settings()
    print("TARGET", smtp_target(settings))
    page = Path(sys.argv[1])
    print("OUTCOME", deliver(settings, "via Airflow", "summary body", page)[0])
    """
)


def test_email_goes_through_airflows_smtp_connection_when_one_is_named(tmp_path, html_page, smtp_server):
    """Production reads Airflow's connection (here an env-var connection, as a secrets backend would give it)."""
    port = smtp_server.socket.getsockname()[1]
    connection = {"conn_type": "smtp", "host": "127.0.0.1", "port": port,
                  "extra": {"disable_ssl": True, "disable_tls": True, "from_email": "airflow@example.com"}}  # fmt: skip
    env = isolated_env(
        tmp_path, AIRFLOW_HOME=str(tmp_path / "airflow"), AIRFLOW_CONN_NIGHTSHIFT_SMTP=json.dumps(connection),
        NIGHTSHIFT_REPORT_SMTP_CONN_ID="nightshift_smtp", NIGHTSHIFT_REPORT_EMAIL_TO="ops@example.com",
        NIGHTSHIFT_REPORT_SMTP_HOST="127.0.0.1", NIGHTSHIFT_REPORT_SMTP_PORT=str(_closed_port()),
    )  # fmt: skip
    completed = subprocess.run(
        [sys.executable, "-c", AIRFLOW_CONNECTION_SCRIPT, str(html_page)],
        env=env, cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stderr[-3000:]
    assert "ok=True" in completed.stdout, completed.stdout
    (mailfrom, recipients, data) = smtp_server.messages[0]
    assert mailfrom == "airflow@example.com" and recipients == ["ops@example.com"]
    assert "summary body" in data.decode()
