"""Test-wide settings: offscreen Qt, dummy audio, and a private config/data dir per test."""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HOLDSPACE_AUDIO", "dummy")

import pytest

from tests.helpers.fixtures import *  # noqa: F403
from tests.helpers.pg import pg, pg_db  # noqa: F401  (a throw-away PostgreSQL cluster)


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the real user's settings or clinic files."""
    base = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOLDSPACE_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("HOLDSPACE_DATA_DIR", str(base / "data"))
