"""Staff accounts, roles, PINs and presence, through the real core and a real database file."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from console.core.clock import FakeClock
from console.core.dosing.dose_day import DoseDay
from console.core.dosing.dosing import DoseInputError
from console.core.dosing.templates import load_catalog
from console.core.notes.notes import NoteBook
from console.core.notes.scales import NoteError
from console.core.people import accounts
from console.core.people.accounts import Cost
from console.core.people.roles import DEVICE_AUTHOR, PERMISSIONS, SIGNED, Permission, Role, may
from console.core.people.service import NeedPin, PeopleService, Refused, Security, audit_events
from console.core.session import SessionService, Staff
from console.store import records
from console.store.db import open_reader
from console.store.events import Event, insert_events, session_events
from console.store.writer import StoreWriter
from devices import mdc
from devices.reading import Quality, Reading
from tests.helpers.staff import (
    ADMIN,
    CHEAP,
    NURSE,
    PRESCRIBER,
    THERAPIST,
    Person,
    add_people,
    staff_signed_in,
)


@dataclass
class Room:
    clock: FakeClock  # moves the PIN window and idle time too
    writer: StoreWriter
    reader: sqlite3.Connection
    sessions: SessionService
    people: PeopleService


@pytest.fixture
def room(db_path: Path) -> Iterator[Room]:
    clock = FakeClock()
    writer = StoreWriter(str(db_path), flush_interval=0.05)
    writer.start()
    reader = open_reader(db_path)
    sessions = SessionService(clock, writer, reader)
    people = PeopleService(clock, writer, reader, sessions,
                           Security(idle_lock_minutes=5, pin_window_seconds=120,
                                    lockout_attempts=3, lockout_minutes=10), cost=CHEAP,
                           monotonic=clock.monotonic)
    sessions.guard = people.check
    try:
        yield Room(clock, writer, reader, sessions, people)
    finally:
        writer.stop()
        sessions.close()
        reader.close()


def kinds(room: Room) -> list[str]:
    room.writer.flush()
    return [e.kind for e in reversed(audit_events(room.reader))]


# ------------------------------------------------------------------ PINs
def test_pin_hash_is_scrypt_salted_with_its_cost_and_checks() -> None:
    a, b = accounts.hash_pin("2468", CHEAP), accounts.hash_pin("2468", CHEAP)
    assert a != b  # a random salt per hash
    assert a.startswith("scrypt$256$4$1$") and "2468" not in a
    assert accounts.pin_matches("2468", a) and not accounts.pin_matches("2469", a)
    assert accounts.cost_of(accounts.hash_pin("1357")) == Cost()  # the shipped cost


@pytest.mark.parametrize("pin,again,why", [
    ("12", None, "at least 4"), ("1111", None, "repeated"), ("2468", "2469", "not the same"),
    (" 2468", None, "space")])
def test_a_weak_or_mistyped_new_pin_is_refused_in_words(pin: str, again: str | None,
                                                          why: str) -> None:
    with pytest.raises(accounts.AccountError, match=why):
        accounts.check_new_pin(pin, again)


def test_the_stored_file_holds_no_pin(room: Room, db_path: Path) -> None:
    add_people(room.people, NURSE)
    room.writer.flush()
    raw = b"".join(p.read_bytes() for p in db_path.parent.glob("holdspace.db*") if p.is_file())
    assert b"8642" not in raw  # (the file may be encrypted: then no name shows either)
    stored = room.reader.execute("SELECT pin_hash FROM staff_accounts").fetchone()[0]
    assert "8642" not in stored and stored.startswith("scrypt$")


def test_a_changed_cost_still_accepts_old_pins_and_rehashes(room: Room) -> None:
    add_people(room.people, NURSE)  # hashed at the cheap cost
    room.people.cost = Cost(n=2 ** 9, r=4, p=1)
    room.people.sign_in(NURSE.name, NURSE.pin)
    stored = room.reader.execute("SELECT pin_hash FROM staff_accounts").fetchone()[0]
    assert accounts.cost_of(stored) == Cost(n=2 ** 9, r=4, p=1)
    room.people.sign_in(NURSE.name, NURSE.pin)


# ------------------------------------------------------------------ first run
def test_first_run_asks_for_a_clinic_admin_and_signs_them_in(room: Room) -> None:
    assert room.people.needs_first_admin()
    with pytest.raises(Refused, match="not the same"):
        room.people.create_first_admin("Cleo Admin", "", "2468", "2486")
    a = room.people.create_first_admin("Cleo Admin", "", "2468", "2468")
    assert not room.people.needs_first_admin()
    assert Role.CLINIC_ADMIN in a.roles and room.people.active == a
    assert room.sessions.author == "Cleo Admin"
    with pytest.raises(Refused, match="already has an admin"):
        room.people.create_first_admin("Eve", "", "1357", "1357")
    assert kinds(room) == ["audit.staff_added", "audit.signed_in"]


# ------------------------------------------------------------------ the role table
ROLE_PEOPLE = {
    Role.THERAPIST: THERAPIST, Role.MEDICAL_MONITOR: NURSE, Role.PRESCRIBER: PRESCRIBER,
    Role.CLINIC_ADMIN: ADMIN,
}
RULES = [(perm, role) for perm in Permission for role in Role]


@pytest.mark.parametrize("perm,role", RULES, ids=[f"{p.value}-{r.value}" for p, r in RULES])
def test_each_permission_rule_allows_and_refuses_by_role(room: Room, perm: Permission,
                                                         role: Role) -> None:
    person = ROLE_PEOPLE[role]
    add_people(room.people, *ROLE_PEOPLE.values())
    room.people.sign_in(person.name, person.pin)
    allowed = role in PERMISSIONS[perm][1]
    assert may({role}, perm) is allowed
    if allowed:
        assert room.people.require(perm).name == person.name
        return
    with pytest.raises(Refused) as e:
        room.people.require(perm)
    text = str(e.value)
    assert text.startswith(PERMISSIONS[perm][0])  # what was refused …
    # … and who may: a person on staff in an allowed role is named
    may_do = [p for r, p in ROLE_PEOPLE.items() if r in PERMISSIONS[perm][1]]
    assert any(p.name in text for p in may_do), text
    assert "sign in (Ctrl+U)" in text


def test_a_refusal_names_who_may_do_it(room: Room) -> None:
    add_people(room.people, THERAPIST, PRESCRIBER)
    room.people.sign_in(THERAPIST.name, THERAPIST.pin)
    with pytest.raises(Refused) as e:
        room.people.require(Permission.GIVE_DOSE)
    assert str(e.value) == ("Giving a dose needs a prescriber or medical monitor (Ana Ruiz is "
                            "signed in as therapist) — ask Dr Lee, MD to sign in (Ctrl+U).")


def test_nobody_signed_in_cannot_record_a_clinical_event(room: Room) -> None:
    with pytest.raises(Refused, match="Starting a session needs"):
        room.sessions.start(None)
    with pytest.raises(Refused, match="Writing in the note needs"):
        room.sessions.record("note.observation", {"text": "calm"})


# ------------------------------------------------------------------ authors
def _open(room: Room) -> int:
    pid = room.writer.call(lambda c: records.create_patient(c, "Rosa M.", room.clock.now(),
                                                            weight_kg=70.0)).result(5)
    opened = room.sessions.start(pid, template="im")
    assert opened is not None  # a quick disk: started at once
    return opened.id


def test_an_author_not_on_staff_cannot_sign_or_write(room: Room) -> None:
    staff_signed_in(room.people, keep_timing=True)
    _open(room)
    room.sessions.end()
    book = NoteBook(room.clock, room.writer, room.reader, room.sessions)
    book.open(room.sessions.reader.execute("SELECT MAX(id) FROM sessions").fetchone()[0])
    with pytest.raises(NoteError, match="Random Person is not on the staff list"):
        book.sign("Random Person", "Visitor")  # said in the note's own words, text kept
    with pytest.raises(Refused, match="not on the staff list"):
        room.sessions.record("alarm.acknowledged", {"by": "x"}, author="x")
    room.people.sign_out(room.people.presence.member(THERAPIST.name).id)  # type: ignore[union-attr]
    with pytest.raises(NoteError, match="Ana Ruiz is not signed in at this console"):
        book.observe("Settled", author=THERAPIST.name)
    ev = book.sign(NURSE.name, "nurse")  # on staff, signed in, PIN fresh
    assert ev.author == NURSE.name


def test_every_event_is_authored_by_the_active_person(room: Room) -> None:
    staff_signed_in(room.people, keep_timing=True)
    sid = _open(room)
    room.people.sign_in(THERAPIST.name, THERAPIST.pin)  # the switch: one PIN
    ev = room.sessions.record("note.observation", {"summary": "settled"})
    assert ev.author == THERAPIST.name and room.sessions.user == Staff(THERAPIST.name,
                                                                        "therapist")
    room.writer.flush()
    started = records.get_session(room.reader, sid)
    assert started is not None
    authors = {e.kind: e.author for e in room.people.audit_events()}
    assert authors["audit.switched"] == THERAPIST.name


# ------------------------------------------------------------------ PIN for signing actions
def test_signing_needs_a_fresh_pin_and_reuses_it_within_the_window(room: Room) -> None:
    staff_signed_in(room.people, keep_timing=True)
    heard: list[NeedPin] = []
    room.people.pin_wanted.connect(heard.append)
    room.people.require(Permission.GIVE_DOSE)  # signed in just now: within the window
    room.clock.advance(121)
    with pytest.raises(NeedPin) as e:
        room.people.require(Permission.GIVE_DOSE)
    assert e.value.account.name == NURSE.name and heard[-1] is e.value
    assert not room.people.presence.pin_fresh(e.value.account.id)
    room.people.require(Permission.WRITE_NOTES)  # not a signing action: no PIN
    with pytest.raises(Refused, match="Wrong PIN for Ana Nurse"):
        room.people.confirm_pin(NURSE.name, "0000")
    room.people.confirm_pin(NURSE.name, NURSE.pin)
    room.people.require(Permission.GIVE_DOSE)
    room.clock.advance(100)
    room.people.require(Permission.SIGN)  # still within 120 s of the PIN
    assert "audit.pin_refused" in kinds(room)


def test_a_dose_beyond_the_ceiling_needs_the_second_persons_pin(room: Room) -> None:
    staff_signed_in(room.people, PRESCRIBER, keep_timing=True)
    room.clock.advance(121)  # every window closed
    room.people.confirm_pin(NURSE.name, NURSE.pin)
    with pytest.raises(NeedPin) as e:
        room.people.check("dose.given", NURSE.name, {"second_person": PRESCRIBER.name})
    assert e.value.account.name == PRESCRIBER.name
    room.people.confirm_pin(PRESCRIBER.name, PRESCRIBER.pin)
    room.people.check("dose.given", NURSE.name, {"second_person": PRESCRIBER.name})
    assert room.people.active is not None and room.people.active.name == NURSE.name


def test_wrong_pins_lock_the_account_out_and_are_audited(room: Room) -> None:
    add_people(room.people, NURSE)
    for left in ("2 more wrong tries", "1 more wrong try"):
        with pytest.raises(Refused, match=left):
            room.people.sign_in(NURSE.name, "0000")
    with pytest.raises(Refused, match="locked out for 10 min"):
        room.people.sign_in(NURSE.name, "0000")
    with pytest.raises(Refused, match=r"is locked out after 3 wrong PINs\. Try again in 10 min"):
        room.people.sign_in(NURSE.name, NURSE.pin)  # even the right PIN, while locked out
    room.clock.advance(10 * 60 + 1)
    assert room.people.sign_in(NURSE.name, NURSE.pin).name == NURSE.name
    assert kinds(room) == ["audit.pin_refused"] * 3 + [
        "audit.locked_out", "audit.pin_refused", "audit.signed_in"]
    audited = [e for e in room.people.audit_events() if e.kind == "audit.locked_out"]
    assert audited[0].payload["name"] == NURSE.name


def test_an_admin_reset_clears_a_lock_out(room: Room) -> None:
    staff_signed_in(room.people, keep_timing=True)
    for _ in range(3):
        with pytest.raises(Refused):
            room.people.confirm_pin(THERAPIST.name, "0000")
    nurse_id = room.people.presence.member(THERAPIST.name).id  # type: ignore[union-attr]
    with pytest.raises(Refused, match="Managing staff needs a clinic admin"):
        room.people.reset_pin(nurse_id, "9999x", "9999x")
    room.people.sign_in(ADMIN.name, ADMIN.pin)
    room.people.reset_pin(nurse_id, "4321", "4321")
    assert room.people.sign_in(THERAPIST.name, "4321").name == THERAPIST.name


# ------------------------------------------------------------------ managing staff
def test_admin_adds_disables_and_changes_roles(room: Room) -> None:
    staff_signed_in(room.people, keep_timing=True)
    room.people.sign_in(ADMIN.name, ADMIN.pin)
    a = room.people.add_staff("Bo Doc", "NP", {Role.PRESCRIBER}, "5555x", "5555x")
    with pytest.raises(Refused, match="already on staff"):
        room.people.add_staff("bo doc", "", {Role.THERAPIST}, "5556x", "5556x")
    room.people.change_staff(a.id, roles={Role.PRESCRIBER, Role.MEDICAL_MONITOR})
    room.people.change_staff(a.id, active=False)
    with pytest.raises(Refused, match="switched off"):
        room.people.sign_in("Bo Doc", "5555x")
    admin_id = room.people.active.id  # type: ignore[union-attr]
    with pytest.raises(Refused, match="only clinic admin"):
        room.people.change_staff(admin_id, active=False)
    summaries = [e.payload["summary"] for e in reversed(room.people.audit_events())
                 if e.kind.startswith("audit.staff")]
    assert summaries == [
        "Cleo Admin added Bo Doc, NP (prescriber (physician / NP))",
        "Cleo Admin changed Bo Doc: roles prescriber (physician / NP) → medical monitor "
        "(nurse), prescriber (physician / NP)",
        "Cleo Admin changed Bo Doc: switched off (cannot sign in)",
    ]


# ------------------------------------------------------------------ idle and lock
def test_idle_time_locks_and_closes_every_pin_window(room: Room) -> None:
    staff_signed_in(room.people, keep_timing=True)
    p = room.people.presence
    room.clock.advance(299)
    assert not p.lock_due()
    p.touch()
    room.clock.advance(299)
    assert not p.lock_due()
    room.clock.advance(2)
    assert p.lock_due()
    room.people.lock("idle")
    assert p.locked and not p.pin_fresh(p.active.id)  # type: ignore[union-attr]
    with pytest.raises(Refused, match="Wrong PIN"):
        room.people.unlock(NURSE.name, "1111x")
    room.people.unlock(THERAPIST.name, THERAPIST.pin)
    assert not p.locked and room.sessions.author == THERAPIST.name
    assert kinds(room)[-3:] == ["audit.screen_locked", "audit.pin_refused",
                                "audit.screen_unlocked"]


def test_an_alarm_silenced_at_the_locked_screen_is_recorded_as_such(room: Room) -> None:
    staff_signed_in(room.people, keep_timing=True)
    sid = _open(room)
    tpl = load_catalog().get("im")
    assert tpl is not None
    typed: list[Reading] = []  # vitals typed by hand (none in this test)
    day = DoseDay.open(tpl, room.sessions, room.clock, room.reader, typed.extend)
    day.alarms.armed = True
    for _ in range(40):  # a low SpO2, held long enough to alarm
        day.alarms.observe([Reading(room.clock.now(), "SIM", mdc.MDC_PULS_OXIM_SAT_O2, 84.0,
                                    mdc.MDC_DIM_PERCENT, Quality.VALID)])
        room.clock.advance(10)
    assert day.alarms.active, "an SpO2 of 84 % raises an alarm"
    room.people.lock("key")
    assert room.people.locked_ack_author("", "") is None
    nobody = day.acknowledge("", at_locked_screen=True)
    with pytest.raises(Refused, match="Wrong PIN"):
        room.people.locked_ack_author(THERAPIST.name, "0000")
    who = room.people.locked_ack_author(THERAPIST.name, THERAPIST.pin)
    named = day.acknowledge(who or "", at_locked_screen=True)
    with pytest.raises(DoseInputError, match="locked"):  # only the lock's own way, locked
        day.acknowledge("x")
    room.writer.flush()
    stored = session_events(room.reader, sid, ["alarm.acknowledged"])
    assert [(e.author, e.payload["at_locked_screen"], e.payload["by"]) for e in stored] == [
        (None, True, None), (THERAPIST.name, True, THERAPIST.name)]
    assert "at the locked screen (no PIN given)" in nobody[0].payload["summary"]
    assert "Ana Ruiz at the locked screen" in named[0].payload["summary"]


def test_security_settings_come_from_the_workstation_file() -> None:
    from console.core.settings import SecuritySettings, from_extra

    s = Security.from_settings(from_extra(SecuritySettings, {"security": {
        "idle_lock_minutes": 2, "pin_window_seconds": 30, "lockout_attempts": 4,
        "lockout_minutes": 1}}))
    assert (s.idle_lock_minutes, s.pin_window_seconds, s.policy.attempts) == (2, 30, 4)
    bad = from_extra(SecuritySettings, {"security": {"lockout_attempts": 0}})
    assert Security.from_settings(bad).lockout_attempts == 5


def test_signed_permissions_are_the_issue_list() -> None:
    assert {p.value for p in SIGNED} == {"give_dose", "override_gate", "confirm_beyond_ceiling",
                                         "sign", "discharge", "amend", "export"}


def test_person_helper_roles_match_their_names() -> None:
    assert all(isinstance(p, Person) for p in (ADMIN, THERAPIST, NURSE, PRESCRIBER))


def test_a_named_signer_who_is_not_signed_in_is_asked_for_their_pin(room: Room) -> None:
    staff_signed_in(room.people, keep_timing=True)
    add_people(room.people, PRESCRIBER)
    with pytest.raises(NeedPin) as e:
        room.people.require(Permission.SIGN, PRESCRIBER.name)
    assert e.value.account.name == PRESCRIBER.name
    room.people.confirm_pin(PRESCRIBER.name, PRESCRIBER.pin)
    assert room.people.require(Permission.SIGN, PRESCRIBER.name).name == PRESCRIBER.name
    assert room.sessions.author == NURSE.name  # the keyboard stays with the nurse
    with pytest.raises(Refused, match="Giving a dose needs"):  # a therapist named: no PIN asked
        room.people.require(Permission.GIVE_DOSE, THERAPIST.name)


def test_audit_view_lists_audit_and_export_events_only(room: Room) -> None:
    staff_signed_in(room.people, keep_timing=True)
    room.writer.call(lambda c: insert_events(c, [
        Event("export.csv", room.clock.now(), {"summary": "CSV to /tmp/x.csv"}, author=NURSE.name),
        Event("audit.record_opened", room.clock.now(), {"summary": "opened"}, author=NURSE.name),
        Event("note.observation", room.clock.now(), {"summary": "calm"}, author=NURSE.name),
    ])).result(5)
    got = {e.kind for e in room.people.audit_events()}
    assert {"export.csv", "audit.record_opened", "audit.signed_in"} <= got
    assert "note.observation" not in got


def test_headless_recording_is_authored_by_the_device_not_a_person(
        db_path: Path, sim_port: tuple[object, str]) -> None:
    """`holdspace record` has nobody at a keyboard: its session says so, by name."""
    import io

    from console.core.vitals.headless_recorder import recording
    from console.store.db import open_readonly
    from devices.drivers import get_driver

    _sim, port = sim_port
    sid = recording(db_path, [(get_driver("sim"), port)], duration=1.5, out=io.StringIO(),
                    print_every=60.0, install_signals=False).session_id
    conn, _note = open_readonly(db_path)
    try:
        authors = {e.kind: e.author for e in session_events(conn, sid)}
    finally:
        conn.close()
    assert authors["session.started"] == DEVICE_AUTHOR
    assert authors["session.ended"] == DEVICE_AUTHOR
    with pytest.raises(accounts.AccountError, match="monitors record on their own"):
        accounts.check_name("Device/Workstation")


# ------------------------------------------------------------------ names typed into the record
DISCHARGE: dict[str, object] = {"summary": "Discharge signed", "signed_by": "?"}


def test_the_discharge_is_signed_only_by_a_signed_in_prescriber_or_medical_monitor(
        room: Room) -> None:
    """The "Signed by" box accepted any typed name: the sign-off went down under it."""
    staff_signed_in(room.people, keep_timing=True)
    add_people(room.people, PRESCRIBER)
    sid = _open(room)
    with pytest.raises(Refused) as e:  # not on staff
        room.sessions.record("session.discharge", DISCHARGE, author="Kim Helper")
    assert str(e.value) == (
        "Kim Helper is not on the staff list, so cannot be named in the record. Signing the "
        "discharge needs a prescriber or medical monitor — ask Ana Nurse, RN or Dr Lee, MD to "
        "sign in (Ctrl+U).")
    with pytest.raises(Refused) as e:  # signed in, but a therapist
        room.sessions.record("session.discharge", DISCHARGE, author=THERAPIST.name)
    assert str(e.value).startswith("Signing the discharge needs a prescriber or medical "
                                   "monitor (Ana Ruiz is signed in as therapist)")
    heard: list[NeedPin] = []
    room.people.pin_wanted.connect(heard.append)
    with pytest.raises(NeedPin):  # a prescriber not signed in: her PIN first
        room.sessions.record("session.discharge", DISCHARGE, author=PRESCRIBER.name)
    assert heard[-1].account.name == PRESCRIBER.name
    room.clock.advance(121)  # the nurse's PIN window closed: a signature asks again
    with pytest.raises(NeedPin):
        room.sessions.record("session.discharge", DISCHARGE)
    assert heard[-1].account.name == NURSE.name
    room.people.confirm_pin(NURSE.name, NURSE.pin)
    ev = room.sessions.record("session.discharge", DISCHARGE, author="ana nurse")
    room.writer.flush()
    assert [e.author for e in session_events(room.reader, sid, ["session.discharge"])] == [
        ev.author]


def test_given_by_names_only_a_signed_in_person_who_may_give_a_dose(room: Room) -> None:
    """The dose's "given by" box named anyone; now the named person vouches like a signer."""
    staff_signed_in(room.people, keep_timing=True)
    add_people(room.people, PRESCRIBER)
    _open(room)
    tpl = load_catalog().get("im")
    assert tpl is not None
    typed: list[Reading] = []
    day = DoseDay.open(tpl, room.sessions, room.clock, room.reader, typed.extend)
    with pytest.raises(DoseInputError, match=r"Kim Helper is not on the staff list.*Giving a "
                                             r"dose needs a prescriber or medical monitor"):
        day.give_dose("50", given_by="Kim Helper")
    with pytest.raises(DoseInputError, match=r"Giving a dose needs .*\(Ana Ruiz is signed in "
                                             r"as therapist\)"):
        day.give_dose("50", given_by=THERAPIST.name)
    with pytest.raises(DoseInputError, match="Dr Lee: type your PIN"):
        day.give_dose("50", given_by=PRESCRIBER.name)  # on staff, not signed in: her PIN
    assert not day.doses, "nothing was written"
    room.people.check("dose.given", NURSE.name, {"given_by": NURSE.name})  # herself: fine
    room.people.confirm_pin(PRESCRIBER.name, PRESCRIBER.pin)
    room.people.check("dose.given", NURSE.name, {"given_by": PRESCRIBER.name})


def test_an_addendum_names_only_a_signed_in_person_who_may_amend(room: Room) -> None:
    staff_signed_in(room.people, keep_timing=True)
    sid = _open(room)
    book = NoteBook(room.clock, room.writer, room.reader, room.sessions)
    book.open(sid)
    room.sessions.end()
    book.sign(NURSE.name, "nurse")
    with pytest.raises(NoteError, match=r"Kim Helper is not on the staff list.*Amending a "
                                        r"signed session needs"):
        book.addendum("Called the next day: well.", "Kim Helper", "nurse")
    with pytest.raises(NoteError, match="Amending a signed session needs"):
        room.people.sign_in(ADMIN.name, ADMIN.pin)
        book.addendum("Called the next day: well.", ADMIN.name, "admin")
    ev = book.addendum("Called the next day: well.", THERAPIST.name, "therapist")
    assert ev.author == THERAPIST.name


def test_what_the_console_does_by_itself_names_no_person(room: Room) -> None:
    """Alarms rising and clearing and checks falling overdue went down under whoever was at
    the keyboard; only what a person did carries that person."""
    staff_signed_in(room.people, keep_timing=True)
    sid = _open(room)
    tpl = load_catalog().get("im")
    assert tpl is not None
    typed: list[Reading] = []
    day = DoseDay.open(tpl, room.sessions, room.clock, room.reader, typed.extend)
    day.alarms.armed = True
    for spo2 in [84.0] * 40 + [97.0] * 40:  # a dip long enough to alarm, then recovery
        day.alarms.observe([Reading(room.clock.now(), "SIM", mdc.MDC_PULS_OXIM_SAT_O2, spo2,
                                    mdc.MDC_DIM_PERCENT, Quality.VALID)])
        room.clock.advance(10)
    day.set_limit("hr-high", "130", reason="anxious baseline")
    room.writer.flush()
    who = {(e.kind, e.author) for e in session_events(room.reader, sid)
           if e.kind.startswith(("alarm.", "limits."))}
    assert ("alarm.raised", None) in who and ("alarm.cleared", None) in who, who
    assert ("limits.changed", NURSE.name) in who
    assert all(a is None for k, a in who if k != "limits.changed"), who
