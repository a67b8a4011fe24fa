"""The people at this console, as the rest of Holdspace sees them (no Qt).

`PeopleService` joins the staff accounts (in the database), the room's presence and the
clinic's security settings. It signs people in and switches the active person (always with
a PIN), locks and unlocks the screen, checks every write against the role table (`check`, the
guard SessionService and NoteBook call before recording), and writes the audit events:

    audit.signed_in, audit.switched, audit.signed_out, audit.pin_refused, audit.locked_out,
    audit.screen_locked, audit.screen_unlocked, audit.staff_added, audit.staff_changed,
    audit.pin_reset

Audit events belong to no session (they are not part of a patient's note) and are written in
the same transaction as the account change they describe. The admin's audit view lists every
`audit.*` and `export.*` event (others add theirs under those names).

The active person is handed to `SessionService.set_user`, so every event's author comes from
here, never from a box someone typed a name into.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from console.core.clock import Clock
from console.core.observers import Observers
from console.core.people import accounts
from console.core.people.accounts import Account, AccountError, Cost, Policy
from console.core.people.presence import Presence
from console.core.people.roles import (
    DEVICE_AUTHOR,
    SIGNED,
    Permission,
    Role,
    may,
    permission_for_kind,
    refusal,
    roles_label,
)
from console.core.session import SessionService, Staff
from console.core.settings import SecuritySettings
from console.store.events import Event, insert_events
from console.store.writer import StoreWriter

AUDIT_PREFIXES = ("audit.", "export.")
__all__ = ["AUDIT_PREFIXES", "DEVICE_AUTHOR", "NeedPin", "PeopleService", "Refused", "Security"]


class Refused(ValueError):
    """An action this person may not do (or nobody is signed in), said with who may.

    Features turn it into their own input error at their edge (the notes' NoteError, the dose
    day's DoseInputError), so every panel's message line shows it and keeps what was typed;
    the kernel imports no feature."""


class NeedPin(Refused):
    """A signing action whose person has not confirmed with a PIN within the window."""

    def __init__(self, message: str, account: Account, permission: Permission) -> None:
        super().__init__(message)
        self.account = account
        self.permission = permission


@dataclass(frozen=True)
class Security:
    """The clinic's settings (`extra.security` in the workstation file)."""

    idle_lock_minutes: float = 5.0  # 0: no idle lock (the key still locks)
    pin_window_seconds: float = 120.0
    lockout_attempts: int = 5
    lockout_minutes: float = 15.0

    @classmethod
    def from_settings(cls, s: SecuritySettings) -> Security:
        """From the declared `extra.security` section (console/core/settings.py); a value
        out of range keeps the default."""
        d = cls()
        return cls(s.idle_lock_minutes if s.idle_lock_minutes >= 0 else d.idle_lock_minutes,
                   s.pin_window_seconds if s.pin_window_seconds >= 0 else d.pin_window_seconds,
                   s.lockout_attempts if s.lockout_attempts >= 1 else d.lockout_attempts,
                   s.lockout_minutes if s.lockout_minutes >= 0 else d.lockout_minutes)

    @property
    def policy(self) -> Policy:
        return Policy(self.lockout_attempts, self.lockout_minutes)


class PeopleService:
    def __init__(self, clock: Clock, writer: StoreWriter, reader: sqlite3.Connection,
                 sessions: SessionService, security: Security | None = None,
                 cost: Cost | None = None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        """`monotonic` times idleness and the PIN window: real seconds at the console, never
        the clinical clock (which a test or a resumed session may move)."""
        security = security or Security()
        self.clock = clock
        self.writer = writer
        self.reader = reader
        self.sessions = sessions
        self.security = security
        self.cost = cost or Cost()
        self.presence = Presence(monotonic, security.pin_window_seconds,
                                 security.idle_lock_minutes * 60 or None)
        self.presence.changed.connect(lambda _p: self._hand_over())
        # A signing action found no fresh PIN: the UI asks for it (the person, what for).
        self.pin_wanted: Observers[NeedPin] = Observers()
        self.staff_changed: Observers[list[Account]] = Observers()
        # (name, PIN) typed on the locked screen, if any: who silences an alarm there (the
        # lock sets it; the alarm banner asks it)
        self.lock_identity: Callable[[], tuple[str, str]] = lambda: ("", "")

    # ------------------------------------------------------------------ queries
    def accounts(self) -> list[Account]:
        return accounts.all_accounts(self.reader)

    def needs_first_admin(self) -> bool:
        return not accounts.has_admin(self.reader)

    @property
    def active(self) -> Account | None:
        return self.presence.active

    @property
    def team(self) -> list[Account]:
        return list(self.presence.team)

    def may(self, perm: Permission, who: Account | None = None) -> bool:
        a = who or self.active
        return a is not None and may(a.roles, perm)

    def who_could(self, perm: Permission) -> list[str]:
        """Active staff who hold a role that may: named in a refusal (team members first)."""
        staff = [a for a in self.accounts() if a.active and may(a.roles, perm)]
        on_team = {a.id for a in self.presence.team}
        return [a.label for a in sorted(staff, key=lambda a: a.id not in on_team)][:3]

    # ------------------------------------------------------------------ the guard
    def require(self, perm: Permission, name: str | None = None) -> Account:
        """The person (named, or the active one) if they may do `perm` now: on the team, in a
        role that may, and — for a signing action — PIN-confirmed within the window.
        Raises Refused (who may instead) or NeedPin (and tells `pin_wanted`)."""
        if self.presence.locked:
            raise Refused("The screen is locked. Choose your name and type your PIN to "
                          "unlock it first.")
        person = self.presence.member(name) if name else self.active
        if person is None:
            if name:
                known = accounts.find(self.reader, name)
                if known is None or not known.active:
                    raise Refused(f"{name} is not on the staff list, so cannot be named in "
                                  "the record. " + refusal(perm, None, (),
                                                            self.who_could(perm)))
                if perm in SIGNED and may(known.roles, perm):
                    # a named signer or second person who is not signed in: their PIN will do
                    need = NeedPin(f"{known.name}: type your PIN to confirm, then do it "
                                   "again (what you typed is kept).", known, perm)
                    self.pin_wanted.emit(need)
                    raise need
                if not may(known.roles, perm):
                    raise Refused(refusal(perm, known.name, known.roles, self.who_could(perm)))
                raise Refused(f"{known.name} is not signed in at this console. "
                              f"{known.name} can sign in with Ctrl+U and a PIN.")
            raise Refused(refusal(perm, None, (), self.who_could(perm)))
        if not may(person.roles, perm):
            raise Refused(refusal(perm, person.name, person.roles, self.who_could(perm)))
        if perm in SIGNED and not self.presence.pin_fresh(person.id):
            need = NeedPin(f"{person.name}: type your PIN to confirm, then do it again "
                           "(what you typed is kept).", person, perm)
            self.pin_wanted.emit(need)
            raise need
        return person

    def check(self, kind: str, author: str | None, payload: Mapping[str, Any]) -> None:
        """The guard every clinical write passes (SessionService.record, NoteBook): an event
        whose kind needs a permission is refused unless its author may."""
        perm = permission_for_kind(kind)
        if perm is None:
            return
        if perm is Permission.ACKNOWLEDGE_ALARMS and payload.get("at_locked_screen"):
            if not author:
                return  # silenced at the locked screen by someone who gave no PIN: said so
            person = self.presence.member(author)  # gave a PIN there (locked_ack_author)
            if person is not None and may(person.roles, perm):
                return
            raise Refused(f"{author} did not give a PIN at the locked screen. Leave the name "
                          "out to silence the alarm without it.")
        self.require(perm, author)
        if kind != "dose.given":
            return
        # Everyone a dose names vouches for it: whoever gave it (when it was not the person
        # recording it) and the second person beyond the ceiling, each on the team, in a role
        # that may, with their PIN.
        given = payload.get("given_by")
        if isinstance(given, str) and given.strip() and (
                author is None or given.strip().casefold() != author.strip().casefold()):
            self.require(Permission.GIVE_DOSE, given.strip())
        second = payload.get("second_person")
        if isinstance(second, str) and second:
            self.require(Permission.CONFIRM_BEYOND_CEILING, second)

    def confirm_pin(self, name: str, pin: str) -> Account:
        """A team member (or anyone on staff) proves it's them: their PIN window opens.
        Raises Refused with the reason when the PIN is wrong or the account locked."""
        a = self._verify(name, pin, "confirm")
        if self.active is None:
            self.presence.join(a)
        else:
            self.presence.add(a)
        return a

    # ------------------------------------------------------------------ signing in
    def create_first_admin(self, name: str, credentials: str, pin: str, again: str,
                           roles: Iterable[Role] = ()) -> Account:
        """The first run: the clinic admin (who may also hold a clinical role)."""
        _new_pin(pin, again)
        now = self.clock.now()

        def make(c: sqlite3.Connection) -> Account:
            if accounts.has_admin(c):
                raise AccountError("This clinic already has an admin: sign in instead.")
            a = accounts.create(c, name, credentials, {Role.CLINIC_ADMIN, *roles}, pin, now,
                                self.cost)
            insert_events(c, [self._audit("audit.staff_added", a.name, now, {
                "name": a.name, "credentials": a.credentials, "roles": sorted(r.value for r in
                                                                              a.roles),
                "first_admin": True,
                "summary": f"First clinic admin set up: {a.label} ({a.roles_label})"}),
                self._audit("audit.signed_in", a.name, now, {
                    "summary": f"{a.label} signed in ({a.roles_label})"})])
            return a

        a = self._call(make)
        self.presence.join(a)
        return a

    def sign_in(self, name: str, pin: str) -> Account:
        """Sign in, or switch to someone already signed in: always with their PIN. The person
        becomes the active one; everything from now is recorded under them."""
        before = self.active
        a = self._verify(name, pin, "sign_in")
        on_team = self.presence.member(a.name) is not None
        self.presence.join(a)
        kind = "audit.switched" if on_team else "audit.signed_in"
        text = (f"Switched to {a.label}" + (f" (from {before.name})" if before else "")
                if on_team else f"{a.label} signed in ({a.roles_label})")
        self._write(self._audit(kind, a.name, self.clock.now(), {"summary": text}))
        return a

    def sign_out(self, account_id: int) -> None:
        a = next((m for m in self.presence.team if m.id == account_id), None)
        if a is None:
            return
        self.presence.leave(account_id)
        self._write(self._audit("audit.signed_out", a.name, self.clock.now(), {
            "summary": f"{a.label} signed out"}))

    # ------------------------------------------------------------------ the lock
    def lock(self, why: str) -> None:
        """Hide names, notes and the record (vitals and alarms stay): `why` is "idle" or
        "key"."""
        if self.presence.locked:
            return
        who = self.active
        self.presence.lock()
        words = "after no one used it" if why == "idle" else "with the lock key"
        self._write(self._audit("audit.screen_locked", who.name if who else None,
                                self.clock.now(), {"why": why,
                                                   "summary": f"Screen locked {words}"}))

    def unlock(self, name: str, pin: str) -> Account:
        a = self._verify(name, pin, "unlock")
        self.presence.unlock(a)
        self._write(self._audit("audit.screen_unlocked", a.name, self.clock.now(), {
            "summary": f"Screen unlocked by {a.label}"}))
        return a

    def locked_ack_author(self, name: str, pin: str) -> str | None:
        """Who acknowledges an alarm at the locked screen: None without a PIN (recorded as
        acknowledged at the locked screen by someone who did not say), the person when their
        PIN is right; a wrong PIN is refused, so the record never names the wrong person."""
        if not name.strip() and not pin:
            return None
        a = self._verify(name, pin, "alarm acknowledgement")
        self.presence.add(a)  # on the team (so the record may name them), not at the keyboard
        return a.name

    # ------------------------------------------------------------------ managing staff
    def add_staff(self, name: str, credentials: str, roles: Iterable[Role], pin: str,
                  again: str) -> Account:
        admin = self.require(Permission.MANAGE_STAFF)
        _new_pin(pin, again)
        now, rs = self.clock.now(), frozenset(roles)

        def add(c: sqlite3.Connection) -> Account:
            a = accounts.create(c, name, credentials, rs, pin, now, self.cost)
            insert_events(c, [self._audit("audit.staff_added", admin.name, now, {
                "name": a.name, "credentials": a.credentials,
                "roles": sorted(r.value for r in a.roles),
                "summary": f"{admin.name} added {a.label} ({a.roles_label})"})])
            return a

        a = self._call(add)
        self.staff_changed.emit(self.accounts())
        return a

    def change_staff(self, account_id: int, *, credentials: str | None = None,
                     roles: Iterable[Role] | None = None, active: bool | None = None) -> Account:
        admin = self.require(Permission.MANAGE_STAFF)
        now = self.clock.now()
        new_roles = None if roles is None else frozenset(roles)

        def change(c: sqlite3.Connection) -> Account:
            old = accounts.by_id(c, account_id)
            a = accounts.update(c, account_id, now, credentials=credentials, roles=new_roles,
                                active=active)
            what = []
            if old is not None and old.roles != a.roles:
                what.append(f"roles {roles_label(old.roles)} → {a.roles_label}")
            if old is not None and old.active != a.active:
                what.append("switched on" if a.active else "switched off (cannot sign in)")
            if old is not None and old.credentials != a.credentials:
                what.append(f"credentials {old.credentials or '—'} → {a.credentials or '—'}")
            insert_events(c, [self._audit("audit.staff_changed", admin.name, now, {
                "name": a.name, "roles": sorted(r.value for r in a.roles), "active": a.active,
                "summary": f"{admin.name} changed {a.name}: " + ("; ".join(what) or
                                                                  "nothing")})])
            return a

        a = self._call(change)
        if self.presence.member(a.name) is not None:
            self.presence.refresh(a)
        self.staff_changed.emit(self.accounts())
        return a

    def reset_pin(self, account_id: int, pin: str, again: str) -> None:
        admin = self.require(Permission.MANAGE_STAFF)
        _new_pin(pin, again)
        now = self.clock.now()

        def reset(c: sqlite3.Connection) -> None:
            a = accounts.by_id(c, account_id)
            if a is None:
                raise AccountError("That person is no longer on staff.")
            accounts.set_pin(c, account_id, pin, now, self.cost)
            insert_events(c, [self._audit("audit.pin_reset", admin.name, now, {
                "name": a.name, "summary": f"{admin.name} set a new PIN for {a.name}"})])

        self._call(reset)
        self.staff_changed.emit(self.accounts())

    # ------------------------------------------------------------------ the audit log
    def audit_events(self, limit: int = 500) -> list[Event]:
        """Newest first: every `audit.*` and `export.*` event, whoever wrote it."""
        return audit_events(self.reader, limit)

    # ------------------------------------------------------------------ inside
    def _verify(self, name: str, pin: str, what: str) -> Account:
        now, policy, cost = self.clock.now(), self.security.policy, self.cost
        session_id = None

        def check(c: sqlite3.Connection) -> accounts.PinCheck:
            res = accounts.verify(c, name, pin, now, policy, cost)
            if not res.ok and res.account is not None and res.account.active:
                who = res.account.name
                why = "while locked out" if res.already_locked else "wrong PIN"
                evs = [self._audit("audit.pin_refused", None, now, {
                    "name": who, "for": what, "why": why,
                    "summary": (f"Refused {who} ({what}): still locked out"
                                if res.already_locked else f"Wrong PIN for {who} ({what})")},
                    session_id)]
                if res.locked_out_now:
                    evs.append(self._audit("audit.locked_out", None, now, {
                        "name": who, "minutes": policy.minutes, "attempts": policy.attempts,
                        "summary": f"{who} locked out for {policy.minutes:g} min after "
                                   f"{policy.attempts} wrong PINs"}, session_id))
                insert_events(c, evs)
            return res

        res = self._call(check)
        if not res.ok or res.account is None:
            raise Refused(res.message)
        return res.account

    def _hand_over(self) -> None:
        """The active person is who the record names (SessionService.user)."""
        a = self.presence.active
        user = Staff(a.name, a.roles_label) if a is not None else None
        if user != self.sessions.user:
            self.sessions.set_user(user)

    def _audit(self, kind: str, author: str | None, now: float, payload: dict[str, Any],
               session_id: int | None = None) -> Event:
        return Event(kind, now, payload, session_id=session_id, author=author, recorded=now)

    def _write(self, ev: Event) -> None:
        self._call(lambda c: insert_events(c, [ev]))

    def _call(self, fn: Any) -> Any:
        try:
            return self.writer.call(fn).result(15)
        except AccountError as e:
            raise Refused(str(e)) from None


def _new_pin(pin: str, again: str) -> None:
    try:
        accounts.check_new_pin(pin, again)
    except AccountError as e:
        raise Refused(str(e)) from None


def audit_events(conn: sqlite3.Connection, limit: int = 500) -> list[Event]:
    """Every `audit.*` and `export.*` event, newest first (for the admin's view)."""
    from console.store.events import _COLS, _from_row

    rows = conn.execute(
        f"SELECT {_COLS} FROM events WHERE kind LIKE 'audit.%' OR kind LIKE 'export.%' "
        "ORDER BY recorded DESC, id DESC LIMIT ?", (limit,)).fetchall()
    return [_from_row(r) for r in rows]
