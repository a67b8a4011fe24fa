"""Export files that hold patient data: private, whole or absent, never the database itself.

An export is written under a hidden temporary name beside its final name, created readable
and writable by the owner only (0600), and gets its name (`commit`) only after it is complete
and its export event is committed (see export_events.py). A failure halfway (a full disk, an
unplugged stick) leaves no half file with a real name, and nothing leaves unrecorded.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
from pathlib import Path
from typing import IO


class ExportError(Exception):
    """An export that cannot be made, in one sentence a nurse can act on."""


def _database_files(db_path: Path) -> set[Path]:
    p = db_path.expanduser().resolve()
    return {p, p.with_name(p.name + "-wal"), p.with_name(p.name + "-shm"),
            p.with_name(p.name + "-journal")}


def os_reason(e: OSError) -> str:
    """What an OSError means, in words."""
    if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return "the disk is full"
    if e.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    if e.errno == errno.EROFS:
        return "the disk is read-only"
    if e.errno == errno.ENOENT:
        return "the folder is not there"
    return e.strerror or str(e)


class PrivateOutput:
    """One export file: written as `.<name>.partial` (0600), renamed into place by `commit`."""

    def __init__(self, path: Path, db_path: Path | None = None) -> None:
        self.path = path.expanduser().absolute()  # the record says exactly where it went
        check_target(self.path, db_path)
        self.tmp = self.path.with_name(f".{self.path.name}.partial")
        with contextlib.suppress(OSError):
            self.tmp.unlink()  # left by an export that was killed
        try:
            fd = os.open(self.tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
        except OSError as e:
            raise ExportError(f"Cannot write {self.path} ({os_reason(e)}) — choose another "
                              "place.") from None
        os.close(fd)
        self.done = False

    def open_text(self) -> IO[str]:
        return open(self.tmp, "w", encoding="utf-8", newline="")

    def write_bytes(self, data: bytes) -> None:
        """The whole content at once (a PDF, a FHIR bundle); raises OSError when the disk
        refuses."""
        with open(self.tmp, "wb") as f:
            f.write(data)

    def failed(self, e: OSError) -> ExportError:
        """Discard the half-written file and say why."""
        self.discard()
        return ExportError(f"Cannot write {self.path} ({os_reason(e)}); nothing was exported.")

    def facts(self) -> dict[str, object]:
        """Size and SHA-256 of the content, for the export event (so a copy can be matched)."""
        h = hashlib.sha256()
        with open(self.tmp, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return {"file": str(self.path), "bytes": self.tmp.stat().st_size,
                "sha256": h.hexdigest()}

    def commit(self) -> None:
        """Give the finished file its name (replacing an older export of the same name)."""
        with open(self.tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(self.tmp, self.path)
        self.done = True

    def discard(self) -> None:
        if not self.done:
            with contextlib.suppress(OSError):
                self.tmp.unlink()


def check_target(path: Path, db_path: Path | None = None) -> None:
    """Refuse, before any work, an export path that cannot or must not be written."""
    if path.is_dir():
        raise ExportError(f"{path} is a folder — give a file name in it.")
    folder = path.parent
    if not folder.exists():
        raise ExportError(f"There is no folder {folder}: it does not exist — create it or "
                          "choose another place.")
    if not folder.is_dir():
        raise ExportError(f"There is no folder {folder}: it is a file — choose another place.")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ExportError(f"Cannot write in {folder} (permission denied) — choose another place.")
    if db_path is not None and path.resolve() in _database_files(db_path):
        raise ExportError(f"{path} is the Holdspace database itself — choose another file name.")
    if path.exists() and not os.access(path, os.W_OK):
        raise ExportError(f"{path} exists and is read-only — choose another file name.")
