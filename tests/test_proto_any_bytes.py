"""Every decoder, fed any bytes split anywhere, never raises and never even needs containing.

devices.containment catches what a decoder raises, but that is a backstop: a decoder that hits
it is a decoder with a bug, so here `stats.faults` must stay 0 as well.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devices.drivers import DRIVERS
from devices.physiology import Physiology
from devices.reading import Quality, Reading, WaveChunk
from tests.helpers.pieces import feed_in_pieces


def monitor_bytes(name: str, seconds: float = 3.0) -> bytes:
    """What the driver's own simulated monitor sends, as material for damage."""
    driver = DRIVERS[name]
    dec, mon = driver.make_decoder("m"), driver.make_simulator(Physiology("calm", start=0.0))
    out = bytearray()
    t = 0.0
    while t < seconds:
        mon.receive(dec.outgoing(t), t)
        chunk = mon.produce(t)
        dec.feed(chunk, t)
        out += chunk
        t += 0.02
    return bytes(out)


SAMPLES = {name: monitor_bytes(name) for name in DRIVERS}


@st.composite
def damaged_stream(draw: st.DrawFn, name: str) -> tuple[bytes, list[int]]:
    good = SAMPLES[name]
    start = draw(st.integers(0, max(0, len(good) - 1)))
    data = bytearray(good[start : start + draw(st.integers(0, 3000))])
    for _ in range(draw(st.integers(0, 6))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "noise"]))
        pos = draw(st.integers(0, len(data)))
        if kind == "flip" and pos < len(data):
            data[pos] ^= 1 << draw(st.integers(0, 7))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[pos : pos + draw(st.integers(1, 8))]
        else:
            data[pos:pos] = draw(st.binary(max_size=400))
    cuts = draw(st.lists(st.integers(1, 500), max_size=8))
    return bytes(data), cuts


@pytest.mark.parametrize("name", sorted(DRIVERS))
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.data_too_large])
@given(data=st.data())
def test_any_bytes_never_raise_nor_hit_the_containment(name: str, data: st.DataObject) -> None:
    raw, cuts = data.draw(st.one_of(damaged_stream(name),
                                    st.tuples(st.binary(max_size=2000),
                                              st.lists(st.integers(1, 500), max_size=8))))
    dec = DRIVERS[name].make_decoder("p")
    out = feed_in_pieces(dec, raw, cuts, 0.0, 0.05, talk=True)
    t = 0.05 * (len(cuts) + 1)
    dec.reset()
    dec.outgoing(t)
    assert dec.stats.faults == 0
    for s in out:
        assert isinstance(s, Reading | WaveChunk)
        if isinstance(s, Reading):
            assert isinstance(s.code, int) and isinstance(s.unit, int)
            assert s.quality in Quality and isinstance(s.value, float)
