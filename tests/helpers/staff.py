"""Staff for tests: a clinic admin, a therapist and a nurse with known PINs, signed in.

The ONE way tests that build the window get people at the console (the window asks for a
clinic admin on a fresh database and refuses unsigned work). Their PINs are hashed with a
cheap scrypt cost, stored with each hash as in a real clinic that changed its cost, so tests
stay quick; `PeopleService.cost` is set to match so nothing is re-hashed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from console.core.people import accounts
from console.core.people.accounts import Account, Cost
from console.core.people.roles import Role
from console.core.people.service import PeopleService

CHEAP = Cost(n=2 ** 8, r=4, p=1)


@dataclass(frozen=True)
class Person:
    name: str
    credentials: str
    roles: frozenset[Role]
    pin: str


ADMIN = Person("Cleo Admin", "", frozenset({Role.CLINIC_ADMIN}), "2468")
THERAPIST = Person("Ana Ruiz", "LMFT", frozenset({Role.THERAPIST}), "1357")
NURSE = Person("Ana Nurse", "RN", frozenset({Role.MEDICAL_MONITOR}), "8642")
PRESCRIBER = Person("Dr Lee", "MD", frozenset({Role.PRESCRIBER}), "9753")
TEAM = (ADMIN, THERAPIST, NURSE)


def add_people(people: PeopleService, *who: Person) -> list[Account]:
    """Put these people on staff (straight into the database, as the admin would)."""
    now = people.clock.now()

    def make(c: Any) -> list[Account]:  # the writer's connection (SQLCipher or sqlite3)
        return [accounts.find(c, p.name) or accounts.create(
            c, p.name, p.credentials, p.roles, p.pin, now, CHEAP) for p in who]

    return people.writer.call(make).result(10)


def staff_signed_in(people: PeopleService | None, *extra: Person,
                    guard: bool = False, keep_timing: bool = False) -> PeopleService:
    """Admin, therapist and nurse on staff and signed in (the nurse last, so she is at the
    keyboard), plus any `extra`. With `guard`, every write is checked against the role table
    from now (the window installs this itself). Call it after `start_core`, before
    `build_window`: `staff_signed_in(running.ctx.people)`."""
    assert people is not None, "start_core makes the people service"
    people.cost = CHEAP
    # Real seconds pass while a loaded machine runs a test: no test may depend on them, so
    # the idle lock and the PIN window (proved with a FakeClock in tests/test_people.py)
    # stay out of the way here.
    if not keep_timing:
        people.presence.idle_lock_s = None
        people.presence.pin_window_s = 24 * 3600
    team = (*TEAM[:2], *extra, NURSE)
    add_people(people, *team)
    for p in team:
        people.sign_in(p.name, p.pin)
    if guard:
        people.sessions.guard = people.check
    return people
