"""Decoder throughput per protocol, against each protocol's serial line rate.

For every registered driver: run its simulated monitor against its decoder in simulated time
(so talk-back protocols associate and poll as they would on the wire), keep the bytes the
monitor sent, then time a fresh decoder over that byte stream. Reports bytes/s and the ratio
to the line rate (baud / 10 bits per byte on 8N1). The requirement is >= 100x.

    .venv/bin/python bench/bench_decoders.py [--seconds 120] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import time

from devices.drivers import DRIVERS
from devices.physiology import Physiology
from devices.protocol import Driver
from devices.reading import Reading


def record_stream(driver: Driver, seconds: float, scenario: str = "calm") -> bytes:
    physio = Physiology(scenario, start=0.0, nibp_interval=30.0)
    mon = driver.make_simulator(physio)
    dec = driver.make_decoder("bench")
    out = bytearray()
    t = 0.0
    while t < seconds:
        back = dec.outgoing(t)
        if back:
            mon.receive(back, t)
        data = mon.produce(t)
        if data:
            out += data
            dec.feed(data, t)
        t += 0.02
    return bytes(out)


def bench(driver: Driver, seconds: float, repeat: int) -> dict[str, float]:
    stream = record_stream(driver, seconds)
    chunk = 256  # a serial read returns a few hundred bytes at a time
    best = float("inf")
    readings = 0
    for _ in range(repeat):
        dec = driver.make_decoder("bench")
        t0 = time.perf_counter()
        n = 0
        for i in range(0, len(stream), chunk):
            n += sum(isinstance(s, Reading) for s in dec.feed(stream[i : i + chunk], 1.0))
        best = min(best, time.perf_counter() - t0)
        readings = n
    s = driver.settings
    bits_per_byte = 1 + s.bytesize + (0 if s.parity == "N" else 1) + s.stopbits
    line_rate = s.baudrate / bits_per_byte
    rate = len(stream) / best if best > 0 else float("inf")
    return {"bytes": len(stream), "readings": readings, "seconds": best,
            "bytes_per_s": rate, "line_bytes_per_s": line_rate, "ratio": rate / line_rate}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=120.0, help="simulated seconds of traffic")
    ap.add_argument("--repeat", type=int, default=5)
    a = ap.parse_args()
    print(f"{'protocol':<11} {'stream':>10} {'readings':>9} {'decode MB/s':>12} "
          f"{'line kB/s':>10} {'x line':>9}")
    worst = float("inf")
    for name, driver in sorted(DRIVERS.items()):
        r = bench(driver, a.seconds, a.repeat)
        worst = min(worst, r["ratio"])
        print(f"{name:<11} {int(r['bytes']):>9}B {int(r['readings']):>9} "
              f"{r['bytes_per_s'] / 1e6:>12.2f} {r['line_bytes_per_s'] / 1e3:>10.2f} "
              f"{r['ratio']:>8.0f}x")
    print(f"slowest decoder runs {worst:.0f}x its line rate (requirement: >= 100x)")
    return 0 if worst >= 100 else 1


if __name__ == "__main__":
    sys.exit(main())
