"""Item 5: Holdspace's folders are 0700 and its files 0600, checked and made so at start.

Modes are read with os.stat, so these hold as root too (root bypasses the permission checks,
not the mode bits)."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from console.cli import check_db
from console.core.config import default_config_path, default_data_dir
from console.store.modes import check_modes

HS = [sys.executable, "-m", "console"]


def mode(p: Path) -> int:
    return stat.S_IMODE(p.stat().st_mode)


def loose_tree(root: Path) -> list[Path]:
    """A data folder as a umask of 022 and copies by hand leave it."""
    made = []
    for sub in ("", "logs", "captures", "backups"):
        d = root / sub
        d.mkdir(parents=True, exist_ok=True)
        os.chmod(d, 0o755)
        made.append(d)
    for rel in ("holdspace.db", "holdspace.db-wal", "logs/holdspace.log",
                "captures/x.hscap", "backups/holdspace-h-20260101-120000-manual.db"):
        f = root / rel
        f.write_bytes(b"x")
        os.chmod(f, 0o644)
        made.append(f)
    return made


def every_mode(root: Path) -> dict[str, int]:
    out = {".": mode(root)}
    for here, dirs, files in os.walk(root):
        for n in dirs + files:
            p = Path(here) / n
            out[str(p.relative_to(root))] = mode(p)
    return out


def test_loose_modes_are_made_private_and_said_once(tmp_path: Path) -> None:
    data, config = tmp_path / "data", tmp_path / "config"
    made = loose_tree(data)
    config.mkdir(mode=0o755)
    os.chmod(config, 0o755)
    (config / "workstation.json").write_text("{}")
    os.chmod(config / "workstation.json", 0o644)
    report = check_modes([data, config], data / "holdspace.db")
    assert set(report.fixed) == {*made, config, config / "workstation.json"}
    (msg,) = report.messages()
    assert "readable by other accounts" in msg and "now readable by this account only" in msg
    assert "6 files and 5 folders were" in msg
    assert all(m == 0o700 for p, m in every_mode(data).items() if (data / p).is_dir())
    assert all(m == 0o600 for p, m in every_mode(data).items() if (data / p).is_file())
    assert mode(config / "workstation.json") == 0o600
    assert check_modes([data, config]).messages() == [], "said once: nothing left to say"


def test_a_db_outside_the_data_folder_is_made_private_but_its_folder_is_not_changed(
        tmp_path: Path) -> None:
    clinic = tmp_path / "clinic"
    clinic.mkdir()
    os.chmod(clinic, 0o755)
    db = clinic / "room1.db"
    db.write_bytes(b"x")
    os.chmod(db, 0o644)
    check_modes([tmp_path / "data"], db)
    assert mode(db) == 0o600 and mode(clinic) == 0o755


@pytest.mark.skipif(os.name == "nt" or os.getuid() != 0, reason="needs root to chown")
def test_a_file_another_account_owns_is_reported_not_changed(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o700)
    theirs = data / "theirs.log"
    theirs.write_text("x")
    os.chmod(theirs, 0o644)
    os.chown(theirs, 65534, 65534)
    report = check_modes([data])
    assert report.foreign == [theirs] and mode(theirs) == 0o644
    (msg,) = report.messages()
    assert "ask IT to make it private: chmod 600" in msg and str(theirs) in msg


def test_holdspace_record_leaves_nothing_readable_by_others(tmp_path: Path) -> None:
    """A whole headless recording with capture: database, -wal, backups, logs, captures, key
    and config folders all private from the start (umask), and `check` has nothing to fix."""
    from devices.drivers import get_driver
    from devices.simulator import Simulator

    sim = Simulator(get_driver("sim"), tcp=True)
    port = sim.start()
    try:
        r = subprocess.run([*HS, "record", "--device", f"sim:{port}", "--duration", "2",
                            "--capture", "--patient", "MRN-77"], capture_output=True, text=True,
                           timeout=120)
    finally:
        sim.stop()
    assert r.returncode == 0, r.stderr
    data = default_data_dir()
    assert (data / "captures").is_dir() and (data / "backups").is_dir()
    for root in (data, Path(os.environ["HOLDSPACE_KEY_DIR"])):
        for rel, m in every_mode(root).items():
            want = 0o700 if (root / rel).is_dir() else 0o600
            assert m == want, (root / rel, oct(m))
    # loosened by hand: `holdspace check` says so (and changes nothing); the next start fixes
    os.chmod(data / "holdspace.db", 0o644)
    os.chmod(data / "logs", 0o755)
    chk = subprocess.run([*HS, "check"], capture_output=True, text=True, timeout=60)
    assert "file modes:  1 file and 1 folder are readable by other accounts" in chk.stdout, \
        chk.stdout
    assert mode(data / "holdspace.db") == 0o644 and mode(data / "logs") == 0o755
    old_umask = os.umask(0o077)  # as `holdspace` sets it before anything (cli.main)
    try:
        notes = check_db(data / "holdspace.db")
    finally:
        os.umask(old_umask)
    assert any("1 file and 1 folder were readable by other accounts" in n for n in notes), notes
    assert mode(data / "holdspace.db") == 0o600 and mode(data / "logs") == 0o700
    assert default_config_path().parent.exists() is False or mode(
        default_config_path().parent) == 0o700
