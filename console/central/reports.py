"""The session report and the exports of any room's session, made from the clinic server.

The session's rows are copied from the server into a private temporary database with the
console's schema (`mirror.session_file`), and the room's own report and export code runs on
it unchanged: the PDF, the CSV, the FHIR bundle and the .vital file made here are those the
room would make from its own file, and the report's record hash is the same.

Every copy that leaves is recorded, as at the console. The station cannot write to the room's
record (its server login is read-only, and the room's file is the room's), so the export
event goes into the station's own record, `central.db` in this computer's Holdspace data
folder, naming the room and the room's session number; nothing leaves unrecorded.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from console.central import mirror, server
from console.core.exports.export_events import Export, commit_now, export_events
from console.core.exports.output import ExportError

T = TypeVar("T")
RECORD_NAME = "central.db"


def station_record(data_dir: Path | None = None) -> Path:
    """The station's own record of what left it (a Holdspace database, owner-only)."""
    from console.core.config import default_data_dir

    return (data_dir or default_data_dir()) / RECORD_NAME


def recorder(url: str, room: str, data_dir: Path | None = None) -> Callable[[Export], object]:
    """Records an export made from the server into the station's record, outside any of its
    sessions (it has none), with the room and the room's session number in the event."""
    path = station_record(data_dir)

    def record(x: Export) -> object:
        events = [dataclasses.replace(e, session_id=None, payload={
            **e.payload, "room": room, "room_sessions": list(x.sessions),
            "server": server.where(url),
            "summary": f"{room}: {e.payload.get('summary', '')} — made from the clinic server",
        }) for e in export_events(x, time.time())[:1]]
        path.parent.mkdir(parents=True, exist_ok=True)
        return commit_now(path, events)

    return record


@dataclass(frozen=True, slots=True)
class ServerSession:
    room: str
    id: int
    started: float
    ended: float | None
    state: str
    template: str | None
    patient: str | None
    readings: int
    events: int


def server_sessions(url: str, room: str | None = None) -> list[ServerSession]:
    """Every session the server holds (of one room), newest first, with its counts: what
    `--session N` may name."""
    try:
        pg = server.connect(url)
    except server.ServerError as e:
        raise ExportError(str(e)) from None
    try:
        rows = pg.execute(
            f"SELECT s.room, s.id, s.started, s.ended, s.state, s.template, p.display_name, "
            f"(SELECT count(*) FROM {server.SCHEMA}.readings r WHERE r.room = s.room "
            f"AND r.session_id = s.id), (SELECT count(*) FROM {server.SCHEMA}.events e "
            f"WHERE e.room = s.room AND e.session_id = s.id) "
            f"FROM {server.SCHEMA}.sessions s LEFT JOIN {server.SCHEMA}.patients p "
            f"ON p.room = s.room AND p.id = s.patient_id "
            f"WHERE %(room)s::text IS NULL OR s.room = %(room)s "
            f"ORDER BY s.started DESC, s.room, s.id DESC", {"room": room}).fetchall()
    except Exception as e:
        import psycopg

        if isinstance(e, psycopg.Error):
            raise ExportError(str(server.failed(url, e))) from None
        raise
    finally:
        pg.close()
    return [ServerSession(str(r[0]), int(r[1]), float(r[2]), r[3], str(r[4]), r[5], r[6],
                          int(r[7]), int(r[8])) for r in rows]


def from_server(url: str, room: str, session: int, make: Callable[[Path], T], *,
                waveforms: bool = True) -> T:
    """`make(db_path)` on a private copy of the room's session taken from the server; raises
    ExportError (a sentence) when the server cannot be read or holds no such session."""
    try:
        pg = server.connect(url)
    except server.ServerError as e:
        raise ExportError(str(e)) from None
    try:
        try:
            with mirror.session_file(pg, room, session, waveforms=waveforms) as path:
                return make(path)
        except mirror.SessionNotOnServer as e:
            rooms = ", ".join(r.room for r in server.rooms(pg)) or "none yet"
            raise ExportError(f"{e} (rooms on the server: {rooms})") from None
    except server.ServerError as e:
        raise ExportError(str(e)) from None
    except Exception as e:
        import psycopg

        if isinstance(e, psycopg.Error):
            raise ExportError(str(server.failed(url, e))) from None
        raise
    finally:
        pg.close()
