"""Training data streamed from files with tf.data: the pipeline's Trainer reads the Transform's
TFRecords of id sequences this way, so no list of users exists anywhere, on any machine.

``FileData`` is the ``fame_tf.inputs.TrainingData`` of files: its training sequences go through
the same tf.data examples and batches as in-memory data, shuffled through a bounded buffer; the
validation and test cases come in batches; the training-target counts of the sampled softmax.
Each is one pass over its files."""

from __future__ import annotations

from typing import Iterator, Optional, Sequence, Tuple

import numpy as np

from fame_tf.backend import tf
from fame_tf.data import DataReport
from fame_tf.inputs import TrainingData, windows

SHUFFLE_BUFFER = 1 << 18  # training examples held for shuffling (about 50 MB at max_len 50)


def id_sequences(file_patterns: Sequence[str], feature: str = "item_ids", compression: str = "GZIP") -> tf.data.Dataset:
    """The int32 id sequences (oldest first) of the ``feature`` of TFRecord files of tf.Examples."""
    files = sorted(f for pattern in file_patterns for f in tf.io.gfile.glob(pattern))
    if not files:
        raise FileNotFoundError(f"no files match {list(file_patterns)}")
    spec = {feature: tf.io.RaggedFeature(tf.int64)}
    return (tf.data.TFRecordDataset(files, compression_type=compression)
            .map(lambda record: tf.cast(tf.io.parse_single_example(record, spec)[feature], tf.int32)))


class FileData(TrainingData):
    """Leave-one-out parts in TFRecord files (the pipeline's ``train`` part: a user's training
    items; ``eval``/``test``: the history, then the target)."""

    def __init__(self, train_files: Sequence[str], validation_files: Sequence[str], test_files: Sequence[str],
                 num_items: int, max_len: int, feature: str = "item_ids", source: str = "TFRecord files"):
        self.files = {"train": train_files, "validation": validation_files, "test": test_files}
        self.num_items, self.max_len, self.feature = num_items, max_len, feature
        users, interactions = (int(n) for n in self._sequences("validation").reduce(
            (np.int64(0), np.int64(0)), lambda acc, s: (acc[0] + 1, acc[1] + tf.cast(tf.shape(s)[0] + 1, tf.int64))))
        self.report = DataReport(source=source, users=users, items=num_items, interactions=interactions)

    def _sequences(self, part: str) -> tf.data.Dataset:
        return id_sequences(self.files[part], self.feature)

    def train_sequences(self) -> tf.data.Dataset:
        return self._sequences("train")

    def shuffle_buffer(self, count: int) -> int:
        return min(count, SHUFFLE_BUFFER)

    def item_counts(self) -> np.ndarray:
        """How often each id is a training target (index 0: padding)."""
        size = self.num_items + 1
        return self._sequences("train").reduce(
            tf.zeros(size, tf.float32),
            lambda counts, s: counts + tf.math.bincount(s[1:], minlength=size, maxlength=size, dtype=tf.float32)).numpy()

    def cases(self, part: str, batch_size: int) -> Tuple[Iterator[Tuple[np.ndarray, np.ndarray, np.ndarray]], Optional[int]]:
        """``(history [B, max_len], targets [B], seen [B, S])`` batches of ``part`` ("validation" or
        "test"), and the number of users (known for validation)."""
        cases = self._sequences(part).map(lambda s: {
            "history": windows(s, tf.shape(s)[:1] - 1, self.max_len)[0], "target": s[-1], "seen": s[:-1]})
        batches = cases.padded_batch(batch_size).prefetch(2)
        users = self.report.users if part == "validation" else None
        return ((b["history"].numpy(), b["target"].numpy(), b["seen"].numpy()) for b in batches), users
