"""The serving export: a SavedModel that maps raw item-id strings to the top-K next items.

``FameRecommender`` wraps a trained ``FameModel`` with a ``StringLookup`` over the vocabulary and a
brute-force ``tf.math.top_k`` over the full candidate matrix, so the export uses stock TF ops only
and the official TensorFlow Serving image serves it. Signatures (all return ``item_ids`` string
[B, K], ``scores`` float [B, K] and ``facet_weights`` float [B, H], the FAME gate; SASRec has no gate
and returns an empty [B, 0]):

- ``serving_default``: ``history`` string [B, T], raw item ids oldest first, padded with "".
- ``serving_exclude_history``: the same, but items in the history (all of it, also those older
  than ``max_len``) are never recommended.
- ``serving_examples``: ``examples`` string [B], serialized ``tf.Example`` with a ``history``
  bytes feature (oldest first), for batch scoring (BulkInferrer style).

Unknown ids and "" are dropped (not errors); the most recent ``max_len`` known items are kept; an
empty history still gets K items (the model's answer for an all-padding sequence). When the history
excludes so many items that fewer than K remain, the tail of the list scores ``layers.MASKED``.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Dict, List, Optional, Sequence

from fame_tf._keras import keras, tf
from fame_tf.contract import DEFAULT_K
from fame_tf.layers import MASKED, PACKAGE
from fame_tf.model import PADDING_ID, FameModel

HISTORY = "history"
EXAMPLES = "examples"
SIGNATURES = ("serving_default", "serving_exclude_history", "serving_examples")


def compact_history(ids: tf.Tensor, max_len: int) -> tf.Tensor:
    """Left-pads [B, T] ids (0 = unknown/padding, anywhere) into [B, L], L <= max_len: the known
    items keep their order, the most recent ``max_len`` are kept, L is the longest such row
    (at least 1). Positions count from the most recent item, so trimming shared padding changes
    no output."""
    known = ids != PADDING_ID
    rank = tf.cumsum(tf.cast(known, tf.int32), axis=1, reverse=True)  # 1 = most recent known item
    keep = known & (rank <= max_len)
    length = tf.maximum(tf.reduce_max(tf.reduce_sum(tf.cast(keep, tf.int32), axis=1)), 1)
    rows = tf.broadcast_to(tf.range(tf.shape(ids)[0])[:, None], tf.shape(ids))
    indices = tf.stack([tf.boolean_mask(rows, keep), length - tf.boolean_mask(rank, keep)], axis=1)
    return tf.scatter_nd(indices, tf.boolean_mask(ids, keep), tf.stack([tf.shape(ids)[0], length]))


@keras.utils.register_keras_serializable(package=PACKAGE)
class FameRecommender(keras.Model):
    """``history`` strings [B, T] -> ``{"item_ids", "scores", "facet_weights"}`` (see module doc).

    ``vocabulary[i]`` is the raw id of model item ``i + 1``. ``lookup`` maps a history to model ids
    ([B, T] int, 0 for "" and unknown ids); by default a ``StringLookup`` over ``vocabulary``. The
    pipeline passes the Transform graph itself, so the served mapping is the Transform's, whose
    vocabulary file ``vocabulary`` was read from; a model revived from its config gets the default."""

    def __init__(self, model: FameModel, vocabulary: Sequence[str], k: int = DEFAULT_K,
                 lookup: Optional[keras.layers.Layer] = None, **kwargs):
        super().__init__(**kwargs)
        vocabulary = [str(item) for item in vocabulary]
        if len(vocabulary) != model.config.num_items:
            raise ValueError(f"vocabulary has {len(vocabulary)} items, the model {model.config.num_items}")
        if "" in vocabulary:
            raise ValueError('"" cannot be an item id: it is the padding of a history')
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.model = model
        self.vocabulary = vocabulary
        self.k = min(k, len(vocabulary))
        # Out-of-vocabulary (and "") -> 0, the padding id; vocabulary[i] -> i + 1, the model's ids.
        self.lookup = lookup or keras.layers.StringLookup(vocabulary=vocabulary, num_oov_indices=1, mask_token=None)
        self.item_names = tf.constant([""] + vocabulary)
        # The candidate matrix, computed once here instead of on every request (on Beauty it is
        # half of a single request's time). It is a snapshot: build a new recommender after training.
        model.build()
        candidates = model.candidates()
        self.candidates = self.add_weight(name="candidates", shape=candidates.shape, trainable=False,
                                          initializer="zeros")
        self.candidates.assign(candidates)

    def call(self, history, exclude_history: bool = False) -> Dict[str, tf.Tensor]:
        ids = tf.cast(self.lookup(history), tf.int32)
        outputs = self.model(compact_history(ids, self.model.config.max_len), training=False)
        scores = self.model.score_outputs(outputs, self.candidates)
        if exclude_history:
            rows = tf.broadcast_to(tf.range(tf.shape(ids)[0])[:, None], tf.shape(ids))
            seen = tf.reshape(tf.stack([rows, ids], axis=-1), [-1, 2])
            scores = tf.tensor_scatter_nd_update(scores, seen, tf.fill([tf.shape(seen)[0]], MASKED))
        top = tf.math.top_k(scores, k=self.k)
        gate = outputs.get("gate", tf.zeros([tf.shape(ids)[0], 0]))
        return {"item_ids": tf.gather(self.item_names, top.indices), "scores": top.values, "facet_weights": gate}

    def from_examples(self, examples) -> Dict[str, tf.Tensor]:
        """Recommendations for serialized ``tf.Example`` protos with a ``history`` bytes feature."""
        parsed = tf.io.parse_example(examples, {HISTORY: tf.io.VarLenFeature(tf.string)})
        return self(tf.sparse.to_dense(parsed[HISTORY], default_value=""))

    def serving_signatures(self) -> Dict[str, tf.types.experimental.ConcreteFunction]:
        """The three signatures of the module docstring, for ``save(signatures=...)``."""
        history = tf.TensorSpec([None, None], tf.string, name=HISTORY)
        examples = tf.TensorSpec([None], tf.string, name=EXAMPLES)
        return {
            "serving_default": tf.function(lambda history: self(history)).get_concrete_function(history),
            "serving_exclude_history": tf.function(
                lambda history: self(history, exclude_history=True)).get_concrete_function(history),
            "serving_examples": tf.function(lambda examples: self.from_examples(examples)).get_concrete_function(examples),
        }

    def get_config(self):
        return {"model": keras.layers.serialize(self.model), "vocabulary": self.vocabulary, "k": self.k,
                "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = keras.layers.deserialize(config["model"], custom_objects=custom_objects)
        return cls(model, config["vocabulary"], config["k"], name=config.get("name"))


def export_serving_model(model: FameModel, vocabulary: Sequence[str], export_dir: str, k: int = DEFAULT_K,
                         lookup: Optional[keras.layers.Layer] = None) -> str:
    """Writes the serving SavedModel of ``model`` to ``export_dir`` (the directory itself, e.g. a
    TFX Trainer's ``serving_model_dir``); returns ``export_dir``. ``lookup``: see ``FameRecommender``."""
    recommender = FameRecommender(model, vocabulary, k, lookup)
    # save_traces=False: Keras does not trace every layer's call again (7x faster to save);
    # load_model then rebuilds the registered classes from get_config, so apps import fame_tf.export.
    recommender.save(export_dir, save_format="tf", signatures=recommender.serving_signatures(),
                     include_optimizer=False, save_traces=False)
    return export_dir


def versions(base_path: str) -> List[int]:
    """The numbered version directories in ``base_path`` (TF Serving layout), ascending."""
    if not os.path.isdir(base_path):
        return []
    return sorted(int(name) for name in os.listdir(base_path) if name.isdigit())


def export_version(model: FameModel, vocabulary: Sequence[str], base_path: str, version: Optional[int] = None,
                   k: int = DEFAULT_K) -> str:
    """Exports into ``base_path/<version>/`` (TF Serving layout; default version: unix seconds, as
    the TFX Pusher, bumped past the newest existing version). The model is written to a hidden
    sibling directory and renamed into place, so a polling server never sees half a version."""
    os.makedirs(base_path, exist_ok=True)
    existing = versions(base_path)
    if version is None:
        version = max([int(time.time())] + [v + 1 for v in existing])
    elif version in existing:
        raise FileExistsError(f"version {version} already exists in {base_path}")
    staging = tempfile.mkdtemp(prefix=f".{version}-", dir=base_path)
    export_serving_model(model, vocabulary, os.path.join(staging, "model"), k)
    target = os.path.join(base_path, str(version))
    os.rename(os.path.join(staging, "model"), target)
    os.rmdir(staging)
    return target
