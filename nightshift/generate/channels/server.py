"""The simulator on uvicorn in a background thread: `with ChannelSimulator(config, ledger_dir) as sim: sim.url`."""

from __future__ import annotations

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
