"""Who is at the console survives a restart.

The person chosen at session start ("writing as") authors the alarm-limit changes, the
acknowledgements typed without a name and the end of the session. After a crash or a restart
mid-session the console would otherwise write "Author None": so the choice is kept in the
workstation settings with the session it was made for, and a resumed session gets it back.
For a session started elsewhere (or with an older settings file) the author of the session's
newest authored event stands in, which is the person the record last saw at the console.
"""

from __future__ import annotations

import contextlib

from console.core.config import Config
from console.core.session import OpenSession, SessionService, Staff
from console.store import engine
from console.store.events import session_events


def keep(sessions: SessionService, config: Config, reader: engine.Connection) -> None:
    """Restore the person when a session is resumed (the offer after a restart), then keep
    remembering; restore is heard first so it reads the choice before it is overwritten."""
    sessions.changed.connect(lambda _s: restore(sessions, config, reader))
    restore(sessions, config, reader)
    remember(sessions, config)


def remember(sessions: SessionService, config: Config) -> None:
    """Save the person at the console (and their session) whenever either changes."""

    def save(_: object = None) -> None:
        user, cur = sessions.user, sessions.current
        want = ({"name": user.name, "role": user.role,
                 "session": cur.id if cur is not None else None} if user is not None else {})
        if want != config.console_user:
            config.console_user = want
            with contextlib.suppress(OSError):  # a read-only settings folder: not remembered
                config.save()

    sessions.user_changed.connect(save)
    sessions.changed.connect(save)


def restore(sessions: SessionService, config: Config, reader: engine.Connection) -> None:
    """After resuming an open session, the person who was at the console is again."""
    cur: OpenSession | None = sessions.current
    if cur is None or sessions.user is not None:
        return
    saved = config.console_user
    name = str(saved.get("name") or "").strip()
    if name and saved.get("session") == cur.id:
        sessions.set_user(Staff(name, str(saved.get("role") or "")))
        return
    authored = [e.author for e in session_events(reader, cur.id) if e.author]
    if authored:
        roles = {s.name: s.role for s in config.staff}
        last = authored[-1]
        sessions.set_user(Staff(last, roles.get(last, "")))
