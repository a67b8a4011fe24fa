"""Where this workstation's database key is kept, and the printed recovery key.

One key per workstation account (every database and backup that account makes is encrypted
with it), so a backup restores on the workstation that made it without another secret.
It is kept, in this order of preference:

1. the OS keyring of the workstation account (`keyring`: Windows Credential Manager, macOS
   Keychain, the Secret Service on a Linux desktop), service "Holdspace";
2. where there is no keyring service (a fresh or headless machine), a key file readable only
   by the account (0600, in a 0700 folder of the config directory) — and Holdspace says so;
3. or, when a clinic chooses it at set-up (`holdspace key --use-passphrase`), derived at each
   start from a clinic passphrase with scrypt; only the salt is stored.

At creation a recovery key is written (`recovery-key-<id>.txt`, 0600) to be printed and the
file deleted: 56 base32 letters in groups of four, the key itself plus a 3-byte checksum, so
a typing mistake is caught rather than tried. `holdspace recover --db FILE` takes it to
reopen a record whose keyring entry was lost, or one moved from another workstation.

`HOLDSPACE_KEY_DIR` moves the key folder (tests use a temporary one); `HOLDSPACE_KEYRING=off`
skips the OS keyring altogether (tests must never touch the real one).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import platformdirs

SERVICE = "Holdspace"
ACCOUNT = "workstation-database-key"
KEY_FILE = "database.key"
PASSPHRASE_FILE = "passphrase.json"
KEY_BYTES = 32
CHECK_BYTES = 3
# scrypt for a clinic passphrase: ~0.1 s and 32 MB on a clinic PC, once per start.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1


class KeyProblem(Exception):
    """The key cannot be had (a bad recovery key, no passphrase given); one plain sentence."""


@dataclass(frozen=True)
class Key:
    raw: bytes
    kept: str  # "keyring", "key file" or "passphrase"
    where: str  # for the person: which keyring, or the file

    @property
    def id(self) -> str:
        """A short name for the key (not secret): it names the recovery file and shows in
        `holdspace check`, so the right paper is found."""
        return key_id(self.raw)

    def describe(self) -> str:
        if self.kept == "keyring":
            return f"in the workstation account's keyring ({self.where})"
        if self.kept == "key file":
            return (f"in the key file {self.where} (readable by this account only: there is "
                    "no keyring service on this workstation)")
        return f"derived from the clinic passphrase (salt in {self.where})"


def key_id(raw: bytes) -> str:
    return hashlib.sha256(b"holdspace key id\x00" + raw).hexdigest()[:8]


# Said once to the person at the keyboard: a key made, where it is kept, the recovery file.
_notices: list[str] = []
_cache: dict[tuple[str, str], Key] = {}
# Asks the clinic passphrase when a workstation uses one: called with the question to show
# (again after a wrong one), returns "" when the person gives up. The command line sets a
# terminal prompt, `holdspace run` without a terminal a dialog (console/ui/passphrase_dialog.py).
passphrase_prompt: Callable[[str], str] | None = None
PASSPHRASE_QUESTION = "Clinic passphrase (it unlocks this workstation's records):"
PASSPHRASE_AGAIN = "That is not this clinic's passphrase — try again:"
PASSPHRASE_TRIES = 3


def tell(message: str) -> None:
    """Queue a sentence for the person at the keyboard (the command line prints them)."""
    _notices.append(message)


def take_notices() -> list[str]:
    out = list(_notices)
    _notices.clear()
    return out


def config_dir() -> Path:
    return Path(os.environ.get("HOLDSPACE_CONFIG_DIR")
                or platformdirs.user_config_dir("holdspace", appauthor=False))


def key_dir() -> Path:
    return Path(os.environ.get("HOLDSPACE_KEY_DIR") or config_dir() / "keys")


def _private_dir(d: Path) -> None:
    d.mkdir(mode=0o700, parents=True, exist_ok=True)
    if os.name != "nt":
        with contextlib.suppress(OSError):
            os.chmod(d, 0o700)


def _write_private(path: Path, text: str) -> None:
    """Write a new file readable by the owner only, whole or not at all."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


# ------------------------------------------------------------------------- the OS keyring
def _keyring() -> tuple[Any, str]:
    """(backend, its name) or (None, why there is none)."""
    if os.environ.get("HOLDSPACE_KEYRING", "").strip().lower() in ("off", "0", "no", "false"):
        return None, "the OS keyring is turned off for Holdspace (HOLDSPACE_KEYRING=off)"
    try:
        import keyring
        from keyring.backends import fail

        kr = keyring.get_keyring()
    except Exception as e:  # a broken keyring installation must not stop the console
        return None, f"the OS keyring could not be used ({type(e).__name__})"
    if isinstance(kr, fail.Keyring) or getattr(kr, "priority", 1) <= 0:
        return None, "there is no keyring service on this workstation"
    return kr, type(kr).__module__.rsplit(".", 1)[-1] + " " + type(kr).__name__


def _from_keyring() -> Key | None:
    kr, name = _keyring()
    if kr is None:
        return None
    try:
        value = kr.get_password(SERVICE, ACCOUNT)
    except Exception:  # locked or unreachable keyring: try the key file next
        return None
    raw = _hex_key(value)
    return Key(raw, "keyring", name) if raw else None


def _hex_key(value: str | None) -> bytes | None:
    if not value:
        return None
    try:
        raw = bytes.fromhex(value.strip())
    except ValueError:
        return None
    return raw if len(raw) == KEY_BYTES else None


# ---------------------------------------------------------------------------- the key file
def key_file() -> Path:
    return key_dir() / KEY_FILE


def _from_file() -> Key | None:
    f = key_file()
    try:
        text = f.read_text(encoding="ascii")
    except (OSError, UnicodeDecodeError):
        return None
    raw = _hex_key(text)
    if raw is None:
        return None
    if os.name != "nt" and f.stat().st_mode & 0o077:
        with contextlib.suppress(OSError):  # ours: make it private again, and say so
            os.chmod(f, 0o600)
            _notices.append(f"The key file {f} was readable by other accounts; it is now "
                            "readable by this account only.")
    return Key(raw, "key file", str(f))


# -------------------------------------------------------------------------- the passphrase
def passphrase_file() -> Path:
    return key_dir() / PASSPHRASE_FILE


def uses_passphrase() -> bool:
    return passphrase_file().is_file()


def derive(passphrase: str, salt: bytes, n: int = SCRYPT_N, r: int = SCRYPT_R,
           p: int = SCRYPT_P) -> bytes:
    return hashlib.scrypt(passphrase.encode("utf-8"), salt=salt, n=n, r=r, p=p,
                          maxmem=128 * n * r * 2, dklen=KEY_BYTES)


def _check_value(raw: bytes) -> str:
    return hmac.new(raw, b"holdspace passphrase check", "sha256").hexdigest()[:16]


def _from_passphrase() -> Key:
    f = passphrase_file()
    try:
        info = json.loads(f.read_text(encoding="utf-8"))
        salt = bytes.fromhex(info["salt"])
        n, r, p, check = int(info["n"]), int(info["r"]), int(info["p"]), str(info["check"])
    except (OSError, ValueError, KeyError, TypeError) as e:
        raise KeyProblem(f"The passphrase settings {f} cannot be read ({type(e).__name__}); "
                         "use the recovery key (`holdspace recover`).") from None
    wrong = KeyProblem("That is not this clinic's passphrase — try again (the record is "
                       "unchanged).")
    given = os.environ.get("HOLDSPACE_PASSPHRASE")
    tries = 1 if given is not None else PASSPHRASE_TRIES
    question = PASSPHRASE_QUESTION
    for _ in range(tries):
        if given is None and passphrase_prompt is not None:
            given = passphrase_prompt(question)
        if not given:
            raise KeyProblem("This workstation's records are locked with the clinic "
                             "passphrase: it was not given.")
        raw = derive(given, salt, n, r, p)
        if hmac.compare_digest(_check_value(raw), check):
            return Key(raw, "passphrase", str(f))
        given, question = None, PASSPHRASE_AGAIN
    raise wrong


def use_passphrase(passphrase: str) -> Key:
    """Set this workstation up to derive its key from a clinic passphrase. Only on a
    workstation that has no key yet (its records would otherwise need re-encrypting)."""
    if len(passphrase) < 12:
        raise KeyProblem("A clinic passphrase needs at least 12 characters (a short sentence "
                         "is easiest to remember).")
    if workstation_key(create=False) is not None:
        raise KeyProblem("This workstation already has a database key; a passphrase can only "
                         "be chosen when setting up a new workstation.")
    salt = secrets.token_bytes(16)
    raw = derive(passphrase, salt)
    _private_dir(key_dir())
    _write_private(passphrase_file(), json.dumps(
        {"kdf": "scrypt", "salt": salt.hex(), "n": SCRYPT_N, "r": SCRYPT_R, "p": SCRYPT_P,
         "check": _check_value(raw)}, indent=2))
    key = Key(raw, "passphrase", str(passphrase_file()))
    _cache[_cache_key()] = key
    _write_recovery(key)
    return key


# --------------------------------------------------------------------------- the one entry
def _cache_key() -> tuple[str, str]:
    return (str(key_dir()), os.environ.get("HOLDSPACE_KEYRING", ""))


def forget_cached() -> None:
    """Look the key up again next time (after a recovery, or in tests)."""
    _cache.clear()


def workstation_key(*, create: bool) -> Key | None:
    """This workstation's key; made (and its recovery key written) when there is none and
    `create` — never when opening an existing record, where a missing key means it was lost
    and the recovery key is needed."""
    ck = _cache_key()
    if ck in _cache:
        return _cache[ck]
    key = _from_passphrase() if uses_passphrase() else (_from_keyring() or _from_file())
    if key is None and create:
        said = len(_notices)
        key = keep(secrets.token_bytes(KEY_BYTES))
        kept_note = _notices[said:]  # where it is kept, said after the recovery key
        del _notices[said:]
        _write_recovery(key)
        _notices.extend(kept_note)
    if key is not None:
        _cache[ck] = key
    return key


def keep(raw: bytes) -> Key:
    """Store `raw` as this workstation's key: in the keyring, else in the key file (said)."""
    kr, name = _keyring()
    if kr is not None:
        try:
            kr.set_password(SERVICE, ACCOUNT, raw.hex())
            if _hex_key(kr.get_password(SERVICE, ACCOUNT)) == raw:
                key = Key(raw, "keyring", name)
                _cache[_cache_key()] = key
                return key
            name = "the keyring did not keep the key"
        except Exception as e:
            name = f"the OS keyring refused the key ({type(e).__name__})"
    _private_dir(key_dir())
    _write_private(key_file(), raw.hex() + "\n")
    key = Key(raw, "key file", str(key_file()))
    _cache[_cache_key()] = key
    _notices.append(f"{name[:1].upper()}{name[1:]}, so the database key is kept in the file {key_file()}, "
                    "readable by this workstation account only. Anyone who can sign in as "
                    "this account (or copies that folder) can open the records: keep the "
                    "account's password private.")
    return key


# ------------------------------------------------------------------------ the recovery key
def recovery_text(raw: bytes) -> str:
    """The key as 14 groups of four base32 letters, the last group carrying the checksum."""
    data = raw + hashlib.sha256(raw).digest()[:CHECK_BYTES]
    letters = base64.b32encode(data).decode("ascii")  # 35 bytes: 56 letters, no padding
    return "-".join(letters[i:i + 4] for i in range(0, len(letters), 4))


def parse_recovery(text: str) -> bytes:
    """The key from a recovery key as typed: case, spaces and dashes do not matter, and the
    digits 0, 1 and 8 are read as the letters O, I and B they are easily mistaken for."""
    letters = "".join(c for c in text.upper() if c.isalnum())
    letters = letters.translate(str.maketrans("018", "OIB"))
    if len(letters) != 56:
        raise KeyProblem(f"A recovery key has 56 letters and digits (14 groups of four); "
                         f"{len(letters)} were given — check the paper and type it again.")
    try:
        data = base64.b32decode(letters)
    except ValueError:
        raise KeyProblem("That recovery key holds a character that is not in recovery keys "
                         "(only A–Z and 2–7) — check the paper and type it again.") from None
    raw, check = data[:KEY_BYTES], data[KEY_BYTES:]
    if hashlib.sha256(raw).digest()[:CHECK_BYTES] != check:
        raise KeyProblem("That recovery key has a typing mistake (its check letters do not "
                         "match) — check each group against the paper and type it again.")
    return raw


def recovery_file(key: Key) -> Path:
    return key_dir() / f"recovery-key-{key.id}.txt"


def _write_recovery(key: Key) -> Path:
    f = recovery_file(key)
    made = time.strftime("%Y-%m-%d %H:%M", time.localtime())
    text = (
        "HOLDSPACE RECOVERY KEY — keep this page locked away (e.g. in the clinic's safe)\n\n"
        f"Workstation: {socket.gethostname()}    account: {_login()}    made: {made}\n"
        f"Key id: {key.id}\n\n"
        f"    {recovery_text(key.raw)}\n\n"
        "With it, `holdspace recover --db FILE` opens this workstation's records and backups\n"
        "when its key is lost (a reinstalled system, a reset keyring) or when a record was\n"
        "moved to another workstation. Without it, and without the key, nobody can read them.\n"
        "Print this page, then delete this file.\n")
    _private_dir(key_dir())
    _write_private(f, text)
    _notices.append(f"A new database key was made for this workstation and kept "
                    f"{key.describe()}. Its RECOVERY KEY is in {f}: print it, keep the paper "
                    "locked away (the clinic's safe), then delete the file. If the key is ever "
                    "lost, `holdspace recover` opens the records with that paper; "
                    "`holdspace check` says where the key is kept.")
    return f


def _login() -> str:
    try:
        return os.getlogin()
    except OSError:
        return os.environ.get("USER") or os.environ.get("USERNAME") or "?"
