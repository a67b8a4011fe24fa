"""CSV and .vital exports of a simulated dosing day: real files, real `holdspace export` runs.

Each export must hold what the database holds, be readable by its owner only, and be recorded
as an `export.*` event in the session it came from; bad input is one line, exit 2, and leaves
the database and the output folder as they were.
"""

from __future__ import annotations

import csv
import datetime as dt
import gc
import hashlib
import json
import os
import sqlite3
import stat
import subprocess
import sys
import tracemalloc
import warnings
from pathlib import Path
from typing import Any

import pytest

from console.core.clock import FakeClock
from console.core.exports import csv_export
from console.store.db import open_db
from console.store.events import session_events
from devices import mdc
from tests.helpers.day_fixtures import DAY_START, Day, simulated_day

HS = [sys.executable, "-m", "console"]


def run_hs(*args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HS, *args], capture_output=True, text=True, timeout=timeout)


def one_error_line(r: subprocess.CompletedProcess[str]) -> str:
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    return lines[0]


def digest(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def day(tmp_path_factory: pytest.TempPathFactory) -> Day:
    return simulated_day(tmp_path_factory.mktemp("day") / "holdspace.db")


def export_events(path: Path, session_id: int, kind: str) -> list[dict[str, object]]:
    conn = open_db(path)
    try:
        return [e.payload | {"author": e.author}
                for e in session_events(conn, session_id, [kind])]
    finally:
        conn.close()


def test_csv_holds_every_reading_and_event_with_its_columns(day: Day, tmp_path: Path) -> None:
    out = tmp_path / "day.csv"
    before = len(export_events(day.path, day.session_id, "export.csv"))
    r = run_hs("export", "--db", str(day.path), "--session", str(day.session_id), "--csv",
               str(out))
    assert r.returncode == 0, r.stderr
    events_file = tmp_path / "day.events.csv"
    assert "day.csv" in r.stdout and "day.events.csv" in r.stdout
    for written in (out, events_file):  # patient data: the owner only
        assert stat.S_IMODE(written.stat().st_mode) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["day.csv", "day.events.csv"]

    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert tuple(rows[0].keys()) == csv_export.READING_COLUMNS
    assert len(rows) == day.readings
    hr = [row for row in rows if row["mdc_code"] == str(mdc.MDC_ECG_HEART_RATE)]
    valid = [row for row in hr if row["quality"] == "valid"]
    assert [(float(row["epoch_s"]), float(row["value"])) for row in valid] == [
        (pytest.approx(t, abs=1e-3), v) for t, v in day.hr]
    first = valid[0]
    assert first["parameter"] == "HR" and first["unit"] == "/min" and first["source"] == "SIM"
    assert first["mdc_name"] == "MDC_ECG_HEART_RATE"
    when = dt.datetime.fromisoformat(first["time"])
    assert when.tzinfo is not None, "the time carries its UTC offset"
    assert when.timestamp() == pytest.approx(float(first["epoch_s"]), abs=1e-3)
    invalid = [row for row in hr if row["quality"] == "invalid"]
    assert len(invalid) == 1 and invalid[0]["value"] == ""
    assert invalid[0]["reason"] == "HR 510 /min is outside 15–300 /min"
    assert {row["quality"] for row in rows} == {"valid", "questionable", "invalid"}
    nibp = [row for row in rows if row["parameter"] == "NIBP sys"]
    assert nibp and nibp[0]["unit"] == "mmHg"

    with events_file.open(newline="", encoding="utf-8") as f:
        events = list(csv.DictReader(f))
    assert tuple(events[0].keys()) == csv_export.EVENT_COLUMNS
    doses = [e for e in events if e["kind"] == "dose.given"]
    assert [e["summary"] for e in doses] == day.dose_summaries
    assert doses[0]["author"] == "Ana Nurse"
    assert json.loads(doses[0]["payload"])["mg"] == 35.0
    amended = [e for e in events if e["refers_to"]]
    assert amended and amended[0]["summary"] == "MOAA/S 3 (amended)"
    assert events[0]["kind"] == "session.started" and events[-1]["kind"] == "session.ended"

    recorded = export_events(day.path, day.session_id, "export.csv")
    assert len(recorded) == before + 1
    ev = recorded[-1]
    assert ev["files"] == [str(out), str(events_file)]
    assert ev["counts"] == {"readings": day.readings, "events": len(events)}
    assert ev["sessions"] == [day.session_id] and ev["via"] == "command line"
    assert ev["author"] and str(ev["summary"]).startswith(f"CSV export of session {day.session_id}")
    details = ev["files_detail"]
    assert isinstance(details, list)
    assert details[0]["sha256"] == digest(out) and details[0]["bytes"] == out.stat().st_size


def test_a_date_range_exports_the_sessions_started_on_those_days(tmp_path: Path) -> None:
    db = tmp_path / "range.db"
    clock = FakeClock(DAY_START)
    first = simulated_day(db, seconds=30, clock=clock)
    clock.set_wall(DAY_START + 2 * 86400)  # two days later: outside the range
    simulated_day(db, seconds=30, clock=clock, patient="Bo Other")
    day1 = dt.date.fromtimestamp(DAY_START + 1).isoformat()
    day2 = dt.date.fromtimestamp(DAY_START + 86400).isoformat()
    out = tmp_path / "range.csv"
    r = run_hs("export", "--db", str(db), "--from", day1, "--to", day2, "--csv", str(out))
    assert r.returncode == 0, r.stderr
    with out.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert {row["session"] for row in rows} == {str(first.session_id)}
    assert len(rows) == first.readings
    ev = export_events(db, first.session_id, "export.csv")[-1]
    assert ev["range"] == [day1, day2]
    later = dt.date.fromtimestamp(DAY_START + 2 * 86400).isoformat()
    r = run_hs("export", "--db", str(db), "--from", day1, "--to", later, "--csv", str(out))
    assert r.returncode == 0, r.stderr
    with out.open(newline="", encoding="utf-8") as f:
        assert {row["session"] for row in csv.DictReader(f)} == {"1", "2"}
    assert len(export_events(db, 2, "export.csv")) == 1, "each session records what left it"


def read_vital(path: Path) -> Any:
    """The file as the vitaldb package reads it (a reader independent of our export code
    path). Its import warns about its own dependencies and its reader leaves the file to the
    garbage collector: both are vitaldb's, silenced here only."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import vitaldb

        vf = vitaldb.VitalFile(str(path))
        gc.collect()
    return vf


def test_vital_file_reads_back_in_vitaldb_with_the_same_values(day: Day, tmp_path: Path) -> None:
    out = tmp_path / "day.vital"
    r = run_hs("export", "--db", str(day.path), "--session", str(day.session_id), "--vital",
               str(out))
    assert r.returncode == 0, r.stderr
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    vf = read_vital(out)
    names = vf.get_track_names()
    assert {"SIM/HR", "SIM/PLETH_SPO2", "SIM/NIBP_SBP", "SIM/RR", "SIM/PLETH",
            "Holdspace/EVENT"} <= set(names), names
    hr = vf.trks["SIM/HR"].recs
    assert [(rec["dt"], rec["val"]) for rec in hr] == [
        (pytest.approx(t, abs=1e-6), pytest.approx(v)) for t, v in day.hr]
    assert vf.trks["SIM/HR"].unit == "/min"
    pleth = vf.trks["SIM/PLETH"]
    assert pleth.srate == 125
    samples = sum(len(rec["val"]) for rec in pleth.recs)
    # The writer packs the wave into one run with the ten-second gap as missing samples.
    import numpy as np

    values = np.concatenate([rec["val"] for rec in pleth.recs])
    assert int(np.count_nonzero(~np.isnan(values))) == day.wave_samples
    assert samples >= day.wave_samples
    texts = [rec["val"] for rec in vf.trks["Holdspace/EVENT"].recs]
    assert day.dose_summaries[0] in texts and day.dose_summaries[1] in texts
    assert "Nausea — ondansetron 4 mg IV (rescue)" in texts
    assert texts[0] == "Session started" and texts[-1] == "Session ended"
    ev = export_events(day.path, day.session_id, "export.vital")[-1]
    assert ev["files"] == [str(out)]
    assert ev["counts"]["wave samples"] == day.wave_samples  # type: ignore[index]
    assert "SIM/HR" in ev["tracks"]  # type: ignore[operator]


def test_csv_export_streams_rather_than_holding_the_table(tmp_path: Path) -> None:
    """A long session is written row by row: Python's memory does not grow with its size."""
    db = tmp_path / "long.db"
    conn = open_db(db)
    conn.execute("BEGIN")
    conn.execute("INSERT INTO sessions (started, state) VALUES (1.0, 'ended')")
    conn.executemany(
        "INSERT INTO readings (session_id, t, source, code, value, unit, quality) "
        "VALUES (1, ?, 'SIM', ?, 72, ?, 0)",
        ((1.0 + i, mdc.MDC_ECG_HEART_RATE, mdc.MDC_DIM_BEAT_PER_MIN) for i in range(40_000)))
    conn.execute("COMMIT")
    out = tmp_path / "long.csv"
    tracemalloc.start()
    try:
        with out.open("w", encoding="utf-8", newline="") as f:
            n = csv_export.write_readings(conn, [1], f)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        conn.close()
    assert n == 40_000
    assert out.stat().st_size > 3_500_000  # four times what streaming may hold
    assert peak < 900_000, f"peak {peak} bytes: the rows were held in memory"


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--session", "99", "--csv", "{tmp}/x.csv"], "There is no session 99"),
        (["--session", "99", "--vital", "{tmp}/x.vital"], "There is no session 99"),
        (["--session", "1", "--csv", "{tmp}/nofolder/x.csv"], "There is no folder"),
        (["--session", "1", "--csv", "{tmp}/plainfile/x.csv"], "There is no folder"),
        (["--session", "1", "--csv", "{tmp}"], "is a folder"),
        (["--session", "1", "--csv", "{db}"], "the Holdspace database itself"),
        (["--session", "1"], "--csv FILE.csv or --vital FILE.vital"),
        (["--csv", "{tmp}/x.csv"], "say which session"),
        (["--session", "1", "--from", "2027-01-01", "--to", "2027-01-02", "--csv",
          "{tmp}/x.csv"], "not both"),
        (["--from", "2027-01-01", "--to", "2027-01-02", "--vital", "{tmp}/x.vital"],
         "holds one session"),
        (["--from", "2027-13-01", "--to", "2027-01-02", "--csv", "{tmp}/x.csv"],
         "is not a date"),
        (["--from", "2027-01-05", "--to", "2027-01-02", "--csv", "{tmp}/x.csv"],
         "ends (2027-01-02) before it starts"),
        (["--from", "2020-01-01", "--to", "2020-01-02", "--csv", "{tmp}/x.csv"],
         "No session started between"),
        (["--session", "one", "--csv", "{tmp}/x.csv"], "invalid int value"),
        (["--session", "1", "--csv", "{tmp}/x.csv", "--vital", "{tmp}/x.vital"],
         "not allowed with"),
    ],
)
def test_bad_export_input_is_one_line_and_changes_nothing(
    day: Day, tmp_path: Path, args: list[str], words: str
) -> None:
    (tmp_path / "plainfile").write_text("x")
    before = digest(day.path)
    listing = sorted(os.listdir(tmp_path))
    filled = [a.format(tmp=tmp_path, db=day.path) for a in args]
    line = one_error_line(run_hs("export", "--db", str(day.path), *filled))
    assert words in line, line
    assert digest(day.path) == before, "the database is untouched"
    assert sorted(os.listdir(tmp_path)) == listing, "no file, not even a half one, is left"


@pytest.mark.skipif(sys.platform != "linux", reason="/proc is Linux's")
def test_an_output_path_the_system_refuses_is_one_line(day: Day) -> None:
    line = one_error_line(run_hs("export", "--db", str(day.path), "--session", "1", "--csv",
                                 "/proc/holdspace-export.csv"))
    assert "Cannot write /proc/holdspace-export.csv" in line and "choose another place" in line


def test_an_export_that_cannot_be_recorded_is_not_made(day: Day, tmp_path: Path) -> None:
    """Another program holds the database: the export event cannot be committed, so no file
    leaves with it unrecorded."""
    before = digest(day.path)
    holder = sqlite3.connect(day.path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        line = one_error_line(run_hs("export", "--db", str(day.path), "--session", "1",
                                     "--csv", str(tmp_path / "x.csv")))
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert "Nothing was exported" in line and "Another program is using" in line, line
    assert os.listdir(tmp_path) == []
    assert digest(day.path) == before


def test_without_the_research_extra_the_vital_export_says_how_to_get_it(day: Day,
                                                                         tmp_path: Path) -> None:
    """vitaldb made unimportable in a real run: one line with the install command."""
    code = ("import sys; sys.modules['vitaldb'] = None; from console.cli import main; "
            "sys.exit(main(sys.argv[1:]))")
    before = digest(day.path)
    r = subprocess.run([sys.executable, "-c", code, "export", "--db", str(day.path),
                        "--session", "1", "--vital", str(tmp_path / "x.vital")],
                       capture_output=True, text=True, timeout=60)
    line = one_error_line(r)
    assert "needs the research add-on" in line and "holdspace[research]" in line
    assert os.listdir(tmp_path) == [] and digest(day.path) == before
