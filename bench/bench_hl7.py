"""HL7 ORU^R01 as gateways send it (IHE PCD-01 style), decoded, against python-hl7.

The simulated monitor's messages (numerics, a cuff, a second of pleth as an NA row) are made
IHE-style: PID-3 an identifier with an assigning authority in sub-components
(`SIM0001^^^HOLDSPACE&1.2.3.4.5&ISO^MR`), OBX-18 the equipment instance identifier with its
universal id in sub-components, and escapes in text (`\\T\\`, `\\S\\`, `\\F\\` in PID-5 and an
OBX-3 text). Timed: Holdspace's decoder on the MLLP frames (framing, parsing, OBX to
readings), and python-hl7's `hl7.parse` on the same message text (parsing only), best of 5.
The ratio to the line rate is bytes decoded per second over 115200 baud 8N1 (11.5 kB/s).

    python bench/bench_hl7.py [--messages 300]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchlib import emit, load_average

LINE_BYTES_PER_S = 115200 / 10


def ihe(text: str) -> str:
    """A monitor message made as an IHE gateway writes it: sub-components and escapes."""
    out = []
    for seg in text.rstrip("\r").split("\r"):
        f = seg.split("|")
        if f[0] == "PID":
            f[3] = "SIM0001^^^HOLDSPACE&1.2.3.4.5&ISO^MR"
            f[5] = "O\\T\\Brien^Ann\\S\\Marie^^^^^L"
        elif f[0] == "OBX":
            f += [""] * (19 - len(f))
            f[18] = "MINDRAY_D-SERIES^^00A037009A0053DE&EUI-64^EUI-64"
            if f[3].startswith("150456^"):
                f[3] = "150456^MDC_PULS_OXIM_SAT_O2 \\F\\ SpO2^MDC"
        out.append("|".join(f))
    return "\r".join(out) + "\r"


def messages(n: int) -> list[str]:
    from devices.physiology import Physiology
    from devices.protocols.hl7_sim import Hl7Monitor

    mon = Hl7Monitor(Physiology("calm", start=0.0, nibp_interval=30.0))
    return [ihe(mon.message(1.0 + i)) for i in range(n)]


def bench(n: int, repeat: int = 5) -> dict[str, Any]:
    import hl7 as python_hl7

    from devices.protocols.hl7 import Hl7Decoder, mllp

    msgs = messages(n)
    frames = [mllp(m) for m in msgs]
    size = sum(len(f) for f in frames)
    ours = float("inf")
    readings = 0
    for _ in range(repeat):
        dec = Hl7Decoder("bench")
        t0 = time.perf_counter()
        got = 0
        for i, f in enumerate(frames):
            got += len(dec.feed(f, 1.0 + i))
        ours = min(ours, time.perf_counter() - t0)
        readings = got
    ref = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        for m in msgs:
            python_hl7.parse(m)
        ref = min(ref, time.perf_counter() - t0)
    return {
        "messages": n, "bytes_per_message": round(size / n), "samples": readings,
        "ours_ms_per_message": round(ours / n * 1000, 3),
        "python_hl7_ms_per_message": round(ref / n * 1000, 3),
        "x_line": round(size / ours / LINE_BYTES_PER_S),
        "frames_rejected": dec.stats.frames_rejected,
        "load": load_average(),
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--messages", type=int, default=300)
    ap.add_argument("--json", help="also write the result here")
    a = ap.parse_args()
    r = bench(a.messages)
    print(f"IHE-style ORU^R01 ({r['bytes_per_message']} B, sub-components and escapes): "
          f"Holdspace {r['ours_ms_per_message']:.2f} ms/message ({r['x_line']}x line rate, "
          f"{r['samples']} samples, {r['frames_rejected']} rejected); python-hl7 parse "
          f"{r['python_hl7_ms_per_message']:.2f} ms/message; load {r['load']}")
    emit(r, a.json)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
