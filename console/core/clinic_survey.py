"""Every clinic file checked in one pass, for the "problems with clinic files" view.

The features read their own files when they need them and carry on with the shipped
defaults when a file is bad; that keeps the console running but scatters the reasons. This
reads the same files through the same loaders, so one list can name each file (and the
workstation settings) that could not be used, with its line and the reason in plain words.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from console.core import clinic_files
from console.core.clinic_files import FileProblem
from console.core.config import Config
from console.core.dosing import templates
from console.core.music import music_program, playlists, setting_checklist

QUICK_TAGS_FILE = "quick_tags.txt"
MAX_TAGS = 30  # each tag is a button in the notes pane

log = logging.getLogger(__name__)


def read_quick_tags(data_dir: Path) -> tuple[list[str], FileProblem | None]:
    """The clinic's quick tags (one per line, `#` for comments) and what was wrong, if anything."""
    path = data_dir / QUICK_TAGS_FILE
    try:
        text = clinic_files.read_text(path)
    except FileNotFoundError:
        return [], None
    except clinic_files.UnreadableFile as e:
        return [], e.problem("the standard tags are used")
    tags: list[str] = []
    problem: FileProblem | None = None
    for n, line in enumerate(text.splitlines(), start=1):
        tag = line.strip()
        if not tag or tag.startswith("#"):
            continue
        if clinic_files.too_long(tag):
            problem = problem or FileProblem(path, n, f"a tag of {len(tag)} characters (at "
                                             f"most {clinic_files.NAME_MAX})", "it is left out")
            continue
        if len(tags) == MAX_TAGS:
            problem = problem or FileProblem(path, n, f"more than {MAX_TAGS} tags",
                                             f"only the first {MAX_TAGS} are shown")
            break
        tags.append(tag)
    return tags, problem


def survey(config: Config | None, data_dir: Path,
           playlist_dirs: list[Path]) -> list[FileProblem]:
    """Each settings or clinic file that could not be used (in whole or in part), and why."""
    found: list[FileProblem] = list(config.problems) if config is not None else []
    steps = [
        ("templates", lambda: [e.problem() for e in templates.load_catalog(data_dir).errors]),
        ("checklist", lambda: _checklist(data_dir)),
        ("music program", lambda: _program(playlist_dirs)),
        ("playlists", lambda: [x for path in playlists.discover(playlist_dirs).values()
                               for x in _playlist(path)]),
        ("quick tags", lambda: _one(read_quick_tags(data_dir)[1])),
    ]
    for what, step in steps:
        try:
            found.extend(step())
        except Exception:  # the loaders never raise; if one ever does, say so and go on
            log.exception("checking the clinic's %s failed", what)
            found.append(FileProblem(data_dir, None, f"the clinic's {what} could not be checked "
                                     "(see the log)"))
    return found


def _one(problem: FileProblem | None) -> list[FileProblem]:
    return [problem] if problem is not None else []


def _parts(path: Path, sentences: list[str], outcome: str) -> list[FileProblem]:
    """The loaders' sentences about parts of a file that was used, as list entries."""
    out = []
    for s in sentences:
        text = re.sub(r"^[A-Z][a-z]+( [a-z]+)? '[^']*'(: |, )", "", s).rstrip(".")
        reason, dash, then = text.partition(" — ")  # "… — left out": what was done is said
        out.append(FileProblem(path, None, reason, then if dash else outcome))
    return out


def _checklist(data_dir: Path) -> list[FileProblem]:
    cl = setting_checklist.load_checklist(data_dir)
    if cl.file_problem is not None:
        return [cl.file_problem]
    clinic = data_dir / setting_checklist.CLINIC_FILE
    used = cl.items and clinic.is_file() and cl.problems
    return _parts(clinic, cl.problems, "the rest of the checklist is used") if used else []


def _program(dirs: list[Path]) -> list[FileProblem]:
    prog = music_program.find_program(dirs)
    if prog.file_problem is not None:
        return [prog.file_problem]
    if prog.source is None:
        return []
    return _parts(prog.source, prog.problems, "the rest of the program is used")


def _playlist(path: Path) -> list[FileProblem]:
    """One entry per playlist: the whole file, or its first skipped part and how many more."""
    pl = playlists.load(path)
    if pl.file_problem is not None:
        return [pl.file_problem]
    if not pl.problems:
        return []
    first = _parts(path, pl.problems[:1], "")[0]
    more = f" (and {len(pl.problems) - 1} more)" if len(pl.problems) > 1 else ""
    return [FileProblem(path, None, first.reason + more,
                        f"{first.outcome}; the rest of the playlist plays" if first.outcome else
                        "the rest of the playlist plays")]
