"""File modes: Holdspace's folders 0700 and files 0600, checked (and made so) at start.

Patient data is in the database (encrypted), its -wal and -shm, backups, capture files, logs
and exports; the key file is in the config folder. On a shared workstation every other
account must be unable to read them, whatever the umask or a copy by hand left behind. At
start (`holdspace`, `holdspace record`) and in `holdspace check`, the data and config folders
are walked: what Holdspace's account owns is made private and said in one sentence; what
another account owns is only reported (Holdspace cannot and must not change it).

`private_umask` makes everything this process creates private from the start (files 0600,
folders 0700), so nothing written later (a log, a capture, a backup) is ever readable by
others, even for a moment.

Windows has no mode bits: there, the data and config folders are inside the user's profile
(AppData), whose access list already grants only that user, SYSTEM and administrators. This
module does nothing on Windows (`os.name == "nt"`); the README says to keep a --db or a
backup folder inside the profile, or to give its folder the same access list.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700
MAX_ENTRIES = 20_000  # a walk never keeps the console from starting on a huge folder


def private_umask() -> None:
    """Everything this process creates is readable by its own account only."""
    if os.name != "nt":
        os.umask(0o077)


@dataclass
class ModeReport:
    fixed: list[Path] = field(default_factory=list)  # were readable by others; made private
    foreign: list[Path] = field(default_factory=list)  # readable by others, another owner
    failed: list[Path] = field(default_factory=list)  # ours, but chmod refused
    fixing: bool = True  # False: only looked (`holdspace check`); `fixed` is what would be

    def messages(self) -> list[str]:
        out = []
        if self.fixed and self.fixing:
            out.append(f"{_count(self.fixed)} readable by other accounts on this workstation "
                       f"(e.g. {self.fixed[0]}); now readable by this account only "
                       "(files 0600, folders 0700).")
        elif self.fixed:
            out.append(f"{_count(self.fixed, now=True)} readable by other accounts on this "
                       f"workstation (e.g. {self.fixed[0]}); Holdspace makes them private at "
                       "its next start (or: chmod 600 for files, 700 for folders).")
        for p in (self.foreign + self.failed)[:5]:
            out.append(f"{p} can be read by other accounts on this workstation and Holdspace "
                       "cannot change that (another account owns it, or the disk refuses) — "
                       f"ask IT to make it private: chmod {'700' if p.is_dir() else '600'} "
                       f"{p}")
        return out


def _count(paths: list[Path], now: bool = False) -> str:
    dirs = sum(1 for p in paths if p.is_dir())
    files = len(paths) - dirs
    parts = [f"{files} file{'s' if files != 1 else ''}"] if files else []
    parts += [f"{dirs} folder{'s' if dirs != 1 else ''}"] if dirs else []
    verb = ("are" if len(paths) != 1 else "is") if now else ("were" if len(paths) != 1 else "was")
    return " and ".join(parts) + " " + verb


def _check(p: Path, want: int, report: ModeReport, fix: bool) -> None:
    try:
        st = p.lstat()
    except OSError:
        return
    if stat.S_ISLNK(st.st_mode) or not st.st_mode & 0o077:
        return
    if st.st_uid != os.getuid():
        report.foreign.append(p)
        return
    if not fix:
        report.fixed.append(p)
        return
    try:
        os.chmod(p, want)
        report.fixed.append(p)
    except OSError:
        report.failed.append(p)


def check_tree(root: Path, report: ModeReport, fix: bool = True) -> None:
    """The folder `root` and everything under it (not following links)."""
    if not root.is_dir():
        return
    _check(root, DIR_MODE, report, fix)
    seen = 0
    for here, dirs, files in os.walk(root):
        for d in dirs:
            _check(Path(here) / d, DIR_MODE, report, fix)
        for f in files:
            _check(Path(here) / f, FILE_MODE, report, fix)
        seen += len(dirs) + len(files)
        if seen > MAX_ENTRIES:
            break


def database_files(db: Path) -> list[Path]:
    return [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]


def check_modes(folders: Iterable[Path], db: Path | None = None, *, fix: bool = True
                ) -> ModeReport:
    """Walk Holdspace's own folders (data, config, keys) and the database's files; with
    `fix`, make what this account owns private. The database's folder is walked only when it
    is one of Holdspace's folders (a --db in the user's home does not change the home)."""
    report = ModeReport(fixing=fix)
    if os.name == "nt":
        return report
    done: set[Path] = set()
    for folder in folders:
        folder = folder.expanduser().absolute()
        if folder in done:
            continue
        done.add(folder)
        check_tree(folder, report, fix)
    if db is not None:
        db = db.expanduser().absolute()
        if not any(db.is_relative_to(f) for f in done):
            for p in database_files(db):
                _check(p, FILE_MODE, report, fix)
            for sub in ("backups", "captures"):  # Holdspace's own folders beside a --db
                check_tree(db.parent / sub, report, fix)
    return report
