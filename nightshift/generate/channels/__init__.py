"""A local stand-in for the channels' APIs (Aliyun SMS, JPush, WeChat Official Account, WeCom), for tests, the demo
and `nightshift simulate channels`.

- `config.SimulatorConfig`: rate limits per channel, shares of 503s, slow answers and throttling, the share of
  addresses that fail for good (decided by a hash of the address, so the same address always fails), token lifetime;
- `ledger`: what the simulator accepted (`sends.jsonl`, one line per recipient) and every call (`calls.jsonl`);
  it never deduplicates a send, so a double send shows up as two lines; `read_ledger` reads it back;
- `app.simulator_app`: the Starlette app speaking each vendor's request and answer shapes;
- `server.ChannelSimulator`: the app on uvicorn in a background thread (127.0.0.1, port 0 by default);
  `server.SimulatorProcess`: the same in a process of its own, as a vendor is (the demo delivers through it).
"""

from nightshift.generate.channels.config import CHANNELS, SIMULATOR_CREDENTIALS, SimulatorConfig, address_fails
from nightshift.generate.channels.ledger import Ledger, LedgerContents, read_ledger
from nightshift.generate.channels.server import ChannelSimulator, SimulatorProcess

__all__ = [
    "CHANNELS",
    "ChannelSimulator",
    "Ledger",
    "LedgerContents",
    "SIMULATOR_CREDENTIALS",
    "SimulatorConfig",
    "SimulatorProcess",
    "address_fails",
    "read_ledger",
]
