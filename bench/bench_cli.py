"""How long `holdspace --help` takes: a new process, best of 7 after a warm-up run (the time a
clinician or a script waits for the command line to answer), with `python -c pass` for
reference. Bytecode is written and used as in an installation, even where the environment
says PYTHONDONTWRITEBYTECODE.

    python bench/bench_cli.py
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import emit, load_average

ROOT = Path(__file__).resolve().parent.parent


def best(cmd: list[str], n: int = 7) -> float:
    # As installed: Python keeps compiled bytecode beside the sources (an installer or the
    # first run writes it), so the bench lets it be written (the warm-up run) and used.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(ROOT)
    subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
    out = float("inf")
    for _ in range(n):
        t0 = time.perf_counter()
        subprocess.run(cmd, env=env, check=True, stdout=subprocess.DEVNULL)
        out = min(out, time.perf_counter() - t0)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="also write the result here")
    a = ap.parse_args()
    script = "import sys; from console.cli import main; sys.argv[0] = 'holdspace'; main()"
    help_s = best([sys.executable, "-c", script, "--help"])
    bare_s = best([sys.executable, "-c", "pass"])
    r = {"help_ms": round(help_s * 1000), "python_ms": round(bare_s * 1000), "load": load_average()}
    print(f"holdspace --help: {r['help_ms']} ms (python itself: {r['python_ms']} ms); "
          f"load {r['load']}")
    emit(r, a.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
