"""TensorFlow Transform: the item vocabulary.

``compute_and_apply_vocabulary`` maps raw item ids to 0..V-1 (most frequent first); the model's ids
are that + 1 because 0 is padding, so an id outside the vocabulary becomes padding too. The
vocabulary file (``VOCABULARY``) is the mapping the serving model applies to raw ids, and the
model's item ``i`` is its line ``i - 1``.
"""

from __future__ import annotations

import tensorflow as tf
import tensorflow_transform as tft

from pipeline.leave_one_out import ITEMS

VOCABULARY = "items"
ITEM_IDS = "item_ids"


def preprocessing_fn(inputs):
    """``items`` (strings, oldest first) -> ``item_ids`` (int64, 1..V; 0 = unknown)."""
    ids = tft.compute_and_apply_vocabulary(inputs[ITEMS], vocab_filename=VOCABULARY, default_value=-1)
    return {ITEM_IDS: tf.sparse.map_values(tf.add, ids, tf.constant(1, tf.int64))}
