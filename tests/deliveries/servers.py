"""Real servers on 127.0.0.1 for the delivery tests: an SFTP server (asyncssh, password login, rooted in a local
folder, able to fail chosen uploads) and an S3 server (moto). Each runs in a background thread of the test
process and is stopped by its fixture."""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncssh

SFTP_USER, SFTP_PASSWORD = "vendor", "s3cret-pass"


@dataclass
class SftpServer:
    root: Path
    port: int = 0
    # file name fragment -> how many more opens for writing of a matching file fail (a server-side failure)
    failures: dict[str, int] = field(default_factory=dict)
    failed_opens: int = 0

    @property
    def url(self) -> str:
        return f"sftp://{SFTP_USER}:{SFTP_PASSWORD}@127.0.0.1:{self.port}/inbox"


@contextmanager
def sftp_server(root: Path) -> Iterator[SftpServer]:
    state = SftpServer(root)
    (root / "inbox").mkdir(parents=True, exist_ok=True)

    class Login(asyncssh.SSHServer):
        def begin_auth(self, username: str) -> bool:
            return True

        def password_auth_supported(self) -> bool:
            return True

        def validate_password(self, username: str, password: str) -> bool:
            return username == SFTP_USER and password == SFTP_PASSWORD

    class FlakySftp(asyncssh.SFTPServer):
        def __init__(self, channel) -> None:
            super().__init__(channel, chroot=str(root))

        def open(self, path: bytes, pflags: int, attrs):
            writing = pflags & asyncssh.FXF_WRITE
            for fragment, remaining in state.failures.items():
                if writing and remaining > 0 and fragment.encode() in path:
                    state.failures[fragment] = remaining - 1
                    state.failed_opens += 1
                    raise asyncssh.SFTPFailure(f"injected failure writing {path.decode()}")
            return super().open(path, pflags, attrs)

    loop = asyncio.new_event_loop()
    key = asyncssh.generate_private_key("ssh-ed25519")
    server = loop.run_until_complete(
        asyncssh.create_server(Login, "127.0.0.1", 0, server_host_keys=[key], sftp_factory=FlakySftp)
    )
    state.port = server.sockets[0].getsockname()[1]
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.close()
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)


@dataclass
class S3Server:
    endpoint: str
    bucket: str = "deliveries"

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}/nightshift"

    @property
    def options(self) -> dict:
        return {"client_kwargs": {"endpoint_url": self.endpoint}, "key": "testing", "secret": "testing"}


@contextmanager
def s3_server() -> Iterator[S3Server]:
    from moto.server import ThreadedMotoServer

    os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    state = S3Server(f"http://{host}:{port}")
    import s3fs

    s3fs.S3FileSystem(**state.options, skip_instance_cache=True).mkdir(state.bucket)
    try:
        yield state
    finally:
        server.stop()
