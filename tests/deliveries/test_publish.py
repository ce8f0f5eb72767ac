"""Publishing a night's exports to an SFTP server and an S3 store started by the tests on 127.0.0.1
(tests/deliveries/servers.py): sealed folders arrive whole (`_SUCCESS` last, every file as its manifest says), a
transfer failing midway is retried, a server that keeps failing leaves the folder unsealed with a clear error, and
a rerun sends nothing twice."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
import s3fs

from nightshift.deliveries.manifest import MANIFEST, SUCCESS, AudienceDiff, seal, verify
from nightshift.deliveries.publish import RETRY_ATTEMPTS, publish, target_filesystem
from nightshift.errors import NightshiftError
from tests.deliveries.servers import s3_server, sftp_server

NIGHT = date(2026, 11, 20)
NO_HOSTS = json.dumps({"known_hosts": None})  # the test server's host key is new each time


def _delivery(folder: Path, parts: list[bytes], contacts: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index, data in enumerate(parts):
        (folder / f"part-{index:05d}.json").write_bytes(data)
    seal(folder, run_date=NIGHT, campaign_id=folder.parent.name, target=folder.name, plan_version="p1",
         contacts=contacts, left_out=0, cost_fen=500 * contacts, diff=AudienceDiff(None, contacts, 0, 0))  # fmt: skip


@pytest.fixture
def night(tmp_path) -> Path:
    """A night's export folder: two sealed deliveries and a campaign file with its manifest."""
    folder = tmp_path / "exports" / NIGHT.isoformat()
    _delivery(folder / "winback" / "sms", [b'{"batch": 1}' * 500, b'{"batch": 2}' * 500, b'{"batch": 3}'], 201)
    _delivery(folder / "winback" / "app_push", [b'{"push": 1}'], 1)
    (folder / "campaign__winback__sms.csv").write_text("one_id,contact_id\n1,c1\n")
    (folder / "campaign__winback__sms.csv.manifest.json").write_text('{"rows": 1}\n')
    return folder


def _sealed_folders(root: Path) -> list[Path]:
    return sorted(path.parent for path in root.rglob(SUCCESS))


def test_sftp_receives_every_delivery_whole_and_a_rerun_sends_nothing(tmp_path, night):
    with sftp_server(tmp_path / "sftp") as server:
        first = publish(night, server.url, NO_HOSTS)
        remote_night = server.root / "inbox" / NIGHT.isoformat()
        assert [p.relative_to(remote_night).as_posix() for p in _sealed_folders(remote_night)] == [
            "winback/app_push", "winback/sms"]  # fmt: skip
        for folder in _sealed_folders(remote_night):
            assert verify(folder) == [], folder
        assert (remote_night / "campaign__winback__sms.csv").read_bytes() == (
            night / "campaign__winback__sms.csv").read_bytes()  # fmt: skip
        # 4 parts, 2 loose files, and a manifest and a _SUCCESS per delivery
        assert len(first.uploaded) == 4 + 2 + 2 * 2 and first.retries == 0
        assert not list(remote_night.rglob(".*"))  # no temporary name left behind
        assert "s3cret-pass" not in first.summary and "***" in first.summary

        again = publish(night, server.url, NO_HOSTS)
        assert again.uploaded == [] and len(again.skipped) == 4


def test_a_transfer_that_fails_midway_is_retried_and_the_delivery_completes(tmp_path, night):
    with sftp_server(tmp_path / "sftp") as server:
        server.failures["part-00001"] = 2  # the second part fails twice, then goes through
        published = publish(night, server.url, NO_HOSTS)
        assert server.failed_opens == 2 and published.retries == 2
        sms = server.root / "inbox" / NIGHT.isoformat() / "winback" / "sms"
        assert verify(sms) == []


def test_a_server_that_keeps_failing_leaves_the_delivery_unsealed_and_says_so(tmp_path, night):
    with sftp_server(tmp_path / "sftp") as server:
        server.failures["part-00002"] = 100
        with pytest.raises(NightshiftError) as raised:
            publish(night, server.url, NO_HOSTS)
        message = str(raised.value)
        assert "part-00002" in message and f"after {RETRY_ATTEMPTS} attempts" in message and "rerun" in message
        assert "s3cret-pass" not in message
        sms = server.root / "inbox" / NIGHT.isoformat() / "winback" / "sms"
        assert not (sms / SUCCESS).exists() and not (sms / MANIFEST).exists()  # a reader does not take it

        server.failures.clear()  # the server recovers: the rerun completes the delivery
        publish(night, server.url, NO_HOSTS)
        assert verify(sms) == []


def test_s3_receives_the_night_and_a_changed_delivery_replaces_its_stale_parts(tmp_path, night):
    with s3_server() as server:
        options = json.dumps(server.options)
        publish(night, server.url, options)
        fs = s3fs.S3FileSystem(**server.options, skip_instance_cache=True)
        copy = tmp_path / "from_s3"
        fs.get(f"{server.bucket}/nightshift/{NIGHT.isoformat()}", str(copy), recursive=True)
        assert [p.relative_to(copy).as_posix() for p in _sealed_folders(copy)] == ["winback/app_push", "winback/sms"]
        for folder in _sealed_folders(copy):
            assert verify(folder) == []

        # the plan changed and the night was rerun: sms now has one part; the remote copy must match it exactly
        for part in (night / "winback" / "sms").glob("part-*"):
            part.unlink()
        _delivery(night / "winback" / "sms", [b'{"batch": "new"}'], 1)
        republished = publish(night, server.url, options)
        assert sorted(republished.removed) == ["winback/sms/part-00001.json", "winback/sms/part-00002.json"]
        assert "winback/app_push" in republished.skipped
        fresh = tmp_path / "from_s3_again"
        fs.invalidate_cache()
        fs.get(f"{server.bucket}/nightshift/{NIGHT.isoformat()}/winback/sms", str(fresh), recursive=True)
        assert verify(fresh) == [] and [p.name for p in fresh.glob("part-*")] == ["part-00000.json"]


def test_unusable_target_settings_are_refused_with_what_to_do():
    with pytest.raises(NightshiftError, match="not valid JSON"):
        target_filesystem("s3://bucket/x", "{known_hosts: none}")
    with pytest.raises(NightshiftError, match="JSON object"):
        target_filesystem("s3://bucket/x", "[1, 2]")
    with pytest.raises(NightshiftError, match=r"sftp://user@host:port/path"):
        target_filesystem("nosuchscheme://x/y")
