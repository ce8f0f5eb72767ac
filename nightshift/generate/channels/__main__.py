"""`python -m nightshift.generate.channels CONFIG LEDGER HOST PORT`: the simulator in a process of its own, started
by `server.SimulatorProcess`."""

import sys

from nightshift.generate.channels.server import serve_until_stdin_closes

serve_until_stdin_closes(sys.argv[1:])
