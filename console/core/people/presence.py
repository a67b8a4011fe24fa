"""Who is in the room: the session team, the person at the keyboard, and how long it was idle.

Plain data and a clock (monotonic seconds, so an NTP step or a FakeClock moving clinical time
never locks the screen or stretches a PIN window). The team is everyone who signed in at this
console since it started; the active person is the one every event is recorded under; each
member's last PIN confirmation opens a short window in which signing needs no PIN again.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from console.core.observers import Observers
from console.core.people.accounts import Account


@dataclass
class Presence:
    monotonic: Callable[[], float]
    pin_window_s: float = 120.0
    idle_lock_s: float | None = 300.0  # None: never locks by itself
    team: list[Account] = field(default_factory=list)
    active: Account | None = None
    locked: bool = False
    _confirmed: dict[int, float] = field(default_factory=dict)
    _last_activity: float = field(default=0.0)
    changed: Observers[Presence] = field(default_factory=Observers)

    def __post_init__(self) -> None:
        self._last_activity = self.monotonic()

    # ----- the team -----
    def member(self, name: str | None) -> Account | None:
        """The team member called `name` (any case), or None."""
        if not name:
            return None
        key = name.strip().casefold()
        return next((a for a in self.team if a.name.casefold() == key), None)

    def join(self, account: Account) -> None:
        """`account` proved it with a PIN: in the team (once), at the keyboard, confirmed now."""
        self.team = [a for a in self.team if a.id != account.id] + [account]
        self.active = account
        self.confirm(account.id)
        self.locked = False
        self.touch()
        self.changed.emit(self)

    def add(self, account: Account) -> None:
        """A second person proved it with a PIN (e.g. to confirm a dose beyond the ceiling):
        on the team and confirmed, but the active person stays who it was."""
        if self.member(account.name) is None:
            self.team = [*self.team, account]
        self.confirm(account.id)
        self.changed.emit(self)

    def leave(self, account_id: int) -> None:
        self.team = [a for a in self.team if a.id != account_id]
        self._confirmed.pop(account_id, None)
        if self.active is not None and self.active.id == account_id:
            self.active = self.team[-1] if self.team else None
        self.changed.emit(self)

    def refresh(self, account: Account) -> None:
        """An account changed (roles, disabled): the team holds the new row, or drops it."""
        if not account.active:
            self.leave(account.id)
            return
        self.team = [account if a.id == account.id else a for a in self.team]
        if self.active is not None and self.active.id == account.id:
            self.active = account
        self.changed.emit(self)

    # ----- the PIN window -----
    def confirm(self, account_id: int) -> None:
        self._confirmed[account_id] = self.monotonic()

    def pin_fresh(self, account_id: int) -> bool:
        """Confirmed with a PIN within the clinic's window (and the screen not locked since)."""
        at = self._confirmed.get(account_id)
        return at is not None and self.monotonic() - at <= self.pin_window_s

    # ----- idle and the lock -----
    def touch(self) -> None:
        """Someone used the keyboard, the mouse or the touch screen."""
        self._last_activity = self.monotonic()

    def idle_for(self) -> float:
        return self.monotonic() - self._last_activity

    def lock_due(self) -> bool:
        return (not self.locked and self.idle_lock_s is not None
                and self.idle_for() >= self.idle_lock_s)

    def lock(self) -> None:
        """Locked: nobody's PIN window survives (the next signature asks again)."""
        self.locked = True
        self._confirmed.clear()
        self.changed.emit(self)

    def unlock(self, account: Account) -> None:
        self.join(account)
