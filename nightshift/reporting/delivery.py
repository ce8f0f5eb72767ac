"""Delivering the morning report when it is configured (settings `NIGHTSHIFT_REPORT_*`, all off by default):

- e-mail: summary.md as the text body, index.html attached, through Airflow's SMTP connection when
  `NIGHTSHIFT_REPORT_SMTP_CONN_ID` names one (production), else a plain SMTP host and port;
- a WeCom (企业微信) or DingTalk (钉钉) group robot: one markdown message, in each vendor's published JSON shape
  (WeCom `{"msgtype": "markdown", "markdown": {"content": ...}}`; DingTalk `{"msgtype": "markdown", "markdown":
  {"title": ..., "text": ...}}`, signed with `timestamp` and `sign` when the webhook URL carries `secret=`, which
  is removed from the URL and never sent). Both answer
  HTTP 200 with `errcode` 0 on success, so a non-zero `errcode` is a failure too.

A delivery that fails is returned as a failed `Delivery` with the reason; nothing here raises, because a mail
server being down must never fail the night's run.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import smtplib
import ssl
import time
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qsl, quote_plus, urlencode, urlsplit, urlunsplit

from nightshift.settings import Settings

# WeCom robots take markdown up to 4,096 bytes (DingTalk allows more); one cap for both keeps messages alike.
MAX_MARKDOWN_BYTES = 4096
NO_SMTP_SERVER = (
    "NIGHTSHIFT_REPORT_EMAIL_TO is set but no SMTP server is: set NIGHTSHIFT_REPORT_SMTP_CONN_ID (an Airflow "
    "connection) or NIGHTSHIFT_REPORT_SMTP_HOST"
)
TRUNCATED = "\n…(cut; the whole report is linked above)"


@dataclass(frozen=True)
class Delivery:
    channel: str
    ok: bool
    detail: str

    def describe(self) -> str:
        return f"{'sent' if self.ok else 'FAILED'}: {self.detail}"


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    user: str = ""
    password: str = ""
    use_ssl: bool = False
    starttls: bool = False
    sender: str = ""


def _airflow_smtp(conn_id: str, settings: Settings) -> SmtpTarget:
    """Airflow's SMTP connection, read the way the SMTP provider reads it (extras `disable_ssl`, `disable_tls`,
    `from_email`); env-var connections (`AIRFLOW_CONN_<ID>`) and the metadata database both work."""
    from airflow.sdk import BaseHook  # only when a connection is configured: Airflow is slow to import

    connection = BaseHook.get_connection(conn_id)
    extra = connection.extra_dejson or {}
    use_ssl = not extra.get("disable_ssl", False)
    return SmtpTarget(
        host=connection.host or "",
        port=int(connection.port or (465 if use_ssl else 25)),
        user=connection.login or "",
        password=connection.password or "",
        use_ssl=use_ssl,
        starttls=not use_ssl and not extra.get("disable_tls", False),
        sender=extra.get("from_email") or settings.report_email_from,
    )


def smtp_target(settings: Settings) -> SmtpTarget | None:
    if settings.report_smtp_conn_id:
        return _airflow_smtp(settings.report_smtp_conn_id, settings)
    if not settings.report_smtp_host:
        return None
    # A plain relay (the embedded default); login and TLS come with an Airflow connection.
    return SmtpTarget(host=settings.report_smtp_host, port=settings.report_smtp_port, sender=settings.report_email_from)


def build_email(sender: str, recipients: list[str], subject: str, summary_md: str, html_path: Path) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, ", ".join(recipients), subject
    message.set_content(summary_md)
    message.add_attachment(html_path.read_bytes(), maintype="text", subtype="html", filename=html_path.name)
    return message


def send_email(settings: Settings, subject: str, summary_md: str, html_path: Path) -> Delivery:
    recipients = [address.strip() for address in settings.report_email_to.split(",") if address.strip()]
    try:
        target = smtp_target(settings)
        if target is None:
            return Delivery("email", False, NO_SMTP_SERVER)
        message = build_email(target.sender, recipients, subject, summary_md, html_path)
        timeout = settings.report_delivery_timeout
        if target.use_ssl:
            server = smtplib.SMTP_SSL(target.host, target.port, timeout=timeout, context=ssl.create_default_context())
        else:
            server = smtplib.SMTP(target.host, target.port, timeout=timeout)
        with server:
            if target.starttls:
                server.starttls(context=ssl.create_default_context())
            if target.user:
                server.login(target.user, target.password)
            server.send_message(message)
        return Delivery("email", True, f"to {', '.join(recipients)} via {target.host}:{target.port}")
    except Exception as error:  # noqa: BLE001 - any failure to deliver is reported, never raised
        return Delivery("email", False, f"{type(error).__name__}: {error}"[:300])


def fit_markdown(text: str, limit: int = MAX_MARKDOWN_BYTES) -> str:
    """Text cut at a line boundary so that it fits the robot's byte limit (UTF-8), saying that it was cut."""
    if len(text.encode()) <= limit:
        return text
    budget = limit - len(TRUNCATED.encode())
    kept: list[str] = []
    for line in text.splitlines():
        if len("\n".join([*kept, line]).encode()) > budget:
            break
        kept.append(line)
    return "\n".join(kept) + TRUNCATED


def robot_payload(kind: str, title: str, markdown: str) -> dict:
    if kind == "dingtalk":
        return {"msgtype": "markdown", "markdown": {"title": title, "text": fit_markdown(markdown)}}
    return {"msgtype": "markdown", "markdown": {"content": fit_markdown(markdown)}}


def split_secret(url: str) -> tuple[str, str]:
    """The webhook URL without its `secret` query parameter, and the secret ('' when there is none)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    secret = next((value for key, value in query if key == "secret"), "")
    kept = urlencode([(key, value) for key, value in query if key != "secret"])
    return urlunsplit(parts._replace(query=kept)), secret


def signed_dingtalk_url(url: str, secret: str, now_ms: int | None = None) -> str:
    """DingTalk's signing (加签): HMAC-SHA256 of "<timestamp ms>\\n<secret>" keyed by the secret, base64,
    URL-encoded, appended as `timestamp` and `sign` query parameters."""
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}timestamp={timestamp}&sign={quote_plus(base64.b64encode(digest).decode())}"


def post_to_robot(settings: Settings, title: str, markdown: str) -> Delivery:
    import httpx

    kind = settings.report_webhook_kind
    url, secret = split_secret(settings.report_webhook_url)
    if kind == "dingtalk" and secret:
        url = signed_dingtalk_url(url, secret)
    try:
        response = httpx.post(url, json=robot_payload(kind, title, markdown), timeout=settings.report_delivery_timeout)
        response.raise_for_status()
        answer = response.json()
        if answer.get("errcode", 0) != 0:
            return Delivery(kind, False, f"the robot refused the message: errcode {answer['errcode']} "
                            f"{answer.get('errmsg', '')}")  # fmt: skip
        return Delivery(kind, True, "group robot")
    except Exception as error:  # noqa: BLE001 - any failure to deliver is reported, never raised
        return Delivery(kind, False, f"{type(error).__name__}: {error}"[:300])


def deliver(settings: Settings, title: str, summary_md: str, html_path: Path) -> list[Delivery]:
    """Every configured delivery, each attempted once; an empty list when none is configured."""
    deliveries = []
    if settings.report_email_to:
        deliveries.append(send_email(settings, title, summary_md, html_path))
    if settings.report_webhook_url:
        deliveries.append(post_to_robot(settings, title, summary_md))
    return deliveries
