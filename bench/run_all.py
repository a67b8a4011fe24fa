"""Every row of the performance table in one run, side by side with its baseline and target.

Runs each bench in its own process (one after the other: on a shared 2-core machine two at
once would measure each other), reads the JSON line each prints, and prints the table the
README carries, with the load average before and after. `--code DIR` measures another
checkout's console with these benches (e.g. an export of an older commit: the "before").

    QT_QPA_PLATFORM=offscreen HOLDSPACE_AUDIO=dummy python bench/run_all.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import load_average

HERE = Path(__file__).resolve().parent


def run(script: str, args: list[str], code: Path, timeout: float = 1800) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(code), "QT_QPA_PLATFORM": "offscreen",
           "HOLDSPACE_AUDIO": "dummy"}
    p = subprocess.run([sys.executable, str(HERE / script), *args], env=env, text=True,
                       capture_output=True, timeout=timeout)
    for line in p.stdout.splitlines():
        if line.startswith("RESULT "):
            return dict(json.loads(line[len("RESULT "):]))
    print(f"{script} {' '.join(args)} failed:\n{p.stdout[-2000:]}\n{p.stderr[-3000:]}",
          file=sys.stderr)
    return {}


def g(r: dict[str, Any], key: str, fmt: str = "{:.1f}") -> str:
    v = r.get(key)
    return "—" if v is None else fmt.format(v)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--code", default=str(HERE.parent), help="the checkout to measure")
    ap.add_argument("--quick", action="store_true", help="shorter runs (a first look)")
    ap.add_argument("--json", help="also write every result here")
    a = ap.parse_args()
    code = Path(a.code).resolve()
    load0 = load_average()
    seconds = "20" if a.quick else "60"
    soak_h = "2" if a.quick else "8"  # the 8-hour session (12 minutes at 40x)
    res = {
        "ui": run("bench_ui.py", ["idle", "--seconds", seconds], code),
        "redraw": run("bench_ui.py", ["redraw"], code),
        "resume": run("bench_resume.py", [], code),
        "soak": run("bench_soak.py", ["--hours", soak_h], code),
        "hl7": run("bench_hl7.py", [], code),
        "cli": run("bench_cli.py", [], code),
    }
    load1 = load_average()
    ui, rd, rs, sk, h7, cli = (res[k] for k in ("ui", "redraw", "resume", "soak", "hl7", "cli"))
    rows = [
        ("idle CPU, one monitor + pleth 125 Hz, no session (% of one core)",
         f"{g(ui, 'cpu_pct')} (GUI thread {g(ui, 'cpu_gui_pct')})", "", "≤ 5"),
        ("trend paints per second (ms per paint)",
         f"{g(ui, 'trend_paints_per_s')} ({g(ui, 'trend_paint_ms')} ms)", "", "≤ 2"),
        ("full-session trend redraw, 8 h at 1200×300 (ms)", g(rd, "redraw_ms"),
         f"naive setData {g(rd, 'naive_ms')}", "≤ 16 and < naive"),
        ("vital tiles: restyles per second, HR number paints per second",
         f"{g(ui, 'tile_restyles_per_s')}, {g(ui, 'hr_paints_per_s')}",
         "1 new HR value per second", "on change only"),
        ("byte → painted number, p50 / p99 (ms)",
         f"{g(ui, 'latency_p50_ms', '{:.0f}')} / {g(ui, 'latency_p99_ms', '{:.0f}')}", "",
         "p99 ≤ 50"),
        ("pleth refresh (paints per second)", g(ui, "pleth_paints_per_s"), "", "≥ 25"),
        ("resume an 8-h session → first value / whole history (s)",
         f"{g(rs, 'first_value_s', '{:.2f}')} / {g(rs, 'history_s', '{:.2f}')}", "", "≤ 1"),
        ("start on the 8-h database: check, core, window (s)", g(rs, "start_s", "{:.2f}"), "",
         ""),
        ("memory growth during a live session (MB per session hour)",
         g(sk, "rss_slope_mb_per_h", "{:.2f}"), f"{g(sk, 'hours', '{:g}')} h at "
         f"{g(sk, 'speed', '{:g}')}×", "≤ 0.5"),
        ("peak RSS: live session / with an 8-h session loaded (MB)",
         f"{g(sk, 'rss_peak_mb', '{:.0f}')} / {g(rs, 'rss_peak_mb', '{:.0f}')}",
         f"8-h session: {g(rs, 'rss_mb', '{:.0f}')} at the end"
         + ("" if rs.get("keyring", True) else ", OS keyring off"), "≤ 300"),
        ("HL7 IHE-style ORU^R01 (ms per message, × line rate)",
         f"{g(h7, 'ours_ms_per_message', '{:.2f}')} ({g(h7, 'x_line', '{:.0f}')}×)",
         f"python-hl7 parse {g(h7, 'python_hl7_ms_per_message', '{:.2f}')}", "≥ 500× line"),
        ("`holdspace --help` (ms)", g(cli, "help_ms", "{:.0f}"),
         f"python itself {g(cli, 'python_ms', '{:.0f}')}", "≤ 60"),
        ("database per session hour (MB)", g(rs, "db_mb_per_h", "{:.2f}"), "", "≤ 4"),
    ]
    print(f"code: {code}\nload average (1, 5, 15 min): {load0} before, {load1} after\n")
    print("| figure | measured | baseline | target |\n|---|---|---|---|")
    for figure, ours, base, target in rows:
        print(f"| {figure} | {ours} | {base} | {target} |")
    threads = ui.get("threads_pct") or {}
    if threads:
        print("\nCPU per thread (% of one core): " + ", ".join(
            f"{k} {v:.1f}" for k, v in threads.items()))
    if a.json:
        Path(a.json).write_text(json.dumps({"load": [load0, load1], **res}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
