"""The local SQLite store: one file holds every patient, session, reading and event."""

from console.store.db import SCHEMA_VERSION, StoreError, open_db

__all__ = ["SCHEMA_VERSION", "StoreError", "open_db"]
