"""Starting on a database that holds an 8-hour session, and resuming it.

Builds (once, cached under the temp folder) a database with HOURS of one monitor's data
written through the real StoreWriter: HR, SpO2, PR, RR every second, a cuff every 5 minutes,
pleth at 125 Hz, in a session with a dosing template, left open as after a power cut. The
size of the file per session hour is reported from it.

Then, on a fresh copy, as `holdspace` does: the start-up check of the file (`check_db`), the
core, the window (every feature) with the built-in simulator, and a press of "Resume":
- start_s: from the check of the file to the window shown;
- first_value_s: from the press to the HR tile's number painted again;
- history_s: from the press to the whole session in the trend chart;
- rss_mb and rss_peak_mb: resident memory with the session in the running window (SETTLE_S
  after the history is in), and the most the process had at any moment.

The file is written with a commit and a hash-chain link per minute of data, as a live session
makes them (the writer links once a minute of wall time; written faster than live with the
default timing, the whole file would be one link, which the record check at start would hold
in memory at once). The database is built in a child process, so the figures are the
console's alone. A real start looks for the database key in the OS keyring and so loads the
keyring library: with HOLDSPACE_KEYRING=off (the tests' setting) that is left out, and the
result says so (`keyring`: false).

    QT_QPA_PLATFORM=offscreen HOLDSPACE_AUDIO=dummy python bench/bench_resume.py [--hours 8]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import emit, load_average, peak_rss_mb, rss_mb, staff_at_console

BUILD_VERSION = 2  # in the cached file's name: 2 = chain links of one minute, as live
SETTLE_S = 2.0  # after the whole history is in, before the RSS is read (a trend repaint)
SOURCE = "SIMULATOR"  # the built-in simulator's source name, so the live source matches


def build(db: Path, hours: float) -> float:
    """Write the session; returns the data's last time. Left unended (an unclean stop)."""
    from console.store import records
    from console.store.writer import StoreWriter
    from devices import mdc
    from devices.physiology import Physiology
    from devices.reading import Reading, Sample, WaveChunk

    end = time.time() - 5
    t0 = end - hours * 3600
    p = Physiology("calm", start=t0, nibp_interval=300)
    # Commits and chain links as in a live session: the writer links readings once a minute of
    # wall time, so a real 8-hour file holds ~480 one-minute links. Written in seconds here, the
    # default timing would make one 8-hour link, which the record check at start would then
    # hold in memory at once — a file the console never makes. So: one commit and one link per
    # minute of data.
    w = StoreWriter(str(db), flush_interval=3600.0, digest_interval=0.0)
    w.start()
    sid = w.call(lambda c: records.start_session(c, None, t0, "esketamine-rems")).result(10)
    for s in range(int(hours * 3600)):
        t = t0 + s
        v = p.vitals(t)
        batch: list[Sample] = [
            Reading(t, SOURCE, mdc.MDC_ECG_HEART_RATE, v.hr or 0.0, mdc.MDC_DIM_BEAT_PER_MIN),
            Reading(t, SOURCE, mdc.MDC_PULS_OXIM_SAT_O2, v.spo2 or 0.0, mdc.MDC_DIM_PERCENT),
            Reading(t, SOURCE, mdc.MDC_PULS_OXIM_PULS_RATE, v.pulse or 0.0,
                    mdc.MDC_DIM_BEAT_PER_MIN),
            Reading(t, SOURCE, mdc.MDC_RESP_RATE, v.rr or 0.0, mdc.MDC_DIM_RESP_PER_MIN),
        ]
        if v.nibp and v.nibp_t == t:
            batch += [Reading(t, SOURCE, c, x, mdc.MDC_DIM_MMHG) for c, x in zip(
                (mdc.MDC_PRESS_BLD_NONINV_SYS, mdc.MDC_PRESS_BLD_NONINV_DIA,
                 mdc.MDC_PRESS_BLD_NONINV_MEAN), v.nibp, strict=True)]
        for k in range(5):
            tc = t + k * 0.2
            batch.append(WaveChunk(tc, SOURCE, mdc.MDC_PULS_OXIM_PLETH, 125.0,
                                   p.pleth(tc, 25, 125.0)))
        w.add_samples(sid, batch)
        if s % 60 == 59:
            w.flush(timeout=600)
    w.flush(timeout=600)
    w.stop()
    return end


def cached_db(hours: float) -> tuple[Path, float]:
    """The built database (and its size per hour), made once per length."""
    folder = Path(tempfile.gettempdir()) / "holdspace-bench"
    folder.mkdir(exist_ok=True)
    db = folder / f"resume-{hours:g}h-v{BUILD_VERSION}.db"
    if not db.exists():
        tmp = folder / f"building-{os.getpid()}.db"
        # In a process of its own, so what the build leaves in memory is not in the figures.
        subprocess.run([sys.executable, __file__, "--hours", f"{hours:g}", "--build-into",
                        str(tmp)], check=True)
        for suffix in ("-wal", "-shm"):  # a clean stop checkpoints; nothing else belongs to it
            Path(f"{tmp}{suffix}").unlink(missing_ok=True)
        shutil.rmtree(f"{tmp}.owners", ignore_errors=True)
        tmp.rename(db)
    return db, db.stat().st_size / 1e6 / hours


def resume(db_src: Path, hours: float) -> dict[str, float]:
    from PySide6.QtCore import QEvent, QObject, QTimer
    from PySide6.QtWidgets import QApplication

    from console.app import build_window, start_core
    from console.cli import check_db
    from console.core.config import Config
    from console.ui import theme

    app = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(app, QApplication)
    theme.apply_theme(app)
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        db = data / "holdspace.db"
        shutil.copy(db_src, db)
        t_start = time.perf_counter()
        check_db(db)
        running = start_core(db, devices=[], config=Config(path=data / "workstation.json"),
                             data_dir=data)
        staff_at_console(running)
        window, feed = build_window(running)
        window.resize(1920, 1080)
        window.show()
        app.processEvents()
        out["start_s"] = time.perf_counter() - t_start
        trend = window.vitals.trend
        hr = window.vitals.hr.value
        sid = running.ctx.sessions.waiting[0].row.id
        marks: dict[str, float] = {}
        stored = min(3600, int(hours * 3600 / 2))  # points on the trend: the history is in
        rss: dict[str, float] = {}

        class Hook(QObject):
            def eventFilter(self, obj: QObject, ev: QEvent) -> bool:
                if (ev.type() == QEvent.Type.Paint and "press" in marks
                        and "first" not in marks and hr.text() != "---"):
                    marks["first"] = time.perf_counter()
                return False

        hook = Hook()
        hr.installEventFilter(hook)

        def press() -> None:
            marks["press"] = time.perf_counter()
            if os.environ.get("BENCH_PROFILE"):  # where the press's time goes (cProfile)
                import cProfile

                with cProfile.Profile() as prof:
                    running.ctx.sessions.resume(sid)
                prof.dump_stats(os.environ["BENCH_PROFILE"])
            else:
                running.ctx.sessions.resume(sid)
            hr.update()  # the number is painted at the first chance the GUI thread has

        def poll() -> None:
            from devices import mdc

            s = trend.series.get(mdc.MDC_ECG_HEART_RATE)
            if "press" in marks and s is not None and s.n > stored and "history" not in marks:
                marks["history"] = time.perf_counter()
            if "history" in marks and "first" in marks and "settled" not in marks:
                marks["settled"] = time.perf_counter() + SETTLE_S
            if "settled" in marks and time.perf_counter() >= marks["settled"]:
                # Taken in the running window: once the event loop has ended, libvlc's
                # plugins and their libraries are let go (~30 MB less than a live console).
                rss["live"] = rss_mb()
                quit_now()

        def quit_now() -> None:
            rss.setdefault("live", rss_mb())  # also when the history never came (timeout)
            window.allow_close_without_asking()
            app.quit()

        timer = QTimer()
        timer.timeout.connect(poll)
        timer.start(5)
        QTimer.singleShot(1500, press)  # the live monitor is running by then
        QTimer.singleShot(60_000, quit_now)
        app.exec()
        timer.stop()
        out["rss_mb"] = rss.get("live", float("nan"))  # the 8-hour session in the window
        out["rss_peak_mb"] = peak_rss_mb()  # the most this process ever had resident
        out["first_value_s"] = marks.get("first", float("nan")) - marks["press"]
        out["history_s"] = marks.get("history", float("nan")) - marks["press"]
        feed.stop()
        window.allow_close_without_asking()
        window.close()
        running.stop()
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hours", type=float, default=8.0)
    ap.add_argument("--json", help="also write the result here")
    ap.add_argument("--build-into", type=Path, help=argparse.SUPPRESS)  # cached_db's child
    a = ap.parse_args()
    if a.build_into is not None:
        build(a.build_into, a.hours)
        return 0
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    os.environ.setdefault("HOLDSPACE_AUDIO", "dummy")
    # A real start looks for the key in the OS keyring (console/store/keys.py) and so loads
    # the keyring library; HOLDSPACE_KEYRING=off (the tests' setting) leaves that out.
    keyring_on = os.environ.get("HOLDSPACE_KEYRING", "").strip().lower() not in (
        "off", "0", "no", "false")
    t = time.perf_counter()
    db, mb_per_h = cached_db(a.hours)
    built = time.perf_counter() - t
    r: dict[str, Any] = {k: round(v, 3) for k, v in resume(db, a.hours).items()}
    r.update(hours=a.hours, db_mb_per_h=round(mb_per_h, 2), load=load_average(),
             keyring=keyring_on)
    print(f"{a.hours:g} h session: database {mb_per_h:.2f} MB per hour (built in {built:.0f} s "
          f"or cached); start {r['start_s']:.2f} s; resume -> first value "
          f"{r['first_value_s']:.2f} s, -> whole history "
          f"{r['history_s']:.2f} s; RSS with it {r['rss_mb']:.0f} MB, peak "
          f"{r['rss_peak_mb']:.0f} MB; load {r['load']}")
    if not keyring_on:
        print("note: HOLDSPACE_KEYRING=off, so the OS keyring library was not loaded; a real "
              "start loads it to look for the key (~15 MB more resident where this was written)")
    emit(r, a.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
