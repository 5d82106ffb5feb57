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
excludes so many items that fewer than K remain, the tail of the list scores ``core.MASKED``.
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Dict, List, Optional, Sequence

from fame_tf import core
from fame_tf.backend import keras, tf
from fame_tf.contract import (DEFAULT_K, EXAMPLES, HISTORY, SERVING_DEFAULT, SERVING_EXAMPLES,
                              SERVING_EXCLUDE_HISTORY)
from fame_tf.layers import PACKAGE
from fame_tf.model import FameModel


@keras.utils.register_keras_serializable(package=PACKAGE)
class FameRecommender(core.RecommenderMixin, keras.Model):
    __doc__ = core.RecommenderMixin.__doc__
    keras_module = keras

    def from_examples(self, examples) -> Dict[str, tf.Tensor]:
        """Recommendations for serialized ``tf.Example`` protos with a ``history`` bytes feature."""
        parsed = tf.io.parse_example(examples, {HISTORY: tf.io.VarLenFeature(tf.string)})
        return self(tf.sparse.to_dense(parsed[HISTORY], default_value=""))

    def serving_signatures(self) -> Dict[str, tf.types.experimental.ConcreteFunction]:
        """The three signatures of the module docstring, for ``save(signatures=...)``."""
        history = tf.TensorSpec([None, None], tf.string, name=HISTORY)
        examples = tf.TensorSpec([None], tf.string, name=EXAMPLES)
        return {
            SERVING_DEFAULT: tf.function(lambda history: self(history)).get_concrete_function(history),
            SERVING_EXCLUDE_HISTORY: tf.function(
                lambda history: self(history, exclude_history=True)).get_concrete_function(history),
            SERVING_EXAMPLES: tf.function(lambda examples: self.from_examples(examples)).get_concrete_function(examples),
        }


def export_serving_model(model: FameModel, vocabulary: Sequence[str], export_dir: str, k: int = DEFAULT_K,
                         lookup: Optional[keras.layers.Layer] = None) -> str:
    """Writes the serving SavedModel of ``model`` to ``export_dir`` (the directory itself, e.g. a
    TFX Trainer's ``serving_model_dir``, which the Pusher copies whole) and its Keras 3 twin to
    ``export_dir/keras/fame.keras`` (``fame_tf.keras3``); returns ``export_dir``. ``lookup``: see
    ``FameRecommender`` (the twin always maps with ``vocabulary``)."""
    recommender = FameRecommender(model, vocabulary, k, lookup)
    # save_traces=True (a slower save): every layer's call is traced too,
    # so tf_keras.models.load_model revives a working model also in an app that never imports
    # fame_tf; with fame_tf imported it rebuilds our registered classes from get_config instead.
    recommender.save(export_dir, save_format="tf", signatures=recommender.serving_signatures(),
                     include_optimizer=False, save_traces=True)
    from fame_tf import keras3  # not at the top: the command line defers Keras 3 until it exports

    keras3.save(recommender, export_dir)  # beside it, for keras.models.load_model in Keras 3 apps
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
