"""Pausing Python's cyclic garbage collector while a batch is imported.

An import keeps each chunk's aggregates, events and envelopes (some thirty container objects a
row) alive until the chunk is written, so they outlive the young generations and every few
thousand rows the collector walks the whole heap: on the 2-core VMs that was 90–120 µs of a
row's 250 µs (bench/README.md). Nothing an import makes holds a reference cycle, so reference
counting frees it all; the pause only defers the collection of other code's cycles until the
last import running in the process ends.
"""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

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
