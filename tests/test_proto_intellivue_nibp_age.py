"""An old cuff result repeated by the monitor must keep its own age (never look fresh)."""

from __future__ import annotations

from devices import mdc
from devices.physiology import Physiology
from devices.protocol import Decoder, SimulatedMonitor
from devices.protocols.intellivue import DRIVER
from devices.reading import Reading

T0 = 1_800_000_000.0


def run(mon: SimulatedMonitor, dec: Decoder, start: float, seconds: float) -> list[Reading]:
    out: list[Reading] = []
    t = start
    while t < start + seconds:
        mon.receive(dec.outgoing(t), t)
        out += [s for s in dec.feed(mon.produce(t), t) if isinstance(s, Reading)]
        t += 0.02
    return out


def test_a_client_that_connects_late_back_dates_the_last_nibp() -> None:
    physio = Physiology("calm", start=T0, nibp_interval=300)  # cuff result at T0 + 2 s
    mon = DRIVER.make_simulator(physio)
    run(mon, DRIVER.make_decoder("first"), T0, 40.0)
    late = DRIVER.make_decoder("late")  # e.g. the cable re-plugged 40 s later
    got = [r for r in run(mon, late, T0 + 40.0, 10.0)
           if r.code == mdc.MDC_PRESS_BLD_NONINV_SYS]
    assert got, "the last cuff result is still reported"
    assert abs(got[0].t - (T0 + 2.0)) < 1.0, "stamped at its measurement, ~38 s before arrival"
