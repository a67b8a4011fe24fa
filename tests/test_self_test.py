"""`holdspace --self-test` and `--version` from source, as real processes; the lock's
fingerprint of pyproject.toml's dependencies (packaging/deps_fingerprint.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import console

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "packaging"))
from deps_fingerprint import fingerprint  # noqa: E402


def run_hs(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full = {**os.environ, "PYTHONPATH": str(ROOT), **(env or {})}
    return subprocess.run([sys.executable, "-m", "console", *args], capture_output=True,
                          text=True, timeout=240, cwd=ROOT, env=full)


@pytest.mark.slow
def test_self_test_from_source_passes_every_check(tmp_path: Path) -> None:
    r = run_hs("--self-test", env={"HOME": str(tmp_path)})
    assert r.returncode == 0, r.stdout + r.stderr
    for check in ("program", "shipped files", "store and simulator", "encrypted store",
                  "keyring and central server libraries", "report", "music (libvlc)", "window"):
        assert f"self-test: ok     {check}: " in r.stdout
    assert f"Holdspace {console.__version__}" in r.stdout
    assert "self-test: all 8 checks passed" in r.stdout
    # the store it made and reopened is a SQLCipher file, keyed from its own key file
    assert "encrypted store: holdspace.db is encrypted (SQLCipher " in r.stdout
    assert "reopened with the self-test's key file" in r.stdout
    # nothing was written to the user's folders: the self-test keeps to a temporary folder
    assert not any(tmp_path.iterdir())


@pytest.mark.slow
def test_self_test_says_in_plain_words_what_failed(tmp_path: Path) -> None:
    missing = tmp_path / "no-vlc" / "libvlc.so.5"
    r = run_hs("--self-test", env={"HOLDSPACE_LIBVLC": str(missing)})
    assert r.returncode == 1, r.stdout + r.stderr
    assert (f"self-test: FAILED music (libvlc): Music unavailable — the VLC library at "
            f"{missing} could not be loaded") in r.stdout
    assert "self-test: 1 of 8 checks FAILED: music (libvlc)" in r.stdout
    assert "Traceback" not in r.stdout + r.stderr


def test_version_is_the_package_version() -> None:
    r = run_hs("--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == f"holdspace {console.__version__}"


def test_lock_fingerprint_follows_dependencies_only(tmp_path: Path) -> None:
    text = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    base = tmp_path / "pyproject.toml"
    base.write_text(text, encoding="utf-8")
    before = fingerprint(base)
    base.write_text(text.replace("line-length = 110", "line-length = 100"), encoding="utf-8")
    assert fingerprint(base) == before  # a tool setting does not make the lock stale
    base.write_text(text.replace('"pyserial>=3.5",', '"pyserial>=3.5",\n    "keyring>=25",'),
                    encoding="utf-8")
    assert fingerprint(base) != before  # a new dependency does
