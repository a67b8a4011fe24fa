"""PHI at rest: the database and its backups are SQLCipher files under the workstation's key.

Real files, the real sqlcipher3 and the standard `sqlite3` as the thief's tool; the OS keyring
is a real keyring backend writing a file in the test's folder (never the user's keyring).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import keyring.backend
import pytest
from keyring.backends import fail

from console.store import engine, keys
from console.store.backup import (
    BackupError,
    backups_dir,
    host_name,
    list_backups,
    make_backup,
    restore,
    verify,
)
from console.store.db import KeyMismatch, connect_file, migrate, open_db, open_readonly
from console.store.encryption import recover
from console.store.health import check_database
from tests.helpers.day_fixtures import Day, counts, simulated_day

NAME = "Zebediah Quuxworth"
IDENT = b"MRN-Zeb"
HS = [sys.executable, "-m", "console"]


def run_hs(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HS, *args], capture_output=True, text=True, timeout=120,
                          input=stdin)


def digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture
def workstation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """This test's own key folder: a workstation of its own."""
    d = tmp_path / "workstation-a"
    monkeypatch.setenv("HOLDSPACE_KEY_DIR", str(d))
    keys.forget_cached()
    keys.take_notices()
    return d


def other_workstation(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str) -> Path:
    d = tmp_path / name
    monkeypatch.setenv("HOLDSPACE_KEY_DIR", str(d))
    keys.forget_cached()
    return d


def recovery_text(key_dir: Path) -> str:
    (f,) = key_dir.glob("recovery-key-*.txt")
    line = next(ln for ln in f.read_text(encoding="utf-8").splitlines() if ln.count("-") == 13)
    return line.strip()


@pytest.fixture
def day(tmp_path: Path, workstation: Path) -> Day:
    return simulated_day(tmp_path / "holdspace.db", seconds=120, patient=NAME)


# ------------------------------------------------------------------------------ the file
def test_a_stolen_file_reveals_nothing(day: Day, tmp_path: Path) -> None:
    with pytest.raises(sqlite3.DatabaseError, match="file is not a database"):
        sqlite3.connect(day.path).execute("SELECT * FROM patients").fetchall()
    backup = make_backup(day.path, backups_dir(day.path), create=True).path
    with pytest.raises(sqlite3.DatabaseError, match="file is not a database"):
        sqlite3.connect(backup).execute("SELECT * FROM patients").fetchall()
    for f in [day.path, backup, *day.path.parent.glob("holdspace.db-*")]:
        data = f.read_bytes()
        assert b"Zebediah" not in data and b"Quuxworth" not in data and IDENT not in data, f
        assert not data.startswith(engine.PLAIN_HEADER), f
    conn = connect_file(day.path)  # with the key, everything is there
    assert conn.execute("SELECT display_name, identifier FROM patients").fetchone() == (
        NAME, IDENT.decode())
    assert counts(day.path)["readings"] == day.readings


def test_cipher_settings_are_explicit_and_the_key_is_raw(day: Day) -> None:
    conn = connect_file(day.path)
    settings = {row[0] for row in conn.execute("PRAGMA cipher_settings")}
    assert "PRAGMA cipher_page_size = 4096;" in settings
    assert "PRAGMA cipher_hmac_algorithm = HMAC_SHA512;" in settings
    assert "PRAGMA cipher_plaintext_header_size = 0;" in settings


def test_a_wrong_key_is_refused_with_the_clear_message_and_nothing_changes(
        day: Day, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    before = digest(day.path)
    other_workstation(tmp_path, monkeypatch, "workstation-b")
    keys.workstation_key(create=True)  # workstation B has a key of its own
    for opening in (open_db, open_readonly, check_database):
        with pytest.raises(KeyMismatch) as e:
            opening(day.path)
        assert "cannot be opened with this workstation's key" in str(e.value)
        assert f"holdspace recover --db {day.path}" in str(e.value)
    r = run_hs("sessions", "--db", str(day.path))
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert r.stderr.count("\n") == 1 and "use its recovery key" in r.stderr, r.stderr
    assert digest(day.path) == before


def test_a_record_moved_to_another_workstation_opens_with_its_recovery_key(
        day: Day, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workstation: Path) -> None:
    paper = recovery_text(workstation)
    before = counts(day.path)
    b = other_workstation(tmp_path, monkeypatch, "workstation-b")
    key_b = keys.workstation_key(create=True)
    assert key_b is not None
    bad = run_hs("recover", "--db", str(day.path), stdin=recovery_text(b) + "\n")
    assert bad.returncode == 2 and "does not open" in bad.stderr and "Traceback" not in bad.stderr
    typo = paper[:-1] + ("A" if paper[-1] != "A" else "B")
    r = run_hs("recover", "--db", str(day.path), stdin=typo + "\n")
    assert r.returncode == 2 and "typing mistake" in r.stderr
    r = run_hs("recover", "--db", str(day.path), stdin=paper.lower() + "\n")
    assert r.returncode == 0, r.stderr
    assert "now encrypted with this workstation's key" in r.stdout
    assert counts(day.path) == before  # nothing lost
    with pytest.raises(engine.DatabaseError, match="file is not a database"):
        engine.connect(day.path, keys.parse_recovery(paper)).execute(
            "SELECT 1 FROM sqlite_master").fetchall()
    open_db(day.path).close()


class FileKeyring(keyring.backend.KeyringBackend):
    """A real keyring backend (keyring's plugin API) that keeps its secrets in a JSON file."""

    priority = 1

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def _all(self) -> dict[str, str]:
        return json.loads(self.path.read_text()) if self.path.exists() else {}

    def get_password(self, service: str, username: str) -> str | None:
        return self._all().get(f"{service}/{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        d = self._all()
        d[f"{service}/{username}"] = password
        self.path.write_text(json.dumps(d))

    def delete_password(self, service: str, username: str) -> None:
        d = self._all()
        del d[f"{service}/{username}"]
        self.path.write_text(json.dumps(d))


@pytest.fixture
def os_keyring(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workstation: Path
               ) -> Iterator[FileKeyring]:
    before = keyring.get_keyring()
    kr = FileKeyring(tmp_path / "keyring.json")
    keyring.set_keyring(kr)
    monkeypatch.delenv("HOLDSPACE_KEYRING")
    keys.forget_cached()
    try:
        yield kr
    finally:
        keyring.set_keyring(before)
        keys.forget_cached()


def test_the_key_is_kept_in_the_os_keyring_and_a_lost_entry_is_restored_by_the_recovery_key(
        os_keyring: FileKeyring, tmp_path: Path, workstation: Path) -> None:
    day = simulated_day(tmp_path / "holdspace.db", seconds=60, patient=NAME)
    key = keys.workstation_key(create=False)
    assert key is not None and key.kept == "keyring"
    assert os_keyring.get_password(keys.SERVICE, keys.ACCOUNT) == key.raw.hex()
    assert not keys.key_file().exists(), "no key file when the keyring keeps the key"
    backup = make_backup(day.path, backups_dir(day.path), create=True).path
    before = counts(day.path)
    paper = recovery_text(workstation)

    os_keyring.delete_password(keys.SERVICE, keys.ACCOUNT)  # a reset keyring, a new profile
    keys.forget_cached()
    with pytest.raises(KeyMismatch, match="this workstation has no Holdspace key"):
        open_db(day.path)
    assert keys.workstation_key(create=False) is None, "no new key is made behind its back"

    said = recover(day.path, keys.parse_recovery(paper))
    assert "restored from the recovery key" in said
    assert os_keyring.get_password(keys.SERVICE, keys.ACCOUNT) == key.raw.hex()
    assert counts(day.path) == before
    assert verify(backup).counts["readings"] == before["readings"], "old backups open again"


def test_without_a_keyring_service_the_key_file_is_0600_and_it_is_said(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workstation: Path) -> None:
    before = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())  # a fresh headless machine: no keyring service
    monkeypatch.delenv("HOLDSPACE_KEYRING")
    try:
        open_db(tmp_path / "holdspace.db").close()
    finally:
        keyring.set_keyring(before)
    notices = " ".join(keys.take_notices())
    assert "There is no keyring service on this workstation" in notices
    assert str(keys.key_file()) in notices and "RECOVERY KEY" in notices
    assert stat.S_IMODE(keys.key_file().stat().st_mode) == 0o600
    assert stat.S_IMODE(workstation.stat().st_mode) == 0o700
    (paper,) = workstation.glob("recovery-key-*.txt")
    assert stat.S_IMODE(paper.stat().st_mode) == 0o600
    key = keys.workstation_key(create=False)
    assert key is not None and key.kept == "key file"
    assert keys.parse_recovery(recovery_text(workstation)) == key.raw
    r = run_hs("check", "--db", str(tmp_path / "holdspace.db"))
    assert "encryption:  on (SQLCipher" in r.stdout and "in the key file" in r.stdout, r.stdout


def test_recovery_keys_forgive_case_spaces_and_look_alike_digits_but_not_typos() -> None:
    raw = bytes(range(32))
    text = keys.recovery_text(raw)
    groups = text.split("-")
    assert len(groups) == 14 and all(len(g) == 4 for g in groups)
    assert keys.parse_recovery(text) == raw
    assert keys.parse_recovery(" ".join(groups).lower()) == raw
    assert keys.parse_recovery(text.replace("O", "0").replace("I", "1").replace("B", "8")) == raw
    with pytest.raises(keys.KeyProblem, match="typing mistake"):
        keys.parse_recovery(text[:5] + ("A" if text[5] != "A" else "C") + text[6:])
    with pytest.raises(keys.KeyProblem, match="56 letters"):
        keys.parse_recovery(text[:-5])


# ----------------------------------------------------------------- migration of a plain file
def plain_database(p: Path) -> None:
    """A database as an older Holdspace left it: plain SQLite, WAL, with a patient."""
    conn = sqlite3.connect(p, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    migrate(conn)
    conn.execute("INSERT INTO patients (identifier, display_name, created) VALUES (?, ?, 1.0)",
                 (IDENT.decode(), NAME))
    conn.execute("INSERT INTO sessions (patient_id, started, ended, state) "
                 "VALUES (1, 2.0, 3.0, 'ended')")
    for i in range(50):
        conn.execute("INSERT INTO readings (session_id, t, source, code, value, unit, quality) "
                     "VALUES (1, ?, 'SIM', 147842, 70, 2720, 0)", (2.0 + i / 100,))
    conn.close()


def test_a_plain_database_is_encrypted_in_place_with_an_encrypted_backup_first(
        tmp_path: Path, workstation: Path) -> None:
    db = tmp_path / "holdspace.db"
    plain_database(db)
    folder = backups_dir(db)
    folder.mkdir(mode=0o700)
    conn = sqlite3.connect(db)
    old = folder / f"holdspace-{host_name()}-20260101-120000-manual.db"  # a plain backup of it
    conn.execute("VACUUM INTO ?", (str(old),))
    conn.close()
    before = counts(db)

    open_db(db).close()

    assert engine.file_kind(db) == "encrypted"
    with pytest.raises(sqlite3.DatabaseError, match="file is not a database"):
        sqlite3.connect(db).execute("SELECT 1 FROM sqlite_master").fetchall()
    assert counts(db) == before
    h = check_database(db)
    assert h.ok and h.encrypted and h.schema_hash == h.expected_hash, "triggers and all kept"
    made = [b for b in list_backups(folder, db) if b.why == "encrypt"]
    assert len(made) == 1 and counts(made[0].path) == before and verify(made[0].path).ok
    assert engine.file_kind(old) == "encrypted" and counts(old) == before
    notice = " ".join(keys.take_notices())
    assert "is now encrypted" in notice and str(made[0].path) in notice
    plain_left = [p for p in tmp_path.rglob("*") if p.is_file() and p.read_bytes().startswith(
        engine.PLAIN_HEADER)]
    assert plain_left == [], "no plain copy of the record is left behind"
    assert all(b"Quuxworth" not in p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()
               and "keys" not in p.parts and p.suffix != ".txt")


def test_a_plain_database_reads_as_it_is_read_only_and_check_says_so(
        tmp_path: Path, workstation: Path) -> None:
    db = tmp_path / "holdspace.db"
    plain_database(db)
    before = digest(db)
    r = run_hs("check", "--db", str(db))
    assert r.returncode == 0 and "encryption:  OFF" in r.stdout, r.stdout
    r = run_hs("sessions", "--db", str(db))
    assert r.returncode == 0 and NAME in r.stdout
    assert engine.file_kind(db) == "plain" and digest(db) == before


# ----------------------------------------------------------------------------- backups
def test_encrypted_backups_restore_and_a_foreign_backup_is_explained(
        day: Day, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workstation: Path) -> None:
    copy = make_backup(day.path, tmp_path / "usb", create=True)
    assert engine.file_kind(copy.path) == "encrypted"
    target = tmp_path / "restored" / "holdspace.db"
    target.parent.mkdir()
    done = restore(copy.path, target)
    assert done.counts == copy.counts and counts(target) == counts(day.path)
    assert engine.file_kind(target) == "encrypted"
    paper = recovery_text(workstation)

    other_workstation(tmp_path, monkeypatch, "workstation-b")
    keys.workstation_key(create=True)
    with pytest.raises(BackupError, match="may come from another workstation"):
        verify(copy.path)
    r = run_hs("restore", str(copy.path), "--db", str(tmp_path / "b.db"))
    assert r.returncode == 2 and "holdspace recover --db" in r.stderr and "Traceback" not in r.stderr
    r = run_hs("recover", "--db", str(copy.path), stdin=paper + "\n")
    assert r.returncode == 0, r.stderr
    assert verify(copy.path).counts == copy.counts


def test_a_plain_backup_restores_encrypted(tmp_path: Path, workstation: Path) -> None:
    old = tmp_path / "old-plain-backup.db"
    plain_database(old)
    target = tmp_path / "holdspace.db"
    restore(old, target)
    assert engine.file_kind(target) == "encrypted" and counts(target) == counts(old)


# --------------------------------------------------------------------------- passphrase
def test_a_clinic_passphrase_derives_the_key_and_a_wrong_one_is_refused(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workstation: Path) -> None:
    with pytest.raises(keys.KeyProblem, match="at least 12"):
        keys.use_passphrase("short")
    key = keys.use_passphrase("the river runs past the clinic")
    assert key.kept == "passphrase" and not keys.key_file().exists()
    info = json.loads(keys.passphrase_file().read_text())
    assert "the river" not in keys.passphrase_file().read_text() and info["kdf"] == "scrypt"
    db = tmp_path / "holdspace.db"
    monkeypatch.setenv("HOLDSPACE_PASSPHRASE", "the river runs past the clinic")
    open_db(db).close()
    keys.forget_cached()
    monkeypatch.setenv("HOLDSPACE_PASSPHRASE", "the river runs past the shop")
    with pytest.raises(Exception, match="not this clinic's passphrase"):
        open_db(db)
    monkeypatch.setenv("HOLDSPACE_PASSPHRASE", "the river runs past the clinic")
    keys.forget_cached()
    open_db(db).close()
    with pytest.raises(keys.KeyProblem, match="already has a database key"):
        keys.use_passphrase("another long passphrase")


def test_export_csv_reads_an_encrypted_file_for_the_clinics_own_tools(
        tmp_path: Path, workstation: Path) -> None:
    day = simulated_day(tmp_path / "holdspace.db", seconds=30, patient=NAME)
    out = tmp_path / "x.csv"
    r = run_hs("export", "--db", str(day.path), "--session", str(day.session_id), "--csv",
               str(out))
    assert r.returncode == 0, r.stderr
    assert len(out.read_text(encoding="utf-8").splitlines()) == counts(day.path)["readings"] + 1
    assert stat.S_IMODE(out.stat().st_mode) == 0o600


def test_plain_backups_in_the_clinics_folder_are_encrypted_at_start(
        tmp_path: Path, workstation: Path) -> None:
    from console.cli import check_db
    from console.core.config import default_config_path

    db = tmp_path / "holdspace.db"
    plain_database(db)
    usb = tmp_path / "usb"
    usb.mkdir()
    old = usb / f"holdspace-{host_name()}-20260101-120000-session.db"
    conn = sqlite3.connect(db)
    conn.execute("VACUUM INTO ?", (str(old),))
    conn.close()
    default_config_path().parent.mkdir(parents=True, exist_ok=True)
    default_config_path().write_text(json.dumps({"extra": {"backup": {"folder": str(usb)}}}))
    notes = " ".join(check_db(db))
    assert "is now encrypted" in notes and f"1 unencrypted backup of holdspace.db in {usb}" in notes
    assert engine.file_kind(old) == "encrypted" and counts(old) == counts(db)
