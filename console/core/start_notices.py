"""Notes from a start that the person at the console must read once: a database key made and
where its recovery key is, the key kept in a file, a plain record encrypted, files made
private, the last run's crash.

They are kept in the workstation settings (`Config.notices`) from the moment they are made
until someone presses Got it: the first run's notes are hidden under the lock until the clinic
admin is made, and a console closed before anyone read them shows them again at the next
start. Once dismissed, a note does not come back (the same thing happening again is a new
note). Where the settings cannot be saved, a dismissal holds for this run only.
"""

from __future__ import annotations

import contextlib

from console.core.config import Config


def keep(config: Config, texts: list[str]) -> None:
    """Add this start's notes to those still waiting (each once), and save."""
    new = [t for t in dict.fromkeys(t.strip() for t in texts) if t and t not in config.notices]
    if not new:
        return
    config.notices = [*config.notices, *new]
    _save(config)


def pending(config: Config) -> list[str]:
    """The notes not yet dismissed, oldest first."""
    return list(config.notices)


def dismiss(config: Config, text: str) -> None:
    """Got it: the note is not shown again."""
    if text in config.notices:
        config.notices = [t for t in config.notices if t != text]
        _save(config)


def _save(config: Config) -> None:
    with contextlib.suppress(OSError):  # a read-only settings folder: kept for this run only
        config.save()
