"""A session as a `.vital` file, for VitalDB / VitalRecorder users.

Written with the `vitaldb` package's own writer (`VitalFile.add_track` / `to_vital`), so the
file is what VitalRecorder and the vitaldb readers expect; the package is large, so it comes
with the optional `research` extra (`pip install 'holdspace[research]'`).

Layout, one device per monitor as VitalRecorder does (the source name, '/' made '_'):
- numeric tracks per parameter, named as in VitalDB's open dataset where one exists (HR,
  PLETH_SPO2, PLETH_HR, NIBP_SBP/DBP/MBP, RR, ETCO2, BT); only values a clinician could have
  seen (valid, questionable, entered by hand): an invalid reading has no number, and a
  monitor's demo value is not the patient's;
- the pleth (and any other) waveform as a wave track at its sampling rate, gaps left as gaps;
- `Holdspace/EVENT`, a text track: doses, notes, scores, adverse events, alarms, checks,
  session start and end — every event with a summary, except earlier exports.
Times are epoch seconds; the file's time zone offset is the workstation's at the session start.
The vitaldb writer takes whole tracks, so the session is held in memory while it is written
(about 60 MB for 8 hours with pleth at 125 Hz); the CSV export streams instead.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import warnings
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import numpy as np

from console.core.exports.output import ExportError, PrivateOutput
from console.store import engine, records
from devices import mdc
from devices.reading import Quality

EVENT_TRACK = "Holdspace/EVENT"
SHOWN = (int(Quality.VALID), int(Quality.QUESTIONABLE), int(Quality.MANUAL))
TRACK_NAMES = {
    mdc.MDC_ECG_HEART_RATE: "HR",
    mdc.MDC_PULS_RATE: "PULSE",
    mdc.MDC_PULS_OXIM_PULS_RATE: "PLETH_HR",
    mdc.MDC_PULS_OXIM_SAT_O2: "PLETH_SPO2",
    mdc.MDC_PULS_OXIM_PERF_REL: "PLETH_PI",
    mdc.MDC_PRESS_BLD_NONINV_SYS: "NIBP_SBP",
    mdc.MDC_PRESS_BLD_NONINV_DIA: "NIBP_DBP",
    mdc.MDC_PRESS_BLD_NONINV_MEAN: "NIBP_MBP",
    mdc.MDC_RESP_RATE: "RR",
    mdc.MDC_TTHOR_RESP_RATE: "RR_IMP",
    mdc.MDC_AWAY_CO2_ET: "ETCO2",
    mdc.MDC_TEMP: "BT",
    mdc.MDC_PULS_OXIM_PLETH: "PLETH",
    mdc.MDC_ECG_ELEC_POTL_II: "ECG_II",
}
# (low, high) of the display scale VitalRecorder opens with.
DISPLAY = {
    "HR": (30, 180), "PULSE": (30, 180), "PLETH_HR": (30, 180), "PLETH_SPO2": (80, 100),
    "NIBP_SBP": (40, 220), "NIBP_DBP": (40, 220), "NIBP_MBP": (40, 220), "RR": (0, 40),
    "ETCO2": (0, 60), "BT": (34, 40),
}


def load_vitaldb() -> ModuleType:
    """The vitaldb package, or a clear sentence saying how to install it."""
    try:
        with warnings.catch_warnings():  # its dependencies warn about their own dependencies
            warnings.simplefilter("ignore")
            import vitaldb
    except ImportError:
        raise ExportError("The .vital export needs the research add-on — install it with "
                          "`pip install 'holdspace[research]'` (in this folder: "
                          "`.venv/bin/pip install -e '.[research]'`).") from None
    return vitaldb


def device_name(source: str) -> str:
    """A source as a VitalRecorder device name: no '/', which separates device and track."""
    name = re.sub(r"[/\\]+", "_", source).strip() or "monitor"
    return name[:60]


def track_name(code: int) -> str:
    return TRACK_NAMES.get(code) or re.sub(r"\W+", "_", mdc.label(code)).strip("_").upper()


@dataclass
class VitalCounts:
    numeric_values: int = 0
    wave_samples: int = 0
    events: int = 0
    tracks: list[str] = field(default_factory=list)


def _event_text(kind: str, payload: str) -> str | None:
    if kind.startswith("export."):
        return None
    try:
        data = json.loads(payload)
    except ValueError:
        return None
    summary = data.get("summary") if isinstance(data, dict) else None
    if isinstance(summary, str) and summary.strip():
        return " ".join(summary.split())
    if kind == "session.started":
        return "Session started"
    if kind == "session.ended":
        return "Session ended"
    return None


def build(vitaldb: ModuleType, conn: engine.Connection, session: records.SessionRow
          ) -> tuple[Any, VitalCounts]:
    """The session as a vitaldb.VitalFile (in memory) and what went into it."""
    vf = vitaldb.VitalFile()
    counts = VitalCounts()
    end = session.ended if session.ended is not None else records.last_data_time(conn, session.id)
    vf.dtstart = float(session.started)
    vf.dtend = float(end or session.started)
    offset = dt.datetime.fromtimestamp(session.started).astimezone().utcoffset()
    vf.dgmt = -int((offset or dt.timedelta()).total_seconds() // 60)  # VitalDB: UTC − local

    numerics: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for t, source, code, value in conn.execute(
        f"SELECT t, source, code, value FROM readings WHERE session_id = ? AND value IS NOT NULL "
        f"AND quality IN ({','.join('?' * len(SHOWN))}) ORDER BY t, id", (session.id, *SHOWN)
    ):
        numerics.setdefault((source, code), []).append({"dt": float(t), "val": float(value)})
    for (source, code), recs in sorted(numerics.items()):
        name = f"{device_name(source)}/{track_name(code)}"
        low, high = DISPLAY.get(track_name(code), (0, 0))
        p = mdc.PARAMETERS.get(code)
        vf.add_track(name, recs, unit=mdc.unit_text(p.unit) if p else "", mindisp=low,
                     maxdisp=high)
        counts.numeric_values += len(recs)
        counts.tracks.append(name)

    waves: dict[tuple[str, int, float], list[dict[str, Any]]] = {}
    for source, code, t0, rate, blob in conn.execute(
        "SELECT source, code, t0, rate_hz, samples FROM waveforms WHERE session_id = ? "
        "ORDER BY t0, id", (session.id,)
    ):
        samples = np.frombuffer(blob, dtype="<f4").astype(np.float32)
        waves.setdefault((source, code, float(rate)), []).append({"dt": float(t0),
                                                                  "val": samples})
    by_name: dict[str, int] = {}
    for (source, code, rate), recs in sorted(waves.items()):
        name = f"{device_name(source)}/{track_name(code)}"
        by_name[name] = by_name.get(name, 0) + 1
        if by_name[name] > 1:  # the same wave at another rate: a track of its own
            name += f"_{rate:g}HZ"
        vf.add_track(name, recs, srate=rate)
        counts.wave_samples += sum(len(r["val"]) for r in recs)
        counts.tracks.append(name)

    notes = []
    for t, kind, payload in conn.execute(
        "SELECT t, kind, payload FROM events WHERE session_id = ? ORDER BY t, id", (session.id,)
    ):
        text = _event_text(kind, payload)
        if text is not None:
            notes.append({"dt": float(t), "val": text})
    if notes:
        vf.add_track(EVENT_TRACK, notes)
        counts.events = len(notes)
        counts.tracks.append(EVENT_TRACK)
    return vf, counts


def write_vital(conn: engine.Connection, session: records.SessionRow,
                out: PrivateOutput) -> VitalCounts:
    """Write the session to `out` (under its temporary name); raises OSError when the disk
    refuses and ExportError when the research add-on is missing."""
    vitaldb = load_vitaldb()
    vf, counts = build(vitaldb, conn, session)
    if not vf.to_vital(str(out.tmp)):
        raise OSError(f"the .vital writer stopped writing {out.path}")
    return counts
