"""Training inputs: one tf.data path from id sequences to training batches, for in-memory data
(``ArrayData``, the command line's split) and files (``fame_tf.streams.FileData``, the pipeline)
alike. ``examples`` is the one place that chooses the training scheme."""

from __future__ import annotations

from typing import Iterator, Optional, Tuple

import numpy as np

from fame_tf.backend import tf
from fame_tf.config import FameConfig
from fame_tf.data import SplitData
from fame_tf.metrics import array_batches

LENGTH_BUCKETS = (4, 8, 16, 32)


def windows(sequence: tf.Tensor, ends: tf.Tensor, max_len: int) -> tf.Tensor:
    """The at most ``max_len`` items before each end of a sequence, left-padded with 0.

    Args:
        sequence: [L] item ids.
        ends: [E] positions in ``sequence``; a window holds the items before its end.
        max_len: the width of a window.

    Returns:
        [E, max_len] windows, E = len(ends).
    """
    positions = ends[:, None] - max_len + tf.range(max_len)[None, :]
    return tf.where(positions >= 0, tf.gather(sequence, tf.maximum(positions, 0)), 0)


def prefix_examples(sequences: tf.data.Dataset, max_len: int) -> tf.data.Dataset:
    """One example per prefix of each training sequence (RecBole's and BSARec's scheme).

    Each target gets its own forward pass and dropout noise.

    Args:
        sequences: the training id sequences.
        max_len: the width of ``inputs``.

    Returns:
        Unbatched examples: ``inputs`` [max_len] (the prefix's most recent items) and ``targets`` [],
        the item that follows it.
    """
    def examples(sequence):
        return tf.data.Dataset.from_tensor_slices(
            {"inputs": windows(sequence, tf.range(1, tf.shape(sequence)[0]), max_len), "targets": sequence[1:]})
    return sequences.flat_map(examples)


def every_position_examples(sequences: tf.data.Dataset, max_len: int) -> tf.data.Dataset:
    """One example per training sequence of at least 2 items (SASRec's scheme).

    Args:
        sequences: the training id sequences.
        max_len: the width of ``inputs`` and ``targets``.

    Returns:
        Unbatched examples from each sequence's most recent ``max_len + 1`` items: ``inputs``
        [max_len] and the next item at every position, ``targets`` [max_len] (0: none).
    """
    def example(sequence):
        end = tf.shape(sequence)[0] - 1
        return {"inputs": windows(sequence, tf.stack([end]), max_len)[0],
                "targets": windows(sequence[1:], tf.stack([end]), max_len)[0]}
    return sequences.filter(lambda sequence: tf.shape(sequence)[0] >= 2).map(example)


def examples(sequences: tf.data.Dataset, config: FameConfig) -> tf.data.Dataset:
    """The unbatched training examples of ``config.training_scheme`` from training id sequences.

    Args:
        sequences: the training id sequences.
        config: its ``training_scheme`` (``"prefix"`` or ``"every_position"``) and ``max_len``.

    Returns:
        The examples of ``prefix_examples`` or ``every_position_examples``.
    """
    make = prefix_examples if config.training_scheme == "prefix" else every_position_examples
    return make(sequences, config.max_len)


def trim_padding(features, widths=None):
    """Drops the columns that are padding in every row of a batch.

    Positions count from the most recent item, so the model's outputs do not change, only the work
    does. With ``widths`` the batch keeps the smallest of them that fits, so XLA compiles a handful of
    shapes only.

    Args:
        features: a batch with ``inputs`` [B, T]; every [B, T] feature is trimmed alike, the others
            are kept as they are.
        widths: optional sorted widths to round the trimmed width up to.

    Returns:
        ``features`` with the [B, T] ones cut to their last columns.
    """
    longest = tf.maximum(tf.reduce_max(tf.reduce_sum(tf.cast(features["inputs"] > 0, tf.int32), axis=1)), 1)
    if widths is not None:
        widths = tf.constant(widths)
        longest = tf.reduce_min(tf.boolean_mask(widths, widths >= longest))
    return {name: value[:, -longest:] if value.shape.rank == 2 else value for name, value in features.items()}


def batches(unbatched: tf.data.Dataset, config: FameConfig, shuffle_buffer: int) -> tf.data.Dataset:
    """Batches of examples, shuffled anew every epoch and trimmed of shared padding.

    With ``config.length_buckets`` a batch holds examples of similar length (much less padding;
    batches stay in random order). With ``config.jit_compile`` the trimmed widths are rounded up to
    the bucket boundaries, one XLA compilation per width.

    Args:
        unbatched: the unbatched examples (``examples``).
        config: its ``seed``, ``batch_size``, ``length_buckets``, ``jit_compile`` and ``max_len``.
        shuffle_buffer: the shuffle buffer's size, in examples.

    Returns:
        The prefetched batches.
    """
    dataset = unbatched.shuffle(shuffle_buffer, seed=config.seed, reshuffle_each_iteration=True)
    if config.length_buckets:
        dataset = dataset.bucket_by_sequence_length(
            lambda f: tf.reduce_sum(tf.cast(f["inputs"] > 0, tf.int32)),
            bucket_boundaries=list(LENGTH_BUCKETS),
            bucket_batch_sizes=[config.batch_size] * (len(LENGTH_BUCKETS) + 1),
            no_padding=True,
        )
    else:
        dataset = dataset.batch(config.batch_size)
    widths = None
    if config.jit_compile:  # one XLA compilation per width: round up to the bucket boundaries
        widths = sorted({w for w in LENGTH_BUCKETS if w < config.max_len} | {config.max_len})
    return dataset.map(lambda f: trim_padding(f, widths)).prefetch(tf.data.AUTOTUNE)


class TrainingData:
    """What ``fame_tf.training.fit`` reads: the training id sequences (``train_sequences``), the
    validation and test cases, the training-target counts and the items' attributes. Subclasses say
    where the sequences come from; the examples and batches are built here for all of them."""

    num_items: int
    report: object  # fame_tf.data.DataReport

    def train_sequences(self) -> tf.data.Dataset:
        raise NotImplementedError

    def example_count(self, config: FameConfig) -> int:
        """The number of training examples (one pass over them; subclasses may know it at once)."""
        return int(examples(self.train_sequences(), config).reduce(np.int64(0), lambda count, _: count + 1))

    def shuffle_buffer(self, count: int) -> int:
        return count

    def cache(self, dataset: tf.data.Dataset) -> tf.data.Dataset:
        return dataset

    def batches(self, config: FameConfig) -> Tuple[tf.data.Dataset, int]:
        """The training batches under ``config`` and the number of examples in an epoch."""
        count = self.example_count(config)
        return batches(self.cache(examples(self.train_sequences(), config)), config, self.shuffle_buffer(count)), count

    def item_counts(self) -> np.ndarray:
        raise NotImplementedError

    def item_attributes(self):
        return None

    def cases(self, part: str, batch_size: int) -> Tuple[Iterator, Optional[int]]:
        raise NotImplementedError


class ArrayData(TrainingData):
    """``fit``'s view of an in-memory ``SplitData`` (the command line's reader). Its examples are
    cached after the first epoch and shuffled all at once (a uniform shuffle each epoch)."""

    def __init__(self, split: SplitData):
        self.split, self.num_items, self.report = split, split.num_items, split.report

    def train_sequences(self) -> tf.data.Dataset:
        sequences = self.split.train_sequences
        lengths = np.array([len(s) for s in sequences], np.int64)
        flat = np.concatenate([np.asarray(s, np.int32) for s in sequences] + [np.zeros(0, np.int32)])
        return tf.data.Dataset.from_tensor_slices(tf.RaggedTensor.from_row_lengths(flat, lengths))

    def example_count(self, config: FameConfig) -> int:
        lengths = np.array([len(s) for s in self.split.train_sequences])
        if config.training_scheme == "prefix":
            return int(np.maximum(lengths - 1, 0).sum())
        return int((lengths >= 2).sum())

    def cache(self, dataset: tf.data.Dataset) -> tf.data.Dataset:
        return dataset.cache()

    def item_counts(self) -> np.ndarray:
        return self.split.item_counts()

    def item_attributes(self):
        return self.split.item_attributes

    def cases(self, part: str, batch_size: int) -> Tuple[Iterator, int]:
        split = self.split
        arrays = ((split.valid_history, split.valid_targets, split.valid_seen) if part == "validation"
                  else (split.test_history, split.test_targets, split.test_seen))
        return array_batches(*arrays, batch_size), len(arrays[1])


def train_dataset(data: TrainingData, config: FameConfig) -> tf.data.Dataset:
    """The training batches of ``data`` under ``config``.

    Args:
        data: the training data.
        config: the model's and training's configuration.

    Returns:
        The batches (``TrainingData.batches`` without the example count).
    """
    return data.batches(config)[0]
