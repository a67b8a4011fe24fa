"""The C allocator: big blocks always from the system, and freed pages handed back after big
jobs (glibc only).

Why: a live session's RSS grew in steps that were neither Python objects nor SQLite's caches
but glibc's malloc keeping memory it had been given back. glibc serves a block of 128 KiB or
more with a mapping of its own, returned to the system when freed, but raises that limit to
the size of every such block freed (up to 32 MiB): once Qt's pooled threads had freed a
12 MiB buffer (a few minutes in), every block up to 12 MiB (numpy arrays, the chain's
hashing, a backup's pages) came from the arenas instead, where freed memory stays: each big
job left its arena a few MB larger. `tune()` fixes the limit at 128 KiB, so big blocks go
back when freed, whoever freed the last one; `release()` after a big job (a backup, a report,
an export, resuming a session) hands the free pages of every arena back too (`malloc_trim`).
(Capping the arenas at two, the usual advice, made it worse here: the writer, the links and
Qt's threads then shared the GUI thread's heap, which only shrinks from its top.)

Nothing here changes what is stored or shown. Elsewhere than on glibc (macOS, Windows, musl)
both calls do nothing; a MALLOC_MMAP_THRESHOLD_ or GLIBC_TUNABLES chosen by whoever starts
the console is left as it is.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading

MMAP_THRESHOLD = 128 * 1024  # glibc's own starting value, kept from then on
_M_MMAP_THRESHOLD = -3  # mallopt's parameter number (malloc.h)

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
    return "MALLOC_MMAP_THRESHOLD_" in os.environ or \
        "glibc.malloc.mmap_threshold" in os.environ.get("GLIBC_TUNABLES", "")


def tune() -> bool:
    """At start: blocks of MMAP_THRESHOLD or more are mapped on their own and unmapped when
    freed, for the whole run. True when set."""
    libc = _glibc()
    if libc is None or _chosen_outside():
        return False
    return bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD))


def release() -> bool:
    """After a big job: give the free pages of every arena back to the system. Costs a few
    milliseconds (it walks the free lists); True when something was given back."""
    libc = _glibc()
    return bool(libc.malloc_trim(0)) if libc is not None else False
