"""The shown history: a stored history put in front draws exactly as the same values heard
live one by one (breaks included), values come back in time order whatever order they were
typed in, and a long session grows an hour at a time, holding no more than it needs."""

from __future__ import annotations

import itertools
import math

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from console.core.growth import GROW_MAX
from console.core.vitals.shown_history import ShownHistory, Track, gapped
from devices import mdc
from devices.reading import Quality, Reading

HR = mdc.MDC_ECG_HEART_RATE
times = st.lists(st.floats(0, 3600, allow_nan=False), max_size=60, unique=True).map(sorted)


@given(times, st.sampled_from([None, 5.0, 30.0]), st.integers(0, 60))
def test_history_in_front_equals_hearing_it_live(ts: list[float], gap: float | None,
                                                 k: int) -> None:
    vs = [float(i % 7) for i in range(len(ts))]
    k = min(k, len(ts))
    one, many = Track(), Track()
    for t, v in zip(ts, vs, strict=True):
        one.add(t, v)
    for t, v in zip(ts[k:], vs[k:], strict=True):  # heard live, after a restart
        many.add(t, v)
    many.put_before(np.array(ts[:k]), np.array(vs[:k]))  # then the stored part
    (t1, v1), (t2, v2) = gapped(*one.arrays(), gap), gapped(*many.arrays(), gap)
    assert np.array_equal(t1, t2) and np.array_equal(v1, v2, equal_nan=True)
    if gap is not None:  # a silence longer than the gap is drawn as a break
        breaks = int(np.isnan(v1).sum())
        assert breaks == sum(1 for a, b in itertools.pairwise(ts) if b - a > gap)


@given(st.lists(st.floats(0, 3600, allow_nan=False), max_size=80))
def test_values_are_kept_in_time_order_whatever_order_they_come(ts: list[float]) -> None:
    """A manual value typed for an earlier time goes in its place, not at the end."""
    s = Track()
    for i, when in enumerate(ts):
        s.add(when, float(i))
    t, v = s.arrays()
    assert t.tolist() == sorted(ts)
    assert sorted(v.tolist()) == [float(i) for i in range(len(ts))]
    for a, b in zip(t, v, strict=True):  # each value stayed with its own time
        assert ts[int(b)] == a


def test_a_long_session_grows_an_hour_at_a_time_not_by_doubling() -> None:
    """Eight hours at 1 Hz: never more than GROW_MAX points of spare room once past it, every
    value in order, 12 bytes each (time float64, value float32)."""
    s = Track()
    sizes = set()
    for i in range(8 * 3600):
        s.add(float(i), float(i % 90))
        sizes.add(len(s._t))
        assert len(s._t) - s.n <= GROW_MAX
    t, v = s.arrays()
    assert s.n == 8 * 3600 and np.array_equal(t, np.arange(8 * 3600, dtype=float))
    assert v.dtype == np.float32 and s.nbytes <= 12 * (8 * 3600 + GROW_MAX)
    assert all(b - a <= GROW_MAX for a, b in itertools.pairwise(sorted(sizes)))
    h = Track()  # a stored session put in at once takes exactly its size
    h.put_before(np.arange(28_800.0), np.zeros(28_800))
    assert len(h._t) == 28_800


def test_shown_history_keeps_the_session_only_and_breaks_at_what_may_not_be_shown() -> None:
    h = ShownHistory()
    h.reset(since=1000.0)
    v0 = h.version
    bpm = mdc.MDC_DIM_BEAT_PER_MIN
    h.add([Reading(999.0, "mon", HR, 60, bpm),  # the previous patient's: not kept
           Reading(1000.0, "mon", HR, 61, bpm, Quality.VALID),
           Reading(1001.0, "mon", HR, 300, bpm, Quality.INVALID),
           Reading(1002.0, "mon", HR, 62, bpm, Quality.QUESTIONABLE)])
    t, v = h.tracks[HR].arrays()
    assert t.tolist() == [1000.0, 1001.0, 1002.0]
    assert v[0] == 61 and math.isnan(v[1]) and v[2] == 62
    assert h.version > v0 and h.last_time() == 1002.0
    h.add_history(HR, np.array([500.0, 990.0, 995.0, 1000.5]), np.array([1.0, 2.0, 3.0, 4.0]))
    # Nothing older than the session's start, nothing twice (1000.5 is after the first live)
    assert h.tracks[HR].t.tolist() == [1000.0, 1001.0, 1002.0]
    h.add_history(mdc.MDC_PULS_OXIM_SAT_O2, np.array([990.0, 1000.0]), np.array([97.0, 96.0]))
    assert h.tracks[mdc.MDC_PULS_OXIM_SAT_O2].v.tolist() == [96.0]
    h.reset(since=2000.0)
    assert not h.tracks and h.last_time() == -math.inf
