"""Every clinic file checked in one pass, for the "problems with clinic files" view.

The features read their own files when they need them and carry on with the shipped
defaults when a file is bad; that keeps the console running but scatters the reasons. This
reads the same files through the same loaders, so one list can name each file (and the
workstation settings) that could not be used, with its line and the reason in plain words.
"""

from __future__ import annotations

import logging
from pathlib import Path

from console.core import clinic_files, music_program, playlists, setting_checklist, templates
from console.core.clinic_files import FileProblem
from console.core.config import Config

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
        ("checklist", lambda: _one(setting_checklist.load_checklist(data_dir).file_problem)),
        ("music program", lambda: _one(music_program.find_program(playlist_dirs).file_problem)),
        ("playlists", lambda: [pl.file_problem for path in playlists.discover(
            playlist_dirs).values() if (pl := playlists.load(path)).file_problem is not None]),
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
