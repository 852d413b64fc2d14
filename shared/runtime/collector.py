"""The cyclic garbage collector tuned for a service process, and paused for bulk work.

A projector batch or an import keeps a thousand parsed events alive at once; with Python's
default thresholds (a young collection every 700 allocations) the collector then runs every
few events and, every tenth time, walks the whole heap — the modules and their objects loaded at
start included. Measured on a rebuild's events (bench/README.md), parsing and decoding took
43 µs an event with the defaults, 29 µs once the start-up objects were frozen out of the
collector's walks, and 23 µs with young collections every 50,000 allocations as well — the same
as with the collector off. Reference cycles are still collected, just less often.

Bulk work (a survey import, a replay) pauses the collector altogether: it keeps thousands of
parsed events alive at once, none of them in a reference cycle, so reference counting frees it
all and each collection would only walk it. Measured: a tenth of an import row's cost, and a
fifth of a replayed event's even with the thresholds above (bench/README.md). The pause defers
the collection of other code's cycles until the last bulk job running in the process ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

YOUNG_THRESHOLD = 50_000


def tune_collector() -> None:
    """Freeze what exists now (call after start-up) and collect the young generation less often."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, old)


_lock = threading.Lock()
_holders = 0
_was_enabled = False


@contextmanager
def collector_paused() -> Iterator[None]:
    global _holders, _was_enabled
    with _lock:
        if _holders == 0:
            _was_enabled = gc.isenabled()
            gc.disable()
        _holders += 1
    try:
        yield
    finally:
        with _lock:
            _holders -= 1
            if _holders == 0 and _was_enabled:
                gc.enable()
