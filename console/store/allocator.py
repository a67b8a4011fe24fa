"""The C allocator: fewer arenas, and freed memory handed back after big jobs (glibc only).

Why: a live session's RSS grew in steps that were neither Python objects nor SQLite's caches
but glibc's malloc keeping memory it had been given back. glibc gives every thread that
allocates an arena of its own (up to eight per core: the writer, each link, the simulator,
the backup, Qt's pooled threads, ...), and an arena keeps the pages a big job freed: the
start-up backup left ~9 MB behind in the backup thread's arena, and each job after it grew
another arena where the previous one had room. Two arenas (the main thread's and one shared
by the others) keep the same memory in fewer places, so what one job frees the next reuses
(the threads mostly take turns under the GIL, so they hardly wait for each other); and
`release()` after a big job (a backup, a report, an export, resuming a session) hands the
free pages of every arena back to the system (`malloc_trim`).

Nothing here changes what is stored or shown. Elsewhere than on glibc (macOS, Windows, musl)
both calls do nothing; a MALLOC_ARENA_MAX or GLIBC_TUNABLES chosen by whoever starts the
console is left as it is.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading

ARENA_MAX = 2  # the main thread's arena and one for every other thread
_M_ARENA_MAX = -8  # mallopt's parameter number (malloc.h)

_lock = threading.Lock()
_libc: ctypes.CDLL | None = None
_looked = False


def _glibc() -> ctypes.CDLL | None:
    """The C library when it is glibc (it has mallopt, malloc_trim and says its version)."""
    global _libc, _looked
    with _lock:
        if not _looked:
            _looked = True
            if sys.platform.startswith("linux"):
                try:
                    libc = ctypes.CDLL(None)
                    if all(hasattr(libc, f) for f in ("gnu_get_libc_version", "mallopt",
                                                      "malloc_trim")):
                        libc.mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
                        libc.mallopt.restype = ctypes.c_int
                        libc.malloc_trim.argtypes = [ctypes.c_size_t]
                        libc.malloc_trim.restype = ctypes.c_int
                        _libc = libc
                except OSError:
                    _libc = None
        return _libc


def _chosen_outside() -> bool:
    return "MALLOC_ARENA_MAX" in os.environ or \
        "glibc.malloc.arena_max" in os.environ.get("GLIBC_TUNABLES", "")


def tune() -> bool:
    """At start, before the console's threads: at most ARENA_MAX arenas. True when set."""
    libc = _glibc()
    if libc is None or _chosen_outside():
        return False
    return bool(libc.mallopt(_M_ARENA_MAX, ARENA_MAX))


def release() -> bool:
    """After a big job: give the free pages of every arena back to the system. Costs a few
    milliseconds (it walks the free lists); True when something was given back."""
    libc = _glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
