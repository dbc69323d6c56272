"""The process's memory: how many heaps the C allocator may keep for a scan's threads.

glibc's ``malloc`` gives threads that allocate at the same time heaps ("arenas") of their own, up to 8 per
core, and a heap's free pages are seldom returned while any block on them lives. A scan's 16 or more pool
threads each parse API answers, so their blocks (every allocation over 512 bytes: dicts' tables, lists,
strings; Python's own small-object allocator takes the rest) spread over as many heaps, each half empty.
Measured on the 1x benchmark account (docs/benchmarks.md): 23 MB of the peak RSS, for no gain in speed — the
interpreter lock lets only one thread allocate at a time anyway.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger("auditor")

#: ``mallopt``'s parameter for the number of arenas (glibc's malloc.h: ``M_ARENA_MAX``).
_M_ARENA_MAX = -8
#: Arenas a scan keeps: the main one and one for all the threads.
ARENAS = 2

_done = False


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Ask glibc for at most ``arenas`` heaps, once, before the scan starts its threads. True when set; a
    no-op elsewhere (macOS, musl), or when the user chose with ``MALLOC_ARENA_MAX`` (glibc reads it itself)."""
    global _done
    if _done or not sys.platform.startswith("linux"):
        return False
    _done = True
    import os

    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    ok = bool(mallopt(_M_ARENA_MAX, arenas))
    log.debug("malloc arenas limited to %d: %s", arenas, ok)
    return ok
