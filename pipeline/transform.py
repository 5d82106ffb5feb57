"""TensorFlow Transform: the item vocabulary, the pipeline's only mapping of raw ids to model ids.

``compute_and_apply_vocabulary`` maps raw item ids to 0..V-1 (most frequent first); the model's ids
are that + 1 because 0 is padding, so an id outside the vocabulary becomes padding too. The Trainer
trains on these ids, and the serving model maps raw histories with this same transform graph
(``TransformedHistory``, TFX's usual pattern), so its vocabulary file is an asset of the export;
the model's item ``i`` is its line ``i - 1``.
"""

from __future__ import annotations

import tensorflow_transform as tft

from fame_tf.backend import keras, tf

from pipeline.leave_one_out import ITEMS

VOCABULARY = "items"
ITEM_IDS = "item_ids"


def preprocessing_fn(inputs):
    """``items`` (strings, oldest first) -> ``item_ids`` (int64, 1..V; 0 = unknown)."""
    ids = tft.compute_and_apply_vocabulary(inputs[ITEMS], vocab_filename=VOCABULARY, default_value=-1)
    return {ITEM_IDS: tf.sparse.map_values(tf.add, ids, tf.constant(1, tf.int64))}


class TransformedHistory(keras.layers.Layer):
    """History strings [B, T] ("" = padding) -> model ids [B, T] int32 through the Transform graph
    (``preprocessing_fn`` above): the lookup of the serving model that the pipeline exports."""

    def __init__(self, transform_output: tft.TFTransformOutput, **kwargs):
        super().__init__(**kwargs)
        self.transform = transform_output.transform_features_layer()

    def call(self, history):
        items = tf.sparse.from_dense(history)  # drops the "" padding; positions are kept
        ids = self.transform({ITEMS: items})[ITEM_IDS]
        return tf.cast(tf.sparse.to_dense(ids), tf.int32)
