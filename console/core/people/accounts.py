"""Staff accounts: name, credentials, roles and a PIN kept only as a scrypt hash.

The hash is stored as `scrypt$n$r$p$salt$digest` (base64), with a random salt per account and
scrypt's own cost parameters beside it: the clinic's cost can be raised later and every old PIN
still checks (and is re-hashed at the next right PIN). Comparing uses `hmac.compare_digest`, so
the time taken says nothing about how close a guess was.

A wrong PIN counts against the account; after `Policy.attempts` in a row the account is
locked out for `Policy.minutes`. Each check runs inside one writer transaction with its audit
event, so the counter and the record never disagree. Functions here take a connection and are
run on the writer thread (`writer.call`) for anything that writes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass

from console.core.people.roles import DEVICE_AUTHOR, Role, parse_roles, roles_label, roles_text

# ~16 MB and ~50 ms on a workstation: slow for a guesser with a stolen file, quick at the
# bedside. Stored with each hash, so changing these never locks anyone out.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2 ** 14, 8, 1
SALT_BYTES = 16
DIGEST_BYTES = 32
MIN_PIN = 4
MAX_PIN = 64


class AccountError(ValueError):
    """A refusal about an account (a name taken, a PIN too short), in nurse words."""


@dataclass(frozen=True)
class Cost:
    n: int = SCRYPT_N
    r: int = SCRYPT_R
    p: int = SCRYPT_P


@dataclass(frozen=True)
class Policy:
    """The clinic's lock-out rule: this many wrong PINs in a row lock the account for so long."""

    attempts: int = 5
    minutes: float = 15.0


@dataclass(frozen=True)
class Account:
    id: int
    name: str
    credentials: str
    roles: frozenset[Role]
    active: bool
    failed: int
    locked_until: float | None

    @property
    def label(self) -> str:
        """"Ana Ruiz, RN" — how a person is named on screen and in the record."""
        return f"{self.name}, {self.credentials}" if self.credentials else self.name

    @property
    def roles_label(self) -> str:
        return roles_label(self.roles)

    def locked_at(self, now: float) -> bool:
        return self.locked_until is not None and now < self.locked_until


@dataclass(frozen=True)
class PinCheck:
    """The outcome of one PIN check (returned, never raised, so its counter update commits)."""

    account: Account | None
    ok: bool
    message: str = ""  # why not, for the person at the console
    locked_out_now: bool = False
    already_locked: bool = False  # refused without looking at the PIN (locked out)


# ------------------------------------------------------------------ hashing
def _b64(b: bytes) -> str:
    return base64.b64encode(b).decode("ascii")


def hash_pin(pin: str, cost: Cost = Cost()) -> str:
    salt = secrets.token_bytes(SALT_BYTES)
    digest = hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=cost.n, r=cost.r, p=cost.p,
                            maxmem=_maxmem(cost), dklen=DIGEST_BYTES)
    return f"scrypt${cost.n}${cost.r}${cost.p}${_b64(salt)}${_b64(digest)}"


def _maxmem(cost: Cost) -> int:
    return 128 * cost.r * (cost.n + cost.p + 2) + 1024 * 1024


def cost_of(stored: str) -> Cost | None:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        return None
    try:
        return Cost(int(parts[1]), int(parts[2]), int(parts[3]))
    except ValueError:
        return None


def pin_matches(pin: str, stored: str) -> bool:
    """True when `pin` is the one hashed in `stored`; constant time in the digest compare."""
    cost = cost_of(stored)
    if cost is None:
        return False
    _, _, _, _, salt64, digest64 = stored.split("$")
    try:
        salt, want = base64.b64decode(salt64), base64.b64decode(digest64)
    except ValueError:
        return False
    got = hashlib.scrypt(pin.encode("utf-8"), salt=salt, n=cost.n, r=cost.r, p=cost.p,
                         maxmem=_maxmem(cost), dklen=len(want))
    return hmac.compare_digest(got, want)


def check_new_pin(pin: str, again: str | None = None) -> str:
    """A new PIN as typed (twice, when `again` is given), or AccountError saying what to fix."""
    if len(pin) < MIN_PIN:
        raise AccountError(f"The PIN needs at least {MIN_PIN} digits or letters.")
    if len(pin) > MAX_PIN:
        raise AccountError(f"The PIN can be at most {MAX_PIN} characters.")
    if pin.strip() != pin:
        raise AccountError("The PIN cannot start or end with a space.")
    if len(set(pin)) == 1:
        raise AccountError("The PIN cannot be one digit repeated (like 1111). Choose another.")
    if again is not None and again != pin:
        raise AccountError("The two PINs are not the same. Type it again in both boxes.")
    return pin


# ------------------------------------------------------------------ rows
_COLS = "id, name, credentials, roles, active, failed, locked_until"


def _account(row: Iterable[object]) -> Account:
    i, name, cred, roles, active, failed, locked = tuple(row)
    return Account(int(str(i)), str(name), str(cred or ""), parse_roles(str(roles)),
                   bool(active), int(str(failed)), None if locked is None else float(str(locked)))


def all_accounts(conn: sqlite3.Connection) -> list[Account]:
    return [_account(r) for r in conn.execute(
        f"SELECT {_COLS} FROM staff_accounts ORDER BY name COLLATE NOCASE")]


def find(conn: sqlite3.Connection, name: str) -> Account | None:
    r = conn.execute(f"SELECT {_COLS} FROM staff_accounts WHERE name = ? COLLATE NOCASE",
                     (name.strip(),)).fetchone()
    return _account(r) if r else None


def by_id(conn: sqlite3.Connection, account_id: int) -> Account | None:
    r = conn.execute(f"SELECT {_COLS} FROM staff_accounts WHERE id = ?",
                     (account_id,)).fetchone()
    return _account(r) if r else None


def has_admin(conn: sqlite3.Connection) -> bool:
    """Is there an active clinic admin? (The first run asks for one before anything else.)"""
    return any(a.active and Role.CLINIC_ADMIN in a.roles for a in all_accounts(conn))


def check_name(name: str) -> str:
    n = " ".join(name.split())
    if not n:
        raise AccountError("Type the person's name.")
    if len(n) > 80:
        raise AccountError("That name is too long (80 characters at most).")
    if n.casefold() in {DEVICE_AUTHOR, "device", "workstation"}:
        raise AccountError(f"“{n}” is kept for what the monitors record on their own.")
    return n


def create(conn: sqlite3.Connection, name: str, credentials: str, roles: Iterable[Role],
           pin: str, now: float, cost: Cost = Cost()) -> Account:
    """Add a member of staff (run on the writer thread); AccountError when refused."""
    n = check_name(name)
    rs = frozenset(roles)
    if not rs:
        raise AccountError(f"Choose at least one role for {n}.")
    check_new_pin(pin)
    if find(conn, n) is not None:
        raise AccountError(f"{n} is already on staff. Each name once, please "
                           "(add the middle initial if two people share a name).")
    cur = conn.execute(
        "INSERT INTO staff_accounts (name, credentials, roles, pin_hash, active, failed, "
        "locked_until, created, changed) VALUES (?, ?, ?, ?, 1, 0, NULL, ?, ?)",
        (n, credentials.strip(), roles_text(rs), hash_pin(pin, cost), now, now))
    made = by_id(conn, int(cur.lastrowid or 0))
    assert made is not None
    return made


def update(conn: sqlite3.Connection, account_id: int, now: float, *,
           credentials: str | None = None, roles: Iterable[Role] | None = None,
           active: bool | None = None) -> Account:
    """Change credentials, roles or whether the account may sign in."""
    a = by_id(conn, account_id)
    if a is None:
        raise AccountError("That person is no longer on staff.")
    new_roles = frozenset(roles) if roles is not None else a.roles
    if not new_roles:
        raise AccountError(f"Choose at least one role for {a.name}.")
    new_active = a.active if active is None else active
    if Role.CLINIC_ADMIN in a.roles and a.active and (
            not new_active or Role.CLINIC_ADMIN not in new_roles):
        others = [b for b in all_accounts(conn) if b.id != a.id and b.active
                  and Role.CLINIC_ADMIN in b.roles]
        if not others:
            raise AccountError(f"{a.name} is the only clinic admin. Make someone else clinic "
                               "admin first, so staff can still be managed.")
    conn.execute("UPDATE staff_accounts SET credentials = ?, roles = ?, active = ?, changed = ? "
                 "WHERE id = ?",
                 (a.credentials if credentials is None else credentials.strip(),
                  roles_text(new_roles), int(new_active), now, account_id))
    out = by_id(conn, account_id)
    assert out is not None
    return out


def set_pin(conn: sqlite3.Connection, account_id: int, pin: str, now: float,
            cost: Cost = Cost()) -> None:
    """A new PIN (an admin's reset, or the person's own): clears the lock-out."""
    check_new_pin(pin)
    conn.execute("UPDATE staff_accounts SET pin_hash = ?, failed = 0, locked_until = NULL, "
                 "changed = ? WHERE id = ?", (hash_pin(pin, cost), now, account_id))


def verify(conn: sqlite3.Connection, name: str, pin: str, now: float,
           policy: Policy = Policy(), cost: Cost = Cost()) -> PinCheck:
    """Check `name`'s PIN (on the writer thread): counts a wrong one, locks the account out
    after `policy.attempts` in a row, and clears the count on a right one."""
    a = find(conn, name)
    if a is None:
        return PinCheck(None, False, f"{name.strip() or 'That name'} is not on the staff list. "
                                     "Ask the clinic admin to add them.")
    if not a.active:
        return PinCheck(a, False, f"{a.name}'s account is switched off. Ask the clinic admin.")
    if a.locked_at(now):
        assert a.locked_until is not None
        mins = max(1, round((a.locked_until - now) / 60))
        return PinCheck(a, False, f"{a.name} is locked out after {policy.attempts} wrong PINs. "
                                  f"Try again in {mins} min, or ask the clinic admin to reset "
                                  "the PIN.", already_locked=True)
    row = conn.execute("SELECT pin_hash FROM staff_accounts WHERE id = ?", (a.id,)).fetchone()
    stored = str(row[0]) if row else ""
    if pin_matches(pin, stored):
        conn.execute("UPDATE staff_accounts SET failed = 0, locked_until = NULL WHERE id = ?",
                     (a.id,))
        if cost_of(stored) != cost:  # changed since: re-hash at today's cost
            conn.execute("UPDATE staff_accounts SET pin_hash = ? WHERE id = ?",
                         (hash_pin(pin, cost), a.id))
        return PinCheck(_fresh(conn, a.id), True)
    failed = a.failed + 1
    if failed >= policy.attempts:
        until = now + policy.minutes * 60
        conn.execute("UPDATE staff_accounts SET failed = 0, locked_until = ? WHERE id = ?",
                     (until, a.id))
        return PinCheck(_fresh(conn, a.id), False,
                        f"Wrong PIN {failed} times: {a.name} is locked out for "
                        f"{policy.minutes:g} min. The clinic admin can reset the PIN.",
                        locked_out_now=True)
    conn.execute("UPDATE staff_accounts SET failed = ? WHERE id = ?", (failed, a.id))
    left = policy.attempts - failed
    return PinCheck(_fresh(conn, a.id), False,
                    f"Wrong PIN for {a.name}. {left} more wrong "
                    f"{'try' if left == 1 else 'tries'} and the account locks for "
                    f"{policy.minutes:g} min.")


def _fresh(conn: sqlite3.Connection, account_id: int) -> Account:
    a = by_id(conn, account_id)
    assert a is not None
    return a
