"""The growing curve arrays: a stored history added at once draws exactly as the same points
appended one by one (gaps included), so a resumed timeline looks like a live one."""

from __future__ import annotations

import itertools

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from console.ui.series import Series

times = st.lists(st.floats(0, 3600, allow_nan=False), max_size=60).map(sorted)


@given(times, st.sampled_from([None, 5.0, 30.0]), st.integers(0, 60))
def test_extend_equals_appending_one_by_one(ts: list[float], gap: float | None, k: int) -> None:
    vs = [float(i % 7) for i in range(len(ts))]
    k = min(k, len(ts))
    one, many = Series(gap), Series(gap)
    for t, v in zip(ts, vs, strict=True):
        one.append(t, v)
    for t, v in zip(ts[:k], vs[:k], strict=True):
        many.append(t, v)
    many.extend(np.array(ts[k:]), np.array(vs[k:]))
    (t1, v1), (t2, v2) = one.arrays(), many.arrays()
    assert np.array_equal(t1, t2) and np.array_equal(v1, v2, equal_nan=True)
    if gap is not None:  # a silence longer than the gap is drawn as a break
        breaks = int(np.isnan(v1).sum())
        assert breaks == sum(1 for a, b in itertools.pairwise(ts) if b - a > gap)


def test_a_long_curve_grows_an_hour_at_a_time_not_by_doubling() -> None:
    """Eight hours at 1 Hz: the arrays never hold more than GROW_MAX points of spare room
    once past it, and every point appended is there in order."""
    from console.ui.series import GROW_MAX

    s = Series(gap=None)
    sizes = set()
    for i in range(8 * 3600):
        s.append(float(i), float(i % 90))
        sizes.add(len(s.t))
        assert len(s.t) - s.n <= max(GROW_MAX, 1024)
    t, _ = s.arrays()
    assert s.n == 8 * 3600 and np.array_equal(t, np.arange(8 * 3600, dtype=float))
    steps = sorted(sizes)
    assert all(b - a <= GROW_MAX for a, b in itertools.pairwise(steps))
    s.extend(np.arange(8 * 3600, 9 * 3600, dtype=float), np.zeros(3600))  # a history's worth
    assert len(s.t) - s.n <= GROW_MAX and s.arrays()[0][-1] == 9 * 3600 - 1
