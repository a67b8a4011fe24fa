"""The server's address as a person gives it, and as it may be shown or logged.

A PostgreSQL URL may carry the room's password (`postgresql://room:secret@host/db`); it is
never printed, logged or stored with it: `shown` replaces it with `***`.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit, urlunsplit

ROOM_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,39}$")


class AddressError(ValueError):
    """A server address or room name that cannot be used, in words."""


def check_url(url: str) -> str:
    """The URL if it looks like a PostgreSQL address; else AddressError saying what is wrong."""
    u = url.strip()
    if not u:
        raise AddressError("the central server's address is empty — give it as "
                           "postgresql://USER@HOST/DATABASE")
    scheme = u.split("://", 1)[0].lower() if "://" in u else ""
    if scheme not in ("postgresql", "postgres"):
        raise AddressError(f"the central server's address {shown(u)!r} should start with "
                           "postgresql:// (e.g. postgresql://holdspace_room_1@central/holdspace)")
    return u


def check_room(name: str) -> str:
    """A room name: 1-40 letters, digits, spaces, dots, dashes or underscores."""
    n = name.strip()
    if not ROOM_NAME.match(n):
        raise AddressError(f"the room name {name!r} cannot be used — give 1 to 40 letters, digits, "
                           "spaces, dots, dashes or underscores, starting with a letter or digit "
                           "(e.g. \"Room 2\")")
    return n


def shown(url: str) -> str:
    """The URL without its password, for messages, logs and the status file."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(an address that cannot be read)"
    out = url
    if parts.password is not None:
        user = parts.username or ""
        host = parts.hostname or ""
        if ":" in host:  # IPv6
            host = f"[{host}]"
        if parts.port:
            host = f"{host}:{parts.port}"
        out = urlunsplit((parts.scheme, f"{user}:***@{host}", parts.path, parts.query,
                          parts.fragment))
    # a password given as a query parameter (…?password=x) is hidden too
    return re.sub(r"(?i)(password=)[^&]*", r"\1***", out)


def login_for(room: str) -> str:
    """The server login of a room: `holdspace_room_` and the name in lower case, every other
    character an underscore (PostgreSQL role names are case-folded and limited to 63 bytes)."""
    slug = re.sub(r"[^a-z0-9]", "_", room.strip().lower())
    return f"holdspace_room_{slug}"[:63]
