"""Server-side batching, as TF Serving's ``--enable_batching``: calls run on one worker thread, and
calls of the same signature that queue up while it is busy run as one batch (up to
``max_batch_size`` rows). A lone request never waits for company, so batching adds no latency at
low load and, at concurrency 8 on 2 cores, roughly halves the model time per history.

Inputs of a batch are padded along their non-batch dimensions to the longest one, with "" for
strings and 0 otherwise (TF Serving's ``pad_variable_length_inputs``): the FAME export ignores ""
in a history, so its answers do not change. If a merged call fails, its requests run one by one,
so a bad request fails alone."""

from __future__ import annotations

import collections
import queue
import threading
from typing import Dict, List, Optional

from fame_tf._keras import tf


class _Call:
    def __init__(self, function, tensors: Dict[str, tf.Tensor]):
        self.function, self.tensors = function, tensors
        first = next(iter(tensors.values()), None)
        self.rows = int(first.shape[0]) if first is not None and first.shape.rank else None  # None: unbatchable
        self.done = threading.Event()
        self.outputs: Optional[Dict[str, tf.Tensor]] = None
        self.error: Optional[BaseException] = None


def _pad(tensor: tf.Tensor, shape: List[int]) -> tf.Tensor:
    paddings = [[0, 0]] + [[0, size - have] for size, have in zip(shape[1:], tensor.shape[1:])]
    return tf.pad(tensor, paddings, constant_values="" if tensor.dtype == tf.string else 0)


class Batcher:
    def __init__(self, max_batch_size: int):
        self.max_batch_size = max_batch_size
        self._queue: "queue.SimpleQueue[Optional[_Call]]" = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="batcher", daemon=True)
        self._thread.start()

    def __call__(self, function, tensors: Dict[str, tf.Tensor]) -> Dict[str, tf.Tensor]:
        """``function(**tensors)``, possibly computed in a batch with other requests."""
        call = _Call(function, tensors)
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

    @staticmethod
    def _execute(batch: List[_Call]) -> None:
        if len(batch) > 1:
            try:
                merged = {}
                for name in batch[0].tensors:
                    parts = [call.tensors[name] for call in batch]
                    shape = [max(dims) for dims in zip(*(p.shape.as_list() for p in parts))]
                    merged[name] = tf.concat([_pad(p, shape) for p in parts], axis=0)
                outputs = batch[0].function(**merged)
                split = {name: tf.split(value, [call.rows for call in batch]) for name, value in outputs.items()}
                for i, call in enumerate(batch):
                    call.outputs = {name: parts[i] for name, parts in split.items()}
                    call.done.set()
                return
            except Exception:  # noqa: BLE001  (run them one by one: a bad request fails alone)
                pass
        for call in batch:
            try:
                call.outputs = call.function(**call.tensors)
            except Exception as error:  # noqa: BLE001  (re-raised in the request's thread)
                call.error = error
            call.done.set()
