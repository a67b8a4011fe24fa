"""Value times for checks are kept in order in an array (memory per session hour), and the
schedule reads them as it read the sorted lists."""

from __future__ import annotations

import bisect
import random

import numpy as np

from console.core.dosing.checks import Times
from console.core.growth import GROW_MAX


def test_times_stay_in_order_as_a_sorted_list_would() -> None:
    rnd = random.Random(3)
    times, ref = Times(), list[float]()
    for _ in range(2000):
        t = rnd.choice([rnd.uniform(0, 1000), 1000 + len(ref)])  # mostly in order
        times.add(t)
        bisect.insort(ref, t)
    times.extend(np.array([5.5, 3000.0, 2.0]))
    ref = sorted([*ref, 5.5, 3000.0, 2.0])
    assert len(times) == len(ref) and list(times) == ref
    for lo in (-1.0, 2.0, 500.0, 2999.0, 4000.0):
        assert bisect.bisect_left(times, lo) == bisect.bisect_left(ref, lo)
    assert times[-1] == 3000.0 and isinstance(times[0], float)


def test_times_grow_by_at_most_grow_max_once_long() -> None:
    times = Times()
    for i in range(8 * 3600):  # a parameter sent every second for eight hours
        times.add(float(i))
        assert len(times._a) - len(times) <= GROW_MAX
    assert list(times[-3:]) == [28797.0, 28798.0, 28799.0]
