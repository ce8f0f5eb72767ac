"""Nightshift: a warehouse-centric nightly batch marketing pipeline.

Shared logic lives here; `dags/` only wires tasks that call into this package.
"""

__version__ = "0.1.0"
