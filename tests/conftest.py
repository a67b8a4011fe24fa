"""Test-wide settings: offscreen Qt, dummy audio, and a private config/data/key dir per test."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("HOLDSPACE_AUDIO", "dummy")

import pytest

from tests.helpers.fixtures import *  # noqa: F403
from tests.helpers.pg import pg, pg_db  # noqa: F401  (a throw-away PostgreSQL cluster)


@pytest.fixture(autouse=True, scope="session")
def _private_key() -> Iterator[None]:
    """The database key goes to a key file in a temporary folder shared by the whole run (a
    module's fixture database outlives one test's config dir), never to the real OS keyring.
    Tests of a lost or foreign key point HOLDSPACE_KEY_DIR elsewhere for themselves."""
    saved = {k: os.environ.get(k) for k in ("HOLDSPACE_KEY_DIR", "HOLDSPACE_KEYRING")}
    with tempfile.TemporaryDirectory(prefix="holdspace-keys-") as d:
        os.environ["HOLDSPACE_KEY_DIR"] = str(Path(d) / "keys")
        os.environ["HOLDSPACE_KEYRING"] = "off"
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


@pytest.fixture(autouse=True)
def _private_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test reads or writes the real user's settings or clinic files."""
    base = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOLDSPACE_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("HOLDSPACE_DATA_DIR", str(base / "data"))

