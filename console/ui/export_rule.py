"""Who may take patient data out of the room (exports, reports, prints): one rule for all."""

from __future__ import annotations

from collections.abc import Callable

from console.core.context import AppContext
from console.core.people.roles import Permission
from console.core.people.service import Refused


def may_export(ctx: AppContext, say: Callable[[str], None]) -> bool:
    """Patient data leaves only under a person who may export and proved it with a PIN
    (asked for now if needed: then export again)."""
    if ctx.people is None:
        return True
    try:
        ctx.people.require(Permission.EXPORT)
    except Refused as e:
        say(str(e))
        return False
    return True
