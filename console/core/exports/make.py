"""Making an export from start to end: choose the sessions, write, record, then name the file.

The order is what keeps the record honest: the file is written under a temporary name, its
export event is committed, and only then does the file get its name. If the event cannot be
recorded the file is discarded, so nothing leaves unrecorded; if the file cannot be written
nothing is recorded. The database is read through its own read-only connection.

Every file that leaves goes this way: CSV, .vital, the PDF report, the REMS form and the
FHIR bundle. The command line records through a short-lived writer (`command_line_recorder`),
the window through its own writer (`writer_recorder`), on a worker thread.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from console.core.exports import csv_export, fhir_bundle, vital_export
from console.core.exports.export_events import Export, record_and_wait, record_now
from console.core.exports.output import ExportError, PrivateOutput
from console.core.exports.scope import one_session, sessions_between
from console.core.report import making
from console.core.report.build import build_report
from console.core.report.clinic import Clinic
from console.store import engine, records
from console.store.db import StoreError, explain, open_readonly
from console.store.writer import StoreWriter

Recorder = Callable[[Export], object]  # records the export and returns once it is committed


@dataclass
class Made:
    export: Export
    files: list[Path]


def _reader(db_path: Path) -> engine.Connection:
    try:
        return open_readonly(db_path)[0]
    except StoreError as e:
        raise ExportError(str(e)) from None


def command_line_recorder(db_path: Path) -> Recorder:
    return lambda x: record_now(db_path, x, time.time())


def writer_recorder(writer: StoreWriter, now: Callable[[], float]) -> Recorder:
    """The window's: through its running writer, waiting for the commit (call it on a worker
    thread)."""
    return lambda x: record_and_wait(writer, x, now())


def _finish(outputs: Sequence[PrivateOutput], x: Export, recorder: Recorder) -> Made:
    try:
        recorder(x)
    except ExportError as e:
        for o in outputs:
            o.discard()
        raise ExportError(f"Nothing was exported, because the export could not be noted in "
                          f"the record: {e}") from None
    except BaseException:
        for o in outputs:
            o.discard()
        raise
    for o in outputs:
        o.commit()
    return Made(x, [o.path for o in outputs])


def make_csv(db_path: Path, path: Path, *, session: int | None = None,
             first: str | None = None, last: str | None = None, by: str | None,
             via: str, recorder: Recorder) -> Made:
    """Readings to `path`, events to `path`'s `.events.csv`, for one session or a range."""
    conn = _reader(db_path)
    outputs: list[PrivateOutput] = []
    try:
        try:
            if session is not None:
                sessions = [one_session(conn, session, db_path).id]
            else:
                assert first is not None and last is not None
                sessions = [s.id for s in sessions_between(conn, first, last, db_path)]
        except engine.DatabaseError as e:
            raise ExportError(str(explain(db_path, e))) from None
        outputs.append(PrivateOutput(path, db_path))
        outputs.append(PrivateOutput(csv_export.events_path(path.expanduser()), db_path))
        try:
            counts = csv_export.write_csv(conn, sessions, outputs[0], outputs[1])
        except OSError as e:
            outputs[1].discard()
            raise outputs[0].failed(e) from None
        except engine.DatabaseError as e:
            raise ExportError(str(explain(db_path, e))) from None
    except BaseException:
        for o in outputs:
            o.discard()
        raise
    finally:
        conn.close()
    x = Export("csv", [o.path for o in outputs], sessions,
               {"readings": counts.readings, "events": counts.events}, by, via,
               {"files_detail": [o.facts() for o in outputs],
                **({"range": [first, last]} if session is None else {})})
    return _finish(outputs, x, recorder)


def make_vital(db_path: Path, path: Path, session: int, *, by: str | None, via: str,
               recorder: Recorder) -> Made:
    """One session to a `.vital` file (needs the `research` extra)."""
    vital_export.load_vitaldb()  # say so before any work when it is missing
    conn = _reader(db_path)
    out: PrivateOutput | None = None
    try:
        try:
            row: records.SessionRow = one_session(conn, session, db_path)
        except engine.DatabaseError as e:
            raise ExportError(str(explain(db_path, e))) from None
        out = PrivateOutput(path, db_path)
        try:
            counts = vital_export.write_vital(conn, row, out)
        except OSError as e:
            raise out.failed(e) from None
        except engine.DatabaseError as e:
            raise ExportError(str(explain(db_path, e))) from None
    except BaseException:
        if out is not None:
            out.discard()
        raise
    finally:
        conn.close()
    x = Export("vital", [out.path], [row.id],
               {"numeric values": counts.numeric_values, "wave samples": counts.wave_samples,
                "events": counts.events}, by, via,
               {"files_detail": [out.facts()], "tracks": counts.tracks})
    return _finish([out], x, recorder)


def pdf_export(pdf: making.Made, session: int, files: Sequence[Path], *, by: str | None,
               via: str, to: str = "", detail: dict[str, object] | None = None) -> Export:
    """The export of a PDF made by `making.make_pdf` (saved to `files`, or printed `to`)."""
    return Export(pdf.export_kind, list(files), [session], {"pages": pdf.pages}, by, via,
                  {"record_hash": pdf.record_hash, **(detail or {})}, to=to)


def make_report(db_path: Path, path: Path, session: int, kind: str, clinic: Clinic, *,
                by: str | None, via: str, recorder: Recorder,
                now: float | None = None) -> tuple[Made, making.Made]:
    """The session report (`kind` "report") or the REMS form ("rems") of one session as a PDF
    at `path`; raises report.build.SessionNotFound for a session not there."""
    out = PrivateOutput(path, db_path)  # a place it cannot go is refused before any work
    try:
        conn = _reader(db_path)
        try:
            pdf = making.make_pdf(conn, session, kind, clinic, now)
        except engine.DatabaseError as e:
            raise ExportError(str(explain(db_path, e))) from None
        finally:
            conn.close()
        try:
            out.write_bytes(pdf.data)
        except OSError as e:
            raise out.failed(e) from None
        x = pdf_export(pdf, session, [out.path], by=by, via=via,
                       detail={"files_detail": [out.facts()]})
    except BaseException:
        out.discard()
        raise
    return _finish([out], x, recorder), pdf


def make_fhir(db_path: Path, path: Path, session: int, clinic: Clinic, *, by: str | None,
              via: str, recorder: Recorder, now: float | None = None) -> Made:
    """One session as a FHIR R4 document Bundle (JSON), built from the session's report model
    (fhir_bundle.py says what is in it and why)."""
    conn = _reader(db_path)
    out: PrivateOutput | None = None
    try:
        try:
            one_session(conn, session, db_path)
            out = PrivateOutput(path, db_path)
            report = build_report(conn, session, clinic=clinic.name,
                                  now=time.time() if now is None else now)
        except engine.DatabaseError as e:
            raise ExportError(str(explain(db_path, e))) from None
        bundle = fhir_bundle.session_bundle(report,
                                            organization=clinic.name if clinic.named else None)
        data = json.dumps(bundle, ensure_ascii=False, indent=1).encode("utf-8")
        try:
            out.write_bytes(data)
        except OSError as e:
            raise out.failed(e) from None
    except BaseException:
        if out is not None:
            out.discard()
        raise
    finally:
        conn.close()
    x = Export("fhir", [out.path], [session], fhir_bundle.counts(bundle), by, via,
               {"files_detail": [out.facts()], "record_hash": report.record_hash,
                "bundle": bundle["identifier"]["value"]})
    return _finish([out], x, recorder)
