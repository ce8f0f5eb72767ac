"""The simulator on uvicorn in a background thread: `with ChannelSimulator(config, ledger_dir) as sim: sim.url`; or
in a process of its own, as a vendor is (`SimulatorProcess`, the same interface)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import uvicorn

from nightshift.errors import NightshiftError
from nightshift.generate.channels.app import simulator_app
from nightshift.generate.channels.config import SimulatorConfig
from nightshift.generate.channels.ledger import Ledger

STARTUP_SECONDS = 10.0


class ChannelSimulator:
    """One simulator serving every channel on one port (each vendor's paths differ); port 0 picks a free port."""

    def __init__(self, config: SimulatorConfig, ledger_dir: Path, host: str = "127.0.0.1", port: int = 0):
        self.config = config
        self.ledger = Ledger(ledger_dir)
        self.app = simulator_app(config, self.ledger)
        uvicorn_config = uvicorn.Config(self.app, host=host, port=port, log_level="warning", access_log=False)
        self.server = uvicorn.Server(uvicorn_config)
        self.thread = threading.Thread(target=self.server.run, name="channel-simulator", daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def start(self) -> ChannelSimulator:
        self.thread.start()
        deadline = time.monotonic() + STARTUP_SECONDS
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise NightshiftError("The channel simulator did not start: is the port taken? Try --port 0")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=STARTUP_SECONDS)
        self.ledger.close()

    def serve_forever(self) -> None:
        """Run in the calling thread until interrupted (`nightshift simulate channels`)."""
        try:
            self.server.run()
        finally:
            self.ledger.close()

    def __enter__(self) -> ChannelSimulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


URL_LINE = "SIMULATOR "  # what the child process prints once it listens, before its URL


class SimulatorProcess:
    """The simulator in a child process: the sender's threads and the simulator do not share one interpreter lock,
    so the simulator stamps each call when it arrives (the moment a vendor's rate limit counts), however busy the
    sender is. The child stops when its standard input closes, so it never outlives this process."""

    def __init__(self, config: SimulatorConfig, ledger_dir: Path, host: str = "127.0.0.1", port: int = 0):
        self.arguments = [config.to_json(), str(ledger_dir), host, str(port)]
        self.process: subprocess.Popen | None = None
        self.url = ""

    def start(self) -> SimulatorProcess:
        command = [sys.executable, "-m", "nightshift.generate.channels", *self.arguments]
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()  # the child prints its URL once it listens, or exits
        if not line.startswith(URL_LINE):
            self.stop()
            raise NightshiftError(
                f"The channel simulator's process did not start (exit {self.process.returncode}); "
                "its error is printed above"
            )
        self.url = line.removeprefix(URL_LINE).strip()
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.stdin.close()
        try:
            self.process.wait(timeout=STARTUP_SECONDS)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def serve_until_stdin_closes(arguments: list[str]) -> None:
    """The child's side of `SimulatorProcess` (`python -m nightshift.generate.channels CONFIG LEDGER HOST PORT`)."""
    settings, ledger_dir, host, port = arguments
    config = SimulatorConfig.from_json(settings)
    with ChannelSimulator(config, Path(ledger_dir), host=host, port=int(port)) as simulator:
        print(URL_LINE + simulator.url, flush=True)
        sys.stdin.read()  # until the parent closes it (or exits)
