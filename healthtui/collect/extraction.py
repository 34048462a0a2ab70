"""Facts for a history walk, streamed: blobs go to the worker processes a chunk at a time and their
facts come back in order as they are ready, so the walk updates its evaluator while the workers
parse, and only a few chunks of blobs are held at once. The workers also encode the facts as they
are stored (JSON), which would otherwise be the walk's job."""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any

from healthtui.collect import scanning

if TYPE_CHECKING:
    from concurrent.futures import Future

    from healthtui.rules.engine import RuleEngine

CHUNK_ITEMS = 64
CHUNK_BYTES = 1 << 20
IN_FLIGHT_PER_WORKER = 4

Item = tuple[Any, str, bytes]  # (key, kind, bytes)
Result = tuple[Any, dict, bytes]  # (key, facts, facts as stored)


def dump(facts: dict) -> bytes:
    """Facts as the database's cache stores them."""
    return json.dumps(facts, separators=(",", ":"), sort_keys=True).encode()


def _extract_chunk(items: list[tuple[str, bytes]]) -> bytes | list:
    engine = scanning._worker_engine
    assert engine is not None
    return scanning._packed([_extract(engine, kind, data) for kind, data in items])


def _extract(engine: RuleEngine, kind: str, data: bytes) -> tuple[dict, bytes]:
    facts = engine.extract(kind, data)
    return facts, dump(facts)


def start_workers(engine: RuleEngine) -> None:
    """Start the worker processes now, while this process has a single thread, so they are forked
    (cheap: they inherit the loaded rules) rather than started from a fork server later."""
    if scanning.workers() > 1:
        scanning._executor(engine).submit(int)


class FactsStream:
    """(key, facts, stored bytes) for each (key, kind, bytes) item, in the items' order.

    With `total` items enough to pay for it, items are taken a chunk at a time and sent to the
    worker processes, several chunks in flight. Else each item is extracted in this process when
    its result is taken, or all at once by `fill()`.
    """

    def __init__(self, engine: RuleEngine, items: Iterable[Item], total: int):
        self.engine = engine
        self._source = iter(items)
        self._items: Iterator[Item] | None = self._source
        # regex rules alone search at C speed: sending the bytes to workers would cost more
        self._parallel = engine.parses_python and scanning._parallel(total, 0)
        self._limit = IN_FLIGHT_PER_WORKER * scanning.workers()
        self._flight: deque[tuple[list, Future]] = deque()
        self._ready: deque[Result] = deque()

    def __iter__(self) -> Iterator[Result]:
        return self

    def fill(self) -> None:
        """Get ahead: top up the chunks in flight; in this process, extract every item now."""
        if self._items is None:
            return
        if not self._parallel:
            self._ready.extend(
                (key, *_extract(self.engine, kind, data)) for key, kind, data in self._items
            )
            self._items = None
            return
        pool = scanning._executor(self.engine)
        while len(self._flight) < self._limit:
            keys, batch, size = [], [], 0
            for key, kind, data in self._items:
                keys.append(key)
                batch.append((kind, data))
                size += len(data)
                if len(batch) >= CHUNK_ITEMS or size >= CHUNK_BYTES:
                    break
            else:
                self._items = None
            if batch:
                self._flight.append((keys, pool.submit(_extract_chunk, batch)))
            if self._items is None:
                return

    def __next__(self) -> Result:
        if self._ready:
            return self._ready.popleft()
        if not self._parallel:
            if self._items is None:
                raise StopIteration
            for key, kind, data in self._items:
                return (key, *_extract(self.engine, kind, data))
            self._items = None
            raise StopIteration
        self.fill()
        if not self._flight:
            raise StopIteration
        keys, future = self._flight.popleft()
        done = scanning._unpacked(future.result())
        self._ready.extend((key, facts, raw) for key, (facts, raw) in zip(keys, done, strict=True))
        self.fill()
        return self._ready.popleft()

    def close(self) -> None:
        """Stop: cancel the chunks not yet started, drop the rest."""
        for _, future in self._flight:
            future.cancel()
        self._flight.clear()
        self._ready.clear()
        self._items = None
        close = getattr(self._source, "close", None)
        if close is not None:
            close()  # a generator reading blobs: end its read now
