"""Every monitor protocol end to end: its simulator on a real pty, `holdspace record` as a
real process, and the SQLite file holding the simulated values with the right MDC codes and
units, and the pleth where the protocol carries one. The recordings (one per registered
driver, Contec's CMS50 and the S/5 and Nonin variants included) run side by side to keep the
suite quick."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from console.store.db import connect_file
from devices import mdc
from devices.drivers import DRIVERS
from devices.physiology import Physiology
from devices.simulator import Simulator

HR_CODES = (mdc.MDC_ECG_HEART_RATE, mdc.MDC_PULS_OXIM_PULS_RATE)
# The pleth's sample rate per protocol that sends one.
PLETH_RATES = {"contec": 60.0, "nonin": 75.0, "nonin7": 75.0, "intellivue": 125.0,
               "s5": 100.0, "s5-ecg": 100.0}


@pytest.mark.slow
def test_record_stores_each_protocols_values_with_mdc_codes_and_units(tmp_path: Path) -> None:
    sims: dict[str, Simulator] = {}
    procs: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, driver in sorted(DRIVERS.items()):
            sim = Simulator(driver, Physiology("calm", start=time.time()),
                            link_path=str(tmp_path / f"tty-{name}"))
            port = sim.start()
            sims[name] = sim
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", "console", "record", "--device", f"{name}:{port}",
                 "--db", str(tmp_path / f"{name}.db"), "--duration", "8"],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for name, proc in procs.items():
            assert proc.wait(60) == 0, name
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait(10)
        for sim in sims.values():
            sim.stop()

    assert {"contec", "intellivue", "masimo", "nonin", "s5", "sim"} <= set(DRIVERS)
    for name in sorted(DRIVERS):
        conn = connect_file(tmp_path / f"{name}.db")
        rows = conn.execute(
            "SELECT code, value, unit, source FROM readings WHERE quality IN (0, 1) "
            "AND value IS NOT NULL").fetchall()
        by_code: dict[int, list[tuple[float, int]]] = {}
        for code, value, unit, source in rows:
            assert source == f"{name}:{tmp_path / f'tty-{name}'}", name
            by_code.setdefault(code, []).append((value, unit))
        rates = [v for c in HR_CODES for v in by_code.get(c, [])]
        assert rates, f"{name}: no heart or pulse rate stored"
        assert all(55 <= v <= 95 and u == mdc.MDC_DIM_BEAT_PER_MIN for v, u in rates), name
        spo2 = by_code.get(mdc.MDC_PULS_OXIM_SAT_O2, [])
        assert spo2, f"{name}: no SpO2 stored"
        assert all(94 <= v <= 100 and u == mdc.MDC_DIM_PERCENT for v, u in spo2), name
        for code in by_code:
            assert code == mdc.canonical(code), f"{name}: non-canonical code {code}"
        if name in PLETH_RATES:
            rates_stored = {r for (r,) in conn.execute(
                "SELECT DISTINCT rate_hz FROM waveforms WHERE code = ?",
                (mdc.MDC_PULS_OXIM_PLETH,))}
            assert rates_stored == {PLETH_RATES[name]}, (name, rates_stored)
        conn.close()
