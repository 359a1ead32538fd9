"""Memoise a derived index per snapshot, so every rule of one audit shares one computation.

A snapshot is immutable but not hashable (its mappings are read-only proxies), so entries are
keyed by identity; the snapshot itself is kept in the entry so its id cannot be reused while
the entry lives. Only the last few snapshots are kept: an audit evaluates one snapshot.
"""

from __future__ import annotations

import functools
import threading
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, TypeVar

from stack_auditor.model import StackSnapshot

T = TypeVar("T")

_KEEP = 4


def per_snapshot(build: Callable[[StackSnapshot], T]) -> Callable[[StackSnapshot], T]:
    """Decorator: ``build(snapshot)`` runs once per snapshot; later calls return its value."""
    entries: OrderedDict[int, tuple[StackSnapshot, Any]] = OrderedDict()
    lock = threading.Lock()

    @functools.wraps(build)
    def cached(snapshot: StackSnapshot) -> T:
        key = id(snapshot)
        with lock:
            entry = entries.get(key)
            if entry is not None and entry[0] is snapshot:
                entries.move_to_end(key)
                hit: T = entry[1]
                return hit
        value = build(snapshot)
        with lock:
            entries[key] = (snapshot, value)
            while len(entries) > _KEEP:
                entries.popitem(last=False)
        return value

    return cached
