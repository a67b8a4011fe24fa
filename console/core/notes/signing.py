"""Sign-off and the lock it puts on a session.

A session is signed once, after it has ended, by a named clinician with a role. From then on
the record refuses every change with a message that says what to do instead (an addendum),
and each addendum carries its own signer. A session with a required form (an esketamine
session's REMS Patient Monitoring Form) is signed only once that form is complete.
"""

from __future__ import annotations

from collections.abc import Sequence

from console.core.notes.scales import NoteError, clock_text
from console.core.session import SignCheck
from console.core.session_record import SessionRecord
from console.store import engine


def locked_message(rec: SessionRecord) -> str:
    sig = rec.signature
    assert sig is not None
    return (
        f"This session was signed by {sig.name} ({sig.role}) at {clock_text(sig.t)} and is "
        "locked. Nothing can be changed now; add a signed addendum instead. "
        "What you typed is still in the box."
    )


def ensure_unlocked(rec: SessionRecord) -> None:
    if rec.locked:
        raise NoteError(locked_message(rec))


def check_signer(name: str, role: str) -> tuple[str, str]:
    n, r = name.strip(), role.strip()
    if not n:
        raise NoteError("Type the name of the clinician who signs.")
    if not r:
        raise NoteError(f"Give {n}'s role (for example physician, nurse, therapist).")
    return n, r


def check_can_sign(rec: SessionRecord, ended: bool) -> None:
    if rec.locked:
        raise NoteError(locked_message(rec).replace(" What you typed is still in the box.", ""))
    if not ended:
        raise NoteError("End the session first; a session is signed once the patient has left.")


def check_forms(conn: engine.Connection, session_id: int, rec: SessionRecord,
                checks: Sequence[SignCheck] = ()) -> None:
    """Forms the features require complete before signing (the dosing feature registers the
    esketamine REMS Patient Monitoring Form: SessionService.add_sign_check); the message
    names every missing field."""
    for check in checks:
        why = check(conn, session_id, rec.events)
        if why:
            raise NoteError(why)


def check_addendum(rec: SessionRecord, text: str) -> str:
    if not rec.locked:
        raise NoteError("The session is not signed yet: write in the note itself. Addenda are "
                        "for after signing.")
    t = text.strip()
    if not t:
        raise NoteError("The addendum is empty. Type what you want to add.")
    return t
