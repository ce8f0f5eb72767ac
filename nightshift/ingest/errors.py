"""Errors ingestion raises on purpose (all are NightshiftError, so the CLI prints them without a traceback)."""

from nightshift.errors import NightshiftError


class IngestionError(NightshiftError):
    """Ingestion could not do what was asked."""


class InvariantViolation(IngestionError):
    """A file's data lines do not equal loaded + duplicates + quarantined: rows were lost or invented."""


class SchemaMismatchError(IngestionError):
    """An existing raw table does not match the source declaration any more."""
