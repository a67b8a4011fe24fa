"""Tamper evidence: one SHA-256 hash chain over every event and every minute of readings.

Why: the append-only triggers stop Holdspace (and honest tools) from changing the record, but
anyone can drop them and edit the file with plain SQL. The chain makes such an edit visible:
each link's hash covers the previous link's hash and the content it stands for, so changing,
deleting or slipping in an event, a reading or a waveform row breaks the chain from there on.

The `chain` table holds the links, in one sequence (`seq` 1, 2, 3 ...):
- an `event` link for every row of `events`, made in the same transaction as the insert by a
  TEMP trigger that `install` puts on each writing connection (so every way Holdspace writes an
  event is chained, and a row inserted by any other program is not);
- a `readings` link, made by the writer thread about once a minute (`digest_new_rows`, in the
  same transaction as the rows), covering the readings and waveform rows stored since the
  previous one by their id range. After a kill -9 the last partial minute is simply not yet
  covered; the next writer covers it.

Definitions, so the chain can be checked without Holdspace (all JSON written with
`sort_keys=True, separators=(",", ":"), ensure_ascii=False`, encoded as UTF-8):
- event digest: SHA-256 hex of the JSON object of the event's stored columns
  uid, session_id, t, recorded, kind, author, payload (the stored text), refers_to;
- readings digest: SHA-256 hex over `b"readings\\n"` + the JSON array of the readings in the
  range in id order, each the array [id, session_id, t, source, code, value, unit, quality,
  device_time, reason] (written with `separators=(",", ":"), ensure_ascii=False`), then
  `b"\\nwaveforms\\n"` + the JSON array of the waveform rows, each [id, session_id, source,
  code, t0, rate_hz, n, quality, len(samples)], then `b"\\n"` and every row's samples bytes
  in the same order;
- link hash: SHA-256 hex of prev_hash + "\\n" + the JSON object of the link's fields (LINK_FIELDS);
  the first link's prev_hash is GENESIS.
What it does not prove: someone who recomputes the whole chain with this definition can hide
an edit; a printed report or a signed note carries the chain head, and a later forged chain
will not reproduce it. The `patients` and `sessions` rows are updated by design; their changes
are events (patient.created, patient.weight_changed, session.*), which are chained.
"""

from __future__ import annotations

import hashlib
import heapq
import json
import os
import time
from collections.abc import Callable, Collection, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from console.store import engine

GENESIS = "0" * 64
EVENT_COLS = ("uid", "session_id", "t", "recorded", "kind", "author", "payload", "refers_to")
READING_COLS = ("id", "session_id", "t", "source", "code", "value", "unit", "quality",
                "device_time", "reason")
WAVE_COLS = ("id", "session_id", "source", "code", "t0", "rate_hz", "n", "quality", "samples")
LINK_FIELDS = ("seq", "what", "event_id", "kind", "session_id", "at", "first_reading",
               "last_reading", "readings", "first_wave", "last_wave", "waves", "t_from", "t_to",
               "digest")
DIGEST_INTERVAL_S = 60.0  # readings are linked about once a minute
MAX_FINDINGS = 50  # named one by one; more are counted
NICE_ROWS = 2000  # a check beside the GUI pauses this often (verify(nice=True))


def _json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"),
                      ensure_ascii=False).encode("utf-8")


def event_digest(uid: Any, session_id: Any, t: Any, recorded: Any, kind: Any, author: Any,
                 payload: Any, refers_to: Any) -> str:
    values = (uid, session_id, t, recorded, kind, author, payload, refers_to)
    return hashlib.sha256(_json(dict(zip(EVENT_COLS, values, strict=True)))).hexdigest()


def link_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    body = _json({k: fields.get(k) for k in LINK_FIELDS})
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + body).hexdigest()


def _sql_link(prev_hash: str, *values: Any) -> str:
    return link_hash(prev_hash, dict(zip(LINK_FIELDS, values, strict=True)))


def create_tables(conn: engine.Connection) -> None:
    """The `chain` table (append-only like the record it guards); run inside a migration."""
    conn.execute(
        """CREATE TABLE chain (
            seq INTEGER PRIMARY KEY,  -- 1, 2, 3 ... in the order linked
            what TEXT NOT NULL,       -- 'event' or 'readings'
            event_id INTEGER,         -- events.id of an 'event' link
            kind TEXT,                -- the event's kind, so a deleted one can be named
            session_id INTEGER,
            at REAL NOT NULL,         -- the event's recorded time; the last reading's time
            first_reading INTEGER, last_reading INTEGER, readings INTEGER,
            first_wave INTEGER, last_wave INTEGER, waves INTEGER,
            t_from REAL, t_to REAL,   -- clinical time the readings link covers
            digest TEXT NOT NULL,     -- SHA-256 of the content (see console/store/chain.py)
            prev_hash TEXT NOT NULL,
            hash TEXT NOT NULL)""")
    conn.execute("CREATE UNIQUE INDEX chain_event ON chain(event_id) WHERE event_id IS NOT NULL")
    conn.execute("CREATE INDEX chain_last_reading ON chain(last_reading)")
    conn.execute("CREATE INDEX chain_last_wave ON chain(last_wave)")
    for op in ("update", "delete"):
        conn.execute(f"CREATE TRIGGER chain_no_{op} BEFORE {op.upper()} ON chain "
                     "BEGIN SELECT RAISE(ABORT, 'chain is append-only'); END")


_EVENT_TRIGGER = """
CREATE TEMP TRIGGER IF NOT EXISTS holdspace_chain_event AFTER INSERT ON main.events BEGIN
  INSERT INTO chain (seq, what, event_id, kind, session_id, at, digest, prev_hash, hash)
  SELECT h.seq + 1, 'event', NEW.id, NEW.kind, NEW.session_id, NEW.recorded, d.digest, h.hash,
         holdspace_link(h.hash, h.seq + 1, 'event', NEW.id, NEW.kind, NEW.session_id,
                        NEW.recorded, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, d.digest)
  FROM (SELECT COALESCE(MAX(seq), 0) AS seq,
               COALESCE((SELECT hash FROM chain ORDER BY seq DESC LIMIT 1), '%s') AS hash
        FROM chain) AS h,
       (SELECT holdspace_event_digest(NEW.uid, NEW.session_id, NEW.t, NEW.recorded, NEW.kind,
                                      NEW.author, NEW.payload, NEW.refers_to) AS digest) AS d;
END""" % GENESIS  # noqa: UP031 - a constant, not input


def has_chain(conn: engine.Connection) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE type='table' AND name='chain'"
                        ).fetchone() is not None


def install(conn: engine.Connection) -> None:
    """Make this writing connection link every event it inserts (a TEMP trigger: it is not
    part of the file, so another program's insert is left unlinked and shows as added)."""
    conn.create_function("holdspace_event_digest", 8, event_digest, deterministic=True)
    conn.create_function("holdspace_link", 1 + len(LINK_FIELDS), _sql_link, deterministic=True)
    if has_chain(conn):
        conn.execute(_EVENT_TRIGGER)


def head(conn: engine.Connection) -> tuple[int, str]:
    """(seq, hash) of the newest link; (0, GENESIS) for an empty chain."""
    r = conn.execute("SELECT seq, hash FROM chain ORDER BY seq DESC LIMIT 1").fetchone()
    return (int(r[0]), str(r[1])) if r else (0, GENESIS)


# ----- readings -----
# JSON arrays of rows (see the module's definition).
_ROW = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
CHECK_CHUNK = 4096  # rows encoded per JSON call while a link is checked


class _Rehash:
    """The readings digest of a link's rows as they are read (readings, then waveform rows),
    hashed as they come, never holding the link's rows: the check reads a file's links with
    it, and the writer makes each new link with it (`_Digest`). A link is about a minute of
    data, but a long one (written after a long disk stall, a file linked from its start, or
    made faster than live: the soak bench's 40x clock, whose first link held 40 minutes of
    rows as Python tuples and left ~7 MB of the interpreter's arenas behind) would otherwise
    be held whole. Only the waveform samples wait, in one buffer (they come last)."""

    def __init__(self) -> None:
        self._h = hashlib.sha256(b"readings\n")
        self._rows: list[Any] = []  # not yet encoded (one JSON call per CHECK_CHUNK rows)
        self._begun = False  # the current JSON array has an element written
        self._in_waves = False
        self._samples = bytearray()
        self.readings = 0
        self.waves = 0

    def _encode(self) -> None:
        if self._rows:
            body = _ROW(self._rows)[1:-1]  # "[a,b]" -> "a,b"
            self._h.update((("," if self._begun else "[") + body).encode("utf-8"))
            self._begun, self._rows = True, []

    def _close_array(self) -> None:
        self._encode()
        self._h.update(b"]" if self._begun else b"[]")
        self._begun = False

    def add_reading(self, row: tuple[Any, ...]) -> None:
        assert not self._in_waves, "a link's readings come before its waveform rows"
        self.readings += 1
        self._rows.append(row)
        if len(self._rows) >= CHECK_CHUNK:
            self._encode()

    def add_wave(self, row: tuple[Any, ...]) -> None:
        if not self._in_waves:
            self._close_array()
            self._h.update(b"\nwaveforms\n")
            self._in_waves = True
        samples = row[-1] if isinstance(row[-1], bytes) else bytes(row[-1] or b"")
        self.waves += 1
        self._rows.append([*row[:-1], len(samples)])
        self._samples += samples
        if len(self._rows) >= CHECK_CHUNK:
            self._encode()

    def hexdigest(self) -> str:
        if not self._in_waves:
            self._close_array()
            self._h.update(b"\nwaveforms\n")
            self._in_waves = True
        self._close_array()
        self._h.update(b"\n")
        self._h.update(self._samples)
        self._samples = bytearray()
        return self._h.hexdigest()


class _Digest(_Rehash):
    """A new readings link: the digest, and what the link says of its rows (first and last
    ids, counts, the clinical time they cover, their session), kept as the rows pass."""

    def __init__(self) -> None:
        super().__init__()
        self.first_reading: int | None = None
        self.last_reading: int | None = None
        self.first_wave: int | None = None
        self.last_wave: int | None = None
        self._t_from: float | None = None
        self._t_to: float | None = None
        self._sessions: set[Any] = set()
        self._hex: str | None = None

    def _time(self, t: Any) -> None:
        if isinstance(t, float | int):
            t = float(t)
            self._t_from = t if self._t_from is None else min(self._t_from, t)
            self._t_to = t if self._t_to is None else max(self._t_to, t)

    def add_reading(self, row: tuple[Any, ...]) -> None:
        super().add_reading(row)
        if self.first_reading is None:
            self.first_reading = row[0]
        self.last_reading = row[0]
        self._time(row[2])
        self._sessions.add(row[1])

    def add_wave(self, row: tuple[Any, ...]) -> None:
        super().add_wave(row)
        if self.first_wave is None:
            self.first_wave = row[0]
        self.last_wave = row[0]
        t0, rate, n = row[4], row[5], row[6]
        self._time(t0)
        if isinstance(t0, float | int) and isinstance(rate, float | int) and rate \
                and isinstance(n, int):
            self._time(float(t0) + n / rate)
        self._sessions.add(row[1])

    def hexdigest(self) -> str:
        if self._hex is None:
            self._hex = super().hexdigest()
        return self._hex

    def span(self) -> tuple[float | None, float | None, int | None]:
        """(first time, last time, the one session or None) of the rows, for a new link."""
        one = next(iter(self._sessions)) if len(self._sessions) == 1 else None
        return self._t_from, self._t_to, one if isinstance(one, int) else None

    def fields(self, seq: int, at: float | None = None) -> dict[str, Any]:
        t_from, t_to, sid = self.span()
        return {"seq": seq, "what": "readings", "event_id": None, "kind": None,
                "session_id": sid, "at": at if at is not None else t_to,
                "first_reading": self.first_reading, "last_reading": self.last_reading,
                "readings": self.readings, "first_wave": self.first_wave,
                "last_wave": self.last_wave, "waves": self.waves,
                "t_from": t_from, "t_to": t_to, "digest": self.hexdigest()}


_R_SQL = f"SELECT {', '.join(READING_COLS)} FROM readings WHERE id > ? AND id <= ? ORDER BY id"
_W_SQL = f"SELECT {', '.join(WAVE_COLS)} FROM waveforms WHERE id > ? AND id <= ? ORDER BY id"


def _covered(conn: engine.Connection, col: str) -> int:
    r = conn.execute(f"SELECT MAX({col}) FROM chain").fetchone()
    return int(r[0] or 0)


def _insert_link(conn: engine.Connection, fields: dict[str, Any]) -> None:
    seq, prev = head(conn)
    fields = {**fields, "seq": seq + 1}
    cols = [*LINK_FIELDS, "prev_hash", "hash"]
    values = [fields.get(k) for k in LINK_FIELDS] + [prev, link_hash(prev, fields)]
    conn.execute(f"INSERT INTO chain ({', '.join(cols)}) VALUES ({','.join('?' * len(cols))})",
                 values)


def digest_new_rows(conn: engine.Connection, now: float | None = None) -> int:
    """Link the readings and waveform rows stored since the last readings link (run inside
    the writer's transaction, after its inserts); returns how many rows it covered."""
    r0, w0 = _covered(conn, "last_reading"), _covered(conn, "last_wave")
    r1 = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM readings").fetchone()[0])
    w1 = int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM waveforms").fetchone()[0])
    if r1 <= r0 and w1 <= w0:
        return 0
    d = _Digest()
    for row in conn.execute(_R_SQL, (r0, r1)):
        d.add_reading(row)
    for row in conn.execute(_W_SQL, (w0, w1)):
        d.add_wave(row)
    if not (d.readings or d.waves):
        return 0
    fields = d.fields(0)
    if fields["at"] is None:
        fields["at"] = time.time() if now is None else now
    _insert_link(conn, fields)
    return d.readings + d.waves


def link_existing(conn: engine.Connection) -> None:
    """Chain a file made before the chain existed, once, from its start: its events in the
    order written and its readings and waveforms a minute at a time, interleaved by time."""
    events: list[tuple[float, int, dict[str, Any]]] = []
    for eid, *values in conn.execute(f"SELECT id, {', '.join(EVENT_COLS)} FROM events "
                                     "ORDER BY id"):
        ev = dict(zip(EVENT_COLS, values, strict=True))
        events.append((float(ev["recorded"]), 0, {
            "what": "event", "event_id": eid, "kind": ev["kind"],
            "session_id": ev["session_id"], "at": ev["recorded"],
            "digest": event_digest(*values)}))
    readings: list[tuple[float, int, dict[str, Any]]] = []
    waves: list[tuple[float, int, dict[str, Any]]] = []
    for d in _minutes(conn):
        f = d.fields(0)
        f["at"] = f["at"] or 0.0
        (waves if d.waves else readings).append((f["at"], 1, f))
    # Each list keeps its own order (ids ascending: the check reads rows in one pass).
    for _, _, fields in heapq.merge(events, readings, waves, key=lambda x: (x[0], x[1])):
        _insert_link(conn, fields)


def _minutes(conn: engine.Connection) -> Iterator[_Digest]:
    """Existing readings, then waveform rows, cut into one digest per session and minute."""
    for sql, add in ((f"SELECT {', '.join(READING_COLS)} FROM readings ORDER BY id",
                      _Digest.add_reading),
                     (f"SELECT {', '.join(WAVE_COLS)} FROM waveforms ORDER BY id",
                      _Digest.add_wave)):
        cur: _Digest | None = None
        key: tuple[Any, int] | None = None
        for row in conn.execute(sql):
            t = row[2] if add is _Digest.add_reading else row[4]
            k = (row[1], int(t // 60) if isinstance(t, float | int) else 0)
            if cur is not None and k != key:
                yield cur
                cur = None
            if cur is None:
                cur, key = _Digest(), k
            add(cur, row)
        if cur is not None:
            yield cur


# ----- checking -----
@dataclass(frozen=True, slots=True)
class Finding:
    """One place where the record differs from what Holdspace linked."""

    what: str  # in words: which event or which minute, and how
    after: float | None  # the last moment the record is intact before it
    session_id: int | None = None


@dataclass
class ChainStatus:
    links: int = 0
    findings: list[Finding] = field(default_factory=list)
    more: int = 0  # findings beyond MAX_FINDINGS
    head_seq: int = 0
    head_hash: str = GENESIS
    uncovered: int = 0  # readings/waveform rows not linked yet (the last partial minute)
    seconds: float = 0.0  # how long the check took
    present: bool = True  # False: a file from before the chain (not migrated: read-only)
    rows_checked: str = "all"  # which readings were re-hashed: "all", "none", "sessions …"

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def altered_after(self) -> float | None:
        times = [f.after for f in self.findings if f.after is not None]
        return min(times) if times else None

    def headline(self) -> str:
        """The line shown on screen and on every report."""
        if not self.present:
            return "Record not yet protected by the tamper-evident chain (opened read-only)."
        if self.ok:
            return f"Record intact: {self.links} entries verified (chain {short(self.head_hash)})."
        at = self.altered_after
        when = fmt_time(at) if at is not None else "its start"
        return f"Record altered outside Holdspace after {when}"

    def details(self, limit: int = 5) -> list[str]:
        lines = [f.what for f in self.findings[:limit]]
        rest = len(self.findings) - limit + self.more
        if rest > 0:
            lines.append(f"… and {rest} more")
        return lines

    def for_session(self, session_id: int) -> list[Finding]:
        return [f for f in self.findings if f.session_id in (session_id, None)]


_known: dict[str, ChainStatus] = {}  # the last check of each file in this process


def remember(path: str | os.PathLike[str], status: ChainStatus) -> None:
    """Keep a check's result for views that cannot afford to walk the chain themselves."""
    _known[os.path.realpath(path)] = status


def remembered(path: str | os.PathLike[str]) -> ChainStatus | None:
    return _known.get(os.path.realpath(path))


def fmt_time(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t))


def short(digest: str) -> str:
    return digest[:12]


_LINK_SQL = f"""SELECT c.{', c.'.join(LINK_FIELDS)}, c.prev_hash, c.hash, e.id,
  {', '.join('e.' + c for c in EVENT_COLS)}
  FROM chain c LEFT JOIN events e ON e.id = c.event_id ORDER BY c.seq"""


def _hm(t: Any) -> str:
    return time.strftime("%H:%M:%S", time.localtime(t)) if isinstance(t, float | int) else "?"


def _event_words(kind: Any, eid: Any, t: Any, sid: Any) -> str:
    where = f", session {sid}" if sid is not None else ""
    return f"the {kind} entry of {_hm(t)} (event {eid}{where})"


class _Collector:
    def __init__(self, status: ChainStatus) -> None:
        self.status = status

    def add(self, what: str, after: float | None, session_id: Any) -> None:
        if len(self.status.findings) >= MAX_FINDINGS:
            self.status.more += 1
            return
        sid = session_id if isinstance(session_id, int) else None
        self.status.findings.append(Finding(what, after, sid))


SERVER_COPY = "server_copy"  # a table naming the room, in a copy made from the central server


def is_server_copy(conn: engine.Connection) -> str | None:
    """The room a copy made from the central server came from (None for a room's own file):
    the server holds the record's rows, not the room's chain, so such a copy is not verified
    here — the room's own file is (`holdspace check` in the room)."""
    row = conn.execute("SELECT name FROM sqlite_master WHERE type='table' AND name=?",
                       (SERVER_COPY,)).fetchone()
    if row is None:
        return None
    got = conn.execute(f"SELECT room FROM {SERVER_COPY} LIMIT 1").fetchone()
    return str(got[0]) if got else ""


def verify(conn: engine.Connection,
           progress: Callable[[int, int], None] | None = None, *,
           nice: bool = False, rows: bool | Collection[int] = True) -> ChainStatus:
    """Walk the whole chain and recompute every link against the rows as stored now.

    Every link and every event is always checked (a few per minute of record: cheap). The
    readings and waveform rows, the bulk of a file, are re-hashed as `rows` says: True, all
    of them (`holdspace check`, the console's start-up check); a collection of session ids,
    only those sessions' minutes (a report: its own vitals, whatever the file's age); False,
    none (a quick first answer, a backup's check).
    `nice`: running beside the GUI, give the interpreter up briefly every NICE_ROWS rows so
    the vitals keep drawing while a long file is checked."""
    started = time.monotonic()
    status = ChainStatus()
    if not has_chain(conn):
        status.present = False
        return status
    status.rows_checked = ("all" if rows is True else "none" if rows is False else
                           "sessions " + ", ".join(str(s) for s in sorted(rows)))
    only = None if isinstance(rows, bool) else set(rows)
    found = _Collector(status)
    total = int(conn.execute("SELECT COUNT(*) FROM chain").fetchone()[0])
    reader = conn  # the readings ranges are read on the same connection, in id order
    whole = rows is True
    r_rows = _Rows(reader, _R_SQL.replace("WHERE id > ? AND id <= ? ", ""), nice) if whole \
        else None
    w_rows = _Rows(reader, _W_SQL.replace("WHERE id > ? AND id <= ? ", ""), nice) if whole \
        else None
    prev, expect_seq, last_good = GENESIS, 1, None
    r_done, w_done = 0, 0  # highest reading / waveform id covered so far
    for n, row in enumerate(conn.execute(_LINK_SQL), 1):
        link = dict(zip(LINK_FIELDS, row[:len(LINK_FIELDS)], strict=True))
        prev_hash, stored_hash = row[len(LINK_FIELDS)], row[len(LINK_FIELDS) + 1]
        ev_id, ev = row[len(LINK_FIELDS) + 2], row[len(LINK_FIELDS) + 3:]
        seq, at, sid = link["seq"], link["at"], link["session_id"]
        problems_before = len(status.findings) + status.more
        if seq != expect_seq:
            found.add(f"{seq - expect_seq} link(s) of the chain before {fmt_time(at)} were "
                      "removed", last_good, sid)
        if prev_hash != prev or link_hash(prev_hash, link) != stored_hash:
            found.add(f"the chain itself was edited at link {seq} ({fmt_time(at)})",
                      last_good, sid)
        if link["what"] == "event":
            if ev_id is None:
                found.add(f"{_event_words(link['kind'], link['event_id'], at, sid)} "
                          "was deleted", last_good, sid)
            elif event_digest(*ev) != link["digest"]:
                found.add(f"{_event_words(ev[4], ev_id, ev[2], ev[1])} was changed",
                          last_good, sid)
        elif whole or (only is not None and (sid is None or sid in only)):
            d = _Rehash()
            lo_r, hi_r = link["first_reading"], link["last_reading"]
            lo_w, hi_w = link["first_wave"], link["last_wave"]
            extra = 0
            if hi_r is not None:
                for r in (r_rows.upto(hi_r) if r_rows is not None
                          else reader.execute(_R_SQL, (r_done, hi_r))):
                    if r[0] <= r_done:
                        continue
                    if lo_r is not None and r[0] < lo_r:
                        extra += 1
                    d.add_reading(r)
                r_done = max(r_done, hi_r)
            if hi_w is not None:
                for w in (w_rows.upto(hi_w) if w_rows is not None
                          else reader.execute(_W_SQL, (w_done, hi_w))):
                    if w[0] <= w_done:
                        continue
                    if lo_w is not None and w[0] < lo_w:
                        extra += 1
                    d.add_wave(w)
                w_done = max(w_done, hi_w)
            if (extra or d.readings != link["readings"] or d.waves != link["waves"]
                    or d.hexdigest() != link["digest"]):
                span = (f"{_hm(link['t_from'])}–{_hm(link['t_to'])}"
                        if link["t_from"] is not None else fmt_time(at))
                how = _how(link, d, extra)
                where = f", session {sid}" if sid is not None else ""
                found.add(f"the vital signs recorded {span}{where} were {how}", last_good, sid)
        else:  # rows not re-hashed this time: only where the next range starts
            r_done = max(r_done, link["last_reading"] or 0)
            w_done = max(w_done, link["last_wave"] or 0)
        if len(status.findings) + status.more == problems_before:
            last_good = at if last_good is None else max(last_good, at)
        prev, expect_seq = stored_hash, seq + 1
        status.links += 1
        status.head_seq, status.head_hash = seq, stored_hash
        if progress is not None and n % 1000 == 0:
            progress(n, total)
    for eid, kind, t, rec, sid in conn.execute(
            "SELECT id, kind, t, recorded, session_id FROM events WHERE id NOT IN "
            "(SELECT event_id FROM chain WHERE event_id IS NOT NULL) ORDER BY id"):
        found.add(f"{_event_words(kind, eid, t, sid)} was added", _before(conn, rec), sid)
    if r_rows is not None and w_rows is not None:
        status.uncovered = r_rows.count_after(r_done) + w_rows.count_after(w_done)
    else:
        status.uncovered = sum(int(conn.execute(f"SELECT COUNT(*) FROM {t} WHERE id > ?",
                                                (done,)).fetchone()[0])
                               for t, done in (("readings", r_done), ("waveforms", w_done)))
    status.seconds = time.monotonic() - started
    return status


def _how(link: dict[str, Any], d: _Digest | _Rehash, extra: int) -> str:
    if extra or d.readings > (link["readings"] or 0) or d.waves > (link["waves"] or 0):
        return "added to"
    if d.readings < (link["readings"] or 0) or d.waves < (link["waves"] or 0):
        return "deleted"
    return "changed"


def _before(conn: engine.Connection, t: Any) -> float | None:
    """The newest linked moment before `t` (for a row slipped in without a link)."""
    if not isinstance(t, float | int):
        return None
    r = conn.execute("SELECT MAX(at) FROM chain WHERE at <= ?", (t,)).fetchone()
    return float(r[0]) if r and r[0] is not None else float(t)


class _Rows:
    """Rows of a table in id order, consumed range by range (one pass for the whole check)."""

    def __init__(self, conn: engine.Connection, sql: str, nice: bool = False) -> None:
        self._it: Iterator[tuple[Any, ...]] = iter(conn.execute(sql))
        self._next: tuple[Any, ...] | None = next(self._it, None)
        self._nice = nice
        self._n = 0

    def upto(self, last_id: int) -> Iterable[tuple[Any, ...]]:
        while self._next is not None and self._next[0] <= last_id:
            row, self._next = self._next, next(self._it, None)
            self._n += 1
            if self._nice and self._n % NICE_ROWS == 0:
                time.sleep(0.002)
            yield row

    def count_after(self, done: int) -> int:
        n = 0
        while self._next is not None:
            if self._next[0] > done:
                n += 1
            self._next = next(self._it, None)
        return n
