"""Errors written for the person who will read them.

Every error Nightshift raises on purpose derives from `NightshiftError`; the CLI prints those as a
short message (no traceback) and exits non-zero, and Airflow shows the same message in the task log.
"""


class NightshiftError(Exception):
    """An expected failure with a message that says what went wrong and what to do."""


class ConfigurationError(NightshiftError):
    """A setting is missing or malformed."""


class WarehouseLockedError(NightshiftError):
    """The embedded warehouse directory is held by another process."""


class WarehouseUnavailableError(NightshiftError):
    """The warehouse could not be opened or reached."""
