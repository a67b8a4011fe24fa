"""IntelliVue end to end: the simulated monitor on a real pty, read by the real SerialLink.

The link writes our association and polls back through the pty; the monitor answers only if
they are right, so values arriving at all proves both directions work.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from devices import mdc
from devices.link import LinkState, SerialLink
from devices.physiology import Physiology
from devices.protocols.intellivue import DRIVER
from devices.reading import Quality, Reading, WaveChunk
from devices.simulator import Simulator
from tests.helpers.fixtures import CollectingSink


@pytest.fixture
def monitor(tmp_path: Path) -> Iterator[tuple[Simulator, Physiology]]:
    """A simulated IntelliVue on a pty behind a stable link path."""
    physio = Physiology("calm", start=time.time() - 1.0)
    sim = Simulator(DRIVER, physio, link_path=str(tmp_path / "ttyIV0"))
    sim.start()
    yield sim, physio
    sim.stop()


def seen_within(physio: Physiology, r: Reading, field: str, window: float = 2.0) -> bool:
    """The value equals what the physiology showed at some instant shortly before arrival."""
    return any(
        getattr(physio.vitals(t), field) == r.value for t in np.arange(r.t - window, r.t, 0.05)
    )


def test_values_codes_and_units_over_a_real_pty(
    monitor: tuple[Simulator, Physiology], sink: CollectingSink
) -> None:
    sim, physio = monitor
    link = SerialLink(sim.port, DRIVER, sink, source="room")
    link.start()
    try:
        assert sink.wait_for(
            lambda s: bool(s.readings(mdc.MDC_PRESS_BLD_NONINV_MEAN))
            and len(s.readings(mdc.MDC_ECG_HEART_RATE)) >= 2
            and any(isinstance(x, WaveChunk) for x in s.received),
            timeout=10.0,
        )
    finally:
        link.stop()
    expect = {
        mdc.MDC_ECG_HEART_RATE: ("hr", mdc.MDC_DIM_BEAT_PER_MIN),
        mdc.MDC_PULS_OXIM_SAT_O2: ("spo2", mdc.MDC_DIM_PERCENT),
        mdc.MDC_PULS_OXIM_PULS_RATE: ("pulse", mdc.MDC_DIM_BEAT_PER_MIN),
        mdc.MDC_RESP_RATE: ("rr", mdc.MDC_DIM_RESP_PER_MIN),
    }
    for code, (field, unit) in expect.items():
        rs = sink.readings(code)
        assert rs, code
        for r in rs:
            assert r.unit == unit and r.quality == Quality.VALID and r.source == "room"
            assert seen_within(physio, r, field), (code, r)
            assert r.device_time is not None and abs(r.device_time - r.t) < 2.0
    sys_, dia, mean = (sink.readings(c)[0] for c in (mdc.MDC_PRESS_BLD_NONINV_SYS,
                                                      mdc.MDC_PRESS_BLD_NONINV_DIA,
                                                      mdc.MDC_PRESS_BLD_NONINV_MEAN))
    assert (sys_.value, dia.value, mean.value) == physio.vitals(time.time()).nibp
    assert sys_.unit == mdc.MDC_DIM_MMHG
    waves = [w for w in sink.received if isinstance(w, WaveChunk)]
    assert all(w.code == mdc.MDC_PULS_OXIM_PLETH and w.rate_hz == 125.0 for w in waves)
    assert all(float(np.min(w.samples)) >= 0.0 and float(np.max(w.samples)) <= 1.0 for w in waves)
    assert LinkState.LIVE in sink.states()
    assert link.decoder.stats.frames_rejected == 0


def test_reassociates_after_unplug(
    monitor: tuple[Simulator, Physiology], sink: CollectingSink
) -> None:
    sim, _ = monitor
    link = SerialLink(sim.port, DRIVER, sink)
    link.start()
    try:
        assert sink.wait_for(lambda s: bool(s.readings(mdc.MDC_ECG_HEART_RATE)), timeout=10.0)
        sim.unplug()
        assert sink.wait_for(lambda s: LinkState.LOST in s.states(), timeout=10.0)
        unplugged = time.time()
        sim.replug()  # the monitor starts over: it needs a new association
        assert sink.wait_for(
            lambda s: any(r.t > unplugged for r in s.readings(mdc.MDC_PULS_OXIM_SAT_O2)),
            timeout=10.0,
        )
    finally:
        link.stop()
    after = [r for r in sink.readings(mdc.MDC_PULS_OXIM_SAT_O2) if r.t > unplugged]
    assert all(not math.isnan(r.value) and 90 <= r.value <= 100 for r in after)
