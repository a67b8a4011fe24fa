"""How the arrays that keep a session's values grow: doubled while small, then an hour of a
1 Hz parameter at a time, into a fresh array that holds nothing but what it must.

`np.resize` was not that: it returned a view of a concatenation twice as big as asked, so an
array kept up to twice its size resident, and `np.concatenate` with `np.empty` wrote (and so
paged in) the spare room at once. `grown` allocates without touching the spare room and
copies only what is held.
"""

from __future__ import annotations

import numpy as np

GROW_MAX = 4096  # points added at most per growth (a little over an hour at 1 Hz)


def capacity(need: int, have: int) -> int:
    """Room for `need` points when `have` is full: doubled while small, then GROW_MAX more at
    a time (at least `need`)."""
    step = max(1, min(have, GROW_MAX))
    return max(need, have + step * -(-(need - have) // step))


def grown(a: np.ndarray, held: int, need: int) -> np.ndarray:
    """`a` with room for `need` items, its first `held` kept (the same array when it fits)."""
    if need <= len(a):
        return a
    out = np.empty(capacity(need, max(len(a), 16)), dtype=a.dtype)
    out[:held] = a[:held]
    return out
