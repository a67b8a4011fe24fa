"""Which sessions a living Holdspace is recording: one locked marker file per open session.

A session row says 'active' until it is ended, so after a crash, a kill or a power cut the
row alone cannot tell a session being recorded right now (by this console, or by a
`holdspace record` beside it on the same file) from one whose process died. The process that
records a session holds an OS lock on `<database>.owners/<session id>.lock`; the kernel drops
the lock when the process dies, whatever the cause, so "nobody holds the lock" is the proof
that the session was interrupted. A PID would not do: after a reboot it can belong to
anything.

The file also says how its owner left: "recording" while held, "closed" when the console was
closed with the session still open. Ending a session, or marking it interrupted, removes its
file. The check (`probe`) opens the file read-only, so it works on a database on a read-only
disk (where nobody can be recording).
Locks are per open file (flock on Linux/macOS, a byte lock on Windows), so a check from the
same process sees its own sessions as taken, as it should.

The last process to close the database properly leaves `<database>.owners/closed-cleanly`
naming the file as it left it (inode, size, modification time, no -wal): the next start
skips `PRAGMA quick_check` (seconds on a long day's file) when the file is still exactly
that. After a crash, a kill or a power cut the marker is missing (opening the file removes
it), and a file changed since (a disk writing garbage into it, a copy put in its place)
no longer matches it: both are checked.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from enum import Enum
from pathlib import Path


class Owner(Enum):
    ALIVE = "alive"  # a running Holdspace holds the session
    CLOSED = "closed"  # Holdspace was closed (or its recording stopped) with the session open
    GONE = "gone"  # the process died: a crash, a kill, a power cut


def owners_dir(db_path: str | os.PathLike[str]) -> Path:
    p = Path(db_path).expanduser()
    return p.with_name(p.name + ".owners")


if sys.platform == "win32":  # pragma: no cover - exercised on Windows only
    import msvcrt

    def _try_lock(fd: int, exclusive: bool) -> bool:
        del exclusive  # Windows byte locks are exclusive
        os.lseek(fd, 0, os.SEEK_SET)
        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True

    def _unlock(fd: int) -> None:
        os.lseek(fd, 0, os.SEEK_SET)
        with contextlib.suppress(OSError):
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

else:
    import fcntl

    def _try_lock(fd: int, exclusive: bool) -> bool:
        try:
            fcntl.flock(fd, (fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH) | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def _unlock(fd: int) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)


def probe(db_path: str | os.PathLike[str], session_id: int) -> Owner:
    """Is someone recording this session? Opens nothing for writing."""
    path = owners_dir(db_path) / f"{session_id}.lock"
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return Owner.GONE
    except OSError:  # unreadable marker: assume the safe answer, someone may be recording
        return Owner.ALIVE
    try:
        if not _try_lock(fd, exclusive=False):
            return Owner.ALIVE
        _unlock(fd)
        text = os.read(fd, 64).decode("ascii", "replace")
    finally:
        os.close(fd)
    return Owner.CLOSED if text.startswith("closed") else Owner.GONE


def reap(db_path: str | os.PathLike[str], session_id: int) -> Owner:
    """Like `probe`, but a marker nobody holds is removed (under an exclusive lock, so no one
    can be taking it meanwhile). Call it in the write transaction that marks the session
    interrupted: nobody can resume the session before that commits."""
    path = owners_dir(db_path) / f"{session_id}.lock"
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return Owner.GONE
    except OSError:
        return probe(db_path, session_id)
    try:
        if not _try_lock(fd, exclusive=True):
            return Owner.ALIVE
        text = os.read(fd, 64).decode("ascii", "replace")
        with contextlib.suppress(OSError):
            path.unlink()
        _unlock(fd)
    finally:
        os.close(fd)
    return Owner.CLOSED if text.startswith("closed") else Owner.GONE


IN_USE_NAME = "open.lock"
CLEAN_NAME = "closed-cleanly"


def _fingerprint(db_path: str | os.PathLike[str]) -> str | None:
    """The file as it is now (inode, size, mtime), or None if it has a -wal with content
    (the file is open, or was not closed properly) or cannot be read."""
    p = Path(db_path).expanduser()
    try:
        st = p.stat()
        wal = p.with_name(p.name + "-wal")
        if wal.exists() and wal.stat().st_size > 0:
            return None
    except OSError:
        return None
    return f"{st.st_ino} {st.st_size} {st.st_mtime_ns}"


def mark_closed_cleanly(db_path: str | os.PathLike[str]) -> None:
    """Say that the database was closed properly, if nobody else has it open: call it after
    the last connection of this process to it is closed."""
    folder = owners_dir(db_path)
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(folder / IN_USE_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return
    try:
        if not _try_lock(fd, exclusive=True):
            return  # another Holdspace writes it: it will say so when it closes
        try:
            print_ = _fingerprint(db_path)
            if print_ is not None:
                tmp = folder / f"{CLEAN_NAME}.{os.getpid()}"
                with contextlib.suppress(OSError):  # private like the rest (modes.py)
                    out = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                    with os.fdopen(out, "w", encoding="ascii") as f:
                        f.write(print_ + "\n")
                    os.replace(tmp, folder / CLEAN_NAME)
        finally:
            _unlock(fd)
    finally:
        os.close(fd)


def closed_cleanly(db_path: str | os.PathLike[str]) -> bool:
    """Was the file closed properly, and is it still exactly as it was then?"""
    try:
        said = (owners_dir(db_path) / CLEAN_NAME).read_text().strip()
    except OSError:
        return False
    return said == _fingerprint(db_path)


def forget_closed_cleanly(db_path: str | os.PathLike[str]) -> None:
    """The file is being opened for writing: until it is closed properly it is not clean."""
    with contextlib.suppress(OSError):
        (owners_dir(db_path) / CLEAN_NAME).unlink()


def hold_open(db_path: str | os.PathLike[str]) -> int | None:
    """Say, for as long as this process writes the database, that it is in use: a shared lock
    on `<database>.owners/open.lock`, so `holdspace restore` never replaces a file a running
    Holdspace writes (its writes would go to the file set aside). Returns the descriptor to
    give to `let_go`, or None where the marker cannot be made (a read-only folder)."""
    folder = owners_dir(db_path)
    try:
        folder.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(folder / IN_USE_NAME, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError:
        return None
    deadline = time.monotonic() + SessionOwnership.CLAIM_WAIT
    while not _try_lock(fd, exclusive=False):  # only a restore's check holds it exclusively
        if time.monotonic() >= deadline:
            os.close(fd)
            return None
        time.sleep(0.01)
    return fd


def let_go(fd: int | None) -> None:
    if fd is None:
        return
    try:
        _unlock(fd)
    finally:
        os.close(fd)


def in_use(db_path: str | os.PathLike[str]) -> bool:
    """Does a running Holdspace (the console or `holdspace record`) write this database now?"""
    path = owners_dir(db_path) / IN_USE_NAME
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return False
    except OSError:  # cannot check: assume the safe answer
        return True
    try:
        if not _try_lock(fd, exclusive=True):
            return True
        _unlock(fd)
        return False
    finally:
        os.close(fd)


class SessionOwnership:
    """The sessions this process records; hold a claim for as long as the session is open."""

    CLAIM_WAIT = 1.0  # another process's check holds a shared lock for microseconds

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.dir = owners_dir(db_path)
        self._held: dict[int, int] = {}

    def claim(self, session_id: int) -> None:
        """Take the session; raises OSError if the file cannot be made, or if another running
        Holdspace holds it (BlockingIOError)."""
        if session_id in self._held:
            return
        self.dir.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(self.dir / f"{session_id}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + self.CLAIM_WAIT
        while not _try_lock(fd, exclusive=True):
            if time.monotonic() >= deadline:
                os.close(fd)
                raise BlockingIOError(f"session {session_id} is being recorded by another Holdspace")
            time.sleep(0.01)
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, f"recording pid {os.getpid()}\n".encode())
        self._held[session_id] = fd

    def release(self, session_id: int, *, ended: bool) -> None:
        """Let the session go: `ended` removes its marker; otherwise the marker says the
        console was closed with the session open (told apart from a crash at the next start)."""
        fd = self._held.pop(session_id, None)
        if fd is None:
            return
        try:
            if ended:
                with contextlib.suppress(OSError):
                    (self.dir / f"{session_id}.lock").unlink()
            else:
                with contextlib.suppress(OSError):
                    os.ftruncate(fd, 0)
                    os.lseek(fd, 0, os.SEEK_SET)
                    os.write(fd, f"closed {time.time():.3f}\n".encode())
            _unlock(fd)
        finally:
            os.close(fd)

    def release_all(self) -> None:
        for sid in list(self._held):
            self.release(sid, ended=False)

    def holds(self, session_id: int) -> bool:
        return session_id in self._held
