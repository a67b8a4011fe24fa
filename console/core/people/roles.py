"""Who may do what: the one table of permissions by role.

Every rule the console enforces is a row of PERMISSIONS and nowhere else: the UI asks `may`
before it offers an action, the core asks `check` before it writes, and a refusal says in
nurse words who may do it instead (and names the people on duty who could).

Actions that carry a signature (SIGNED) also need the PIN of the person they are recorded
under, unless that person confirmed it within the clinic's PIN window (presence.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from enum import StrEnum

# The author of what the monitors record with nobody at a keyboard (`holdspace record`): said
# plainly, never a made-up person; no member of staff can take this name.
DEVICE_AUTHOR = "device/workstation"


class Role(StrEnum):
    THERAPIST = "therapist"
    MEDICAL_MONITOR = "medical_monitor"  # the nurse in the room
    PRESCRIBER = "prescriber"  # physician or nurse practitioner
    CLINIC_ADMIN = "clinic_admin"

    @property
    def label(self) -> str:
        return ROLE_LABELS[self]


ROLE_LABELS: dict[Role, str] = {
    Role.THERAPIST: "therapist",
    Role.MEDICAL_MONITOR: "medical monitor (nurse)",
    Role.PRESCRIBER: "prescriber (physician / NP)",
    Role.CLINIC_ADMIN: "clinic admin",
}
# The short word used in a sentence ("ask a prescriber"), with its article.
_ROLE_NOUN: dict[Role, str] = {
    Role.THERAPIST: "a therapist",
    Role.MEDICAL_MONITOR: "a medical monitor",
    Role.PRESCRIBER: "a prescriber",
    Role.CLINIC_ADMIN: "a clinic admin",
}


class Permission(StrEnum):
    START_SESSION = "start_session"
    GIVE_DOSE = "give_dose"
    OVERRIDE_GATE = "override_gate"
    CONFIRM_BEYOND_CEILING = "confirm_beyond_ceiling"  # the second person
    CHANGE_ALARM_LIMITS = "change_alarm_limits"
    ACKNOWLEDGE_ALARMS = "acknowledge_alarms"
    WRITE_NOTES = "write_notes"
    SIGN = "sign"
    DISCHARGE = "discharge"  # releasing the patient at the end of a dosing session
    AMEND = "amend"
    EXPORT = "export"
    MANAGE_STAFF = "manage_staff"
    VIEW_AUDIT = "view_audit"


T, M, P, A = Role.THERAPIST, Role.MEDICAL_MONITOR, Role.PRESCRIBER, Role.CLINIC_ADMIN

# THE table. (what it is called in a refusal, who may)
PERMISSIONS: dict[Permission, tuple[str, frozenset[Role]]] = {
    Permission.START_SESSION: ("Starting a session", frozenset({T, M, P})),
    Permission.GIVE_DOSE: ("Giving a dose", frozenset({P, M})),
    Permission.OVERRIDE_GATE: ("Overriding the safety gate", frozenset({P, M})),
    Permission.CONFIRM_BEYOND_CEILING: ("Confirming a dose beyond the ceiling",
                                        frozenset({P, M})),
    Permission.CHANGE_ALARM_LIMITS: ("Changing alarm limits", frozenset({P, M})),
    # Anyone in the room silences an alarm: the sound must never wait for the right role.
    Permission.ACKNOWLEDGE_ALARMS: ("Acknowledging an alarm", frozenset({T, M, P, A})),
    Permission.WRITE_NOTES: ("Writing in the note", frozenset({T, M, P})),
    Permission.SIGN: ("Signing a session", frozenset({T, M, P})),
    # A clinical release (criteria met, escort): the nurse who monitored or the prescriber.
    Permission.DISCHARGE: ("Signing the discharge", frozenset({P, M})),
    Permission.AMEND: ("Amending a signed session", frozenset({T, M, P})),
    Permission.EXPORT: ("Exporting patient data", frozenset({T, M, P, A})),
    Permission.MANAGE_STAFF: ("Managing staff", frozenset({A})),
    Permission.VIEW_AUDIT: ("Seeing the audit log", frozenset({A})),
}

# These carry a signature: recorded under a person who proved it with a PIN.
SIGNED: frozenset[Permission] = frozenset({
    Permission.GIVE_DOSE, Permission.OVERRIDE_GATE, Permission.CONFIRM_BEYOND_CEILING,
    Permission.SIGN, Permission.DISCHARGE, Permission.AMEND, Permission.EXPORT,
})

# The event kinds each permission covers, so the core can check any write by its kind: an
# exact kind, or a family ending in "." (every kind that starts with it).
KIND_PERMISSIONS: dict[str, Permission] = {
    "session.started": Permission.START_SESSION,
    "dose.given": Permission.GIVE_DOSE,
    "dose.entered_in_error": Permission.GIVE_DOSE,
    "gate.override": Permission.OVERRIDE_GATE,
    "limits.changed": Permission.CHANGE_ALARM_LIMITS,
    "alarm.acknowledged": Permission.ACKNOWLEDGE_ALARMS,
    "sign.signed": Permission.SIGN,
    "session.discharge": Permission.DISCHARGE,
    "sign.addendum": Permission.AMEND,
    "note.": Permission.WRITE_NOTES,
    "score.": Permission.WRITE_NOTES,
    "ae.": Permission.WRITE_NOTES,
    "outcome.": Permission.WRITE_NOTES,
    "export.": Permission.EXPORT,
}


def permission_for_kind(kind: str) -> Permission | None:
    """The permission an event of this kind needs (None: no person's permission, e.g. an
    alarm raised by the console itself from the readings)."""
    if kind in KIND_PERMISSIONS:
        return KIND_PERMISSIONS[kind]
    family = kind.split(".", 1)[0] + "."
    return KIND_PERMISSIONS.get(family)


def parse_roles(text: str | Iterable[str]) -> frozenset[Role]:
    """Role keys from the database (comma-separated) or a list; unknown keys are dropped."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    known = {r.value: r for r in Role}
    return frozenset(known[p.strip()] for p in parts if p.strip() in known)


def roles_text(roles: Iterable[Role]) -> str:
    return ",".join(sorted(r.value for r in roles))


def roles_label(roles: Iterable[Role]) -> str:
    """"medical monitor (nurse), clinic admin" — in the table's order."""
    have = set(roles)
    return ", ".join(r.label for r in Role if r in have)


def may(roles: Iterable[Role], perm: Permission) -> bool:
    return bool(set(roles) & PERMISSIONS[perm][1])


_SAY_ORDER = (Role.PRESCRIBER, Role.MEDICAL_MONITOR, Role.THERAPIST, Role.CLINIC_ADMIN)


def who_may(perm: Permission) -> str:
    """"a prescriber or medical monitor" (the most senior clinical role first)."""
    allowed = [r for r in _SAY_ORDER if r in PERMISSIONS[perm][1]]
    nouns = [_ROLE_NOUN[r] for r in allowed]
    if len(nouns) == 1:
        return nouns[0]
    # "a prescriber or medical monitor": one article for the list reads as a person would say
    rest = [n.split(" ", 1)[1] for n in nouns[1:]]
    return ", ".join([nouns[0], *rest[:-1]]) + f" or {rest[-1]}"


def refusal(perm: Permission, name: str | None, roles: Iterable[Role],
            could: Sequence[str] = ()) -> str:
    """Why `name` may not do it, who may, and (when known) whom to ask by name."""
    what, _ = PERMISSIONS[perm]
    who = name
    have = roles_label(roles)
    sentence = f"{what} needs {who_may(perm)}"
    if name:
        sentence += f" ({who} is signed in as {have or 'no role'})"
    if could:
        names = list(could)
        ask = names[0] if len(names) == 1 else ", ".join(names[:-1]) + f" or {names[-1]}"
        sentence += f" — ask {ask} to sign in (Ctrl+U)."
    else:
        sentence += " — ask one to sign in (Ctrl+U)."
    return sentence
