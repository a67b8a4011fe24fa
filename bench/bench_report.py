"""The report of an 8-hour session: how long it takes to build and draw.

Writes HOURS of monitor data (HR, PR, SpO2 and RR every second, a cuff every 5 minutes)
through the real StoreWriter with the real DoseDay and NoteBook (two doses, an alarm, notes),
then times `build_report` + `render_report` and the REMS-free PDF size (target: under 5 s),
and the FHIR bundle made from the same report model.

    PYTHONPATH=. .venv/bin/python bench/bench_report.py [--hours 8]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HOLDSPACE_CONFIG_DIR", tempfile.mkdtemp(prefix="hs-bench-cfg-"))
os.environ.setdefault("HOLDSPACE_DATA_DIR", tempfile.mkdtemp(prefix="hs-bench-data-"))

from console.core.exports.fhir_bundle import session_bundle
from console.core.report.build import build_report
from console.core.report.making import page_count
from console.core.report.pdf_report import render_report
from tests.helpers.report_day import ketamine_day, rig


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--hours", type=float, default=8.0)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, rig(Path(tmp)) as d:
        t = time.perf_counter()
        # the day's events, then the monitor values every second for the rest of the hours
        ketamine_day_seconds(d, a.hours)
        d.writer.flush()
        written = time.perf_counter() - t
        n = d.reader.execute("SELECT COUNT(*) FROM readings WHERE session_id=?",
                             (d.session_id,)).fetchone()[0]
        t = time.perf_counter()
        r = build_report(d.reader, d.session_id)
        built = time.perf_counter() - t
        t = time.perf_counter()
        data = render_report(r)
        drawn = time.perf_counter() - t
        print(f"{a.hours:g} h session, {n} readings ({written:.0f} s to write)")
        print(f"build {built:.2f} s + render {drawn:.2f} s = {built + drawn:.2f} s; "
              f"{page_count(data)} pages, {len(data) / 1e3:.0f} kB")
        t = time.perf_counter()
        bundle = session_bundle(r)
        text = json.dumps(bundle, ensure_ascii=False, indent=1).encode("utf-8")
        mapped = time.perf_counter() - t
        print(f"FHIR bundle from the same model: {mapped:.2f} s; {len(bundle['entry'])} "
              f"resources, {len(text) / 1e6:.1f} MB")


def ketamine_day_seconds(d, hours: float) -> None:
    """The test day with values every second, observed until `hours` after the start."""
    feed = d.feed

    def every_second(minutes: float, **kw: object) -> None:
        feed(minutes, step=1.0, **kw)

    d.feed = every_second
    ketamine_day(d, observe_hours=max(2.5, hours - 0.8))


if __name__ == "__main__":
    main()
