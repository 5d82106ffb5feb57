"""Server-side batching, as TF Serving's ``--enable_batching``: calls run on one worker thread, and
calls of the same signature that queue up while it is busy run as one batch (up to
``max_batch_size`` rows). A lone request never waits for company, so batching adds no latency at
low load, and under load one model call serves several requests. Requests are merged and split as
NumPy arrays: a handful of eager TF ops per request would cost more than the model call saves.

Inputs of a batch are padded along their non-batch dimensions to the longest one, with "" for
strings and 0 otherwise (TF Serving's ``pad_variable_length_inputs``): the FAME export ignores ""
in a history, so its answers do not change. If a merged call fails, its requests run one by one,
so a bad request fails alone."""

from __future__ import annotations

import collections
import queue
import threading
from typing import Dict, List, Optional

import numpy as np


Arrays = Dict[str, np.ndarray]


def run(function, arrays: Arrays) -> Arrays:
    """``function(**arrays)`` with NumPy in and out (a signature takes and returns tensors)."""
    return {name: value.numpy() for name, value in function(**arrays).items()}


class _Call:
    def __init__(self, function, arrays: Arrays):
        self.function, self.arrays = function, arrays
        first = next(iter(arrays.values()), None)
        self.rows = first.shape[0] if first is not None and first.ndim else None  # None: unbatchable
        self.done = threading.Event()
        self.outputs: Optional[Arrays] = None
        self.error: Optional[BaseException] = None


def _merge(parts: List[np.ndarray]) -> np.ndarray:
    """Stacks along the batch axis, padding the other axes to the longest part."""
    shape = [sum(p.shape[0] for p in parts)] + [max(dims) for dims in zip(*(p.shape[1:] for p in parts))]
    merged = np.full(shape, b"" if parts[0].dtype == object else 0, dtype=parts[0].dtype)
    row = 0
    for part in parts:
        merged[(slice(row, row + part.shape[0]),) + tuple(slice(0, n) for n in part.shape[1:])] = part
        row += part.shape[0]
    return merged


class Batcher:
    def __init__(self, max_batch_size: int):
        self.max_batch_size = max_batch_size
        self.merged_calls = 0  # calls answered by a model call shared with other calls
        self._queue: "queue.SimpleQueue[Optional[_Call]]" = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="batcher", daemon=True)
        self._thread.start()

    def __call__(self, function, arrays: Arrays) -> Arrays:
        """``run(function, arrays)``, possibly computed in a batch with other requests."""
        call = _Call(function, arrays)
        self._queue.put(call)
        call.done.wait()
        if call.error is not None:
            raise call.error
        return call.outputs

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join()

    def _run(self) -> None:
        waiting: collections.deque = collections.deque()
        while True:
            if not waiting:
                waiting.append(self._queue.get())
            while True:
                try:
                    waiting.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            first = waiting.popleft()
            if first is None:
                return
            batch, rows, rest = [first], first.rows, collections.deque()
            while waiting:
                call = waiting.popleft()
                if (call is not None and rows is not None and call.function is first.function and call.rows is not None
                        and rows + call.rows <= self.max_batch_size):
                    batch.append(call)
                    rows += call.rows
                else:
                    rest.append(call)
            waiting = rest
            self._execute(batch)

    def _execute(self, batch: List[_Call]) -> None:
        if len(batch) > 1:
            try:
                outputs = run(batch[0].function, {name: _merge([call.arrays[name] for call in batch])
                                                  for name in batch[0].arrays})
                row = 0
                for call in batch:
                    call.outputs = {name: value[row:row + call.rows] for name, value in outputs.items()}
                    row += call.rows
                    call.done.set()
                self.merged_calls += len(batch)
                return
            except Exception:  # noqa: BLE001  (run them one by one: a bad request fails alone)
                pass
        for call in batch:
            try:
                call.outputs = run(call.function, call.arrays)
            except Exception as error:  # noqa: BLE001  (re-raised in the request's thread)
                call.error = error
            call.done.set()
