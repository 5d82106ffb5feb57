"""The serving model as Keras 3 layers, for apps whose ``keras`` is Keras 3 (what TensorFlow 2.16+
installs): ``keras.models.load_model("<version>/keras/fame.keras")`` returns a model that maps raw
string histories [B, T] to the same ``item_ids``, ``scores`` and ``facet_weights`` as the
SavedModel's ``serving_default``. The computation is ``fame_tf.core``'s, as in the tf_keras model;
these classes only bind it to Keras 3. Strings in, so the TensorFlow backend only.

``import fame_tf`` registers these classes (Keras imports no module of a file by itself, except its
own packages); loading needs no tf_keras and works with ``safe_mode`` on (no Lambda layers).
Without the import, Keras's error quotes the object's config, which begins with this module's name.
"""

from __future__ import annotations

import os
import sys

from fame_tf import backend  # noqa: F401  (first: TensorFlow loads with its Keras switch set, before Keras 3)
import keras  # noqa: E402  (isort: skip)

from fame_tf import core, core_layers
from fame_tf.contract import KERAS_FILE

PACKAGE = "fame_tf_keras3"


class _Keras3:
    keras_module = keras
    parts = sys.modules[__name__]


@keras.saving.register_keras_serializable(package=PACKAGE)
class ItemPositionEmbedding(_Keras3, core_layers.ItemPositionEmbeddingMixin, keras.layers.Layer):
    __doc__ = core_layers.ItemPositionEmbeddingMixin.__doc__


@keras.saving.register_keras_serializable(package=PACKAGE)
class ExpertAttention(_Keras3, core_layers.ExpertAttentionMixin, keras.layers.Layer):
    __doc__ = core_layers.ExpertAttentionMixin.__doc__


@keras.saving.register_keras_serializable(package=PACKAGE)
class PositionwiseFeedForward(_Keras3, core_layers.PositionwiseFeedForwardMixin, keras.layers.Layer):
    __doc__ = core_layers.PositionwiseFeedForwardMixin.__doc__


@keras.saving.register_keras_serializable(package=PACKAGE)
class TransformerBlock(_Keras3, core_layers.TransformerBlockMixin, keras.layers.Layer):
    __doc__ = core_layers.TransformerBlockMixin.__doc__


@keras.saving.register_keras_serializable(package=PACKAGE)
class FacetGate(_Keras3, core_layers.FacetGateMixin, keras.layers.Layer):
    __doc__ = core_layers.FacetGateMixin.__doc__


@keras.saving.register_keras_serializable(package=PACKAGE)
class FacetItemProjection(_Keras3, core_layers.FacetItemProjectionMixin, keras.layers.Layer):
    __doc__ = core_layers.FacetItemProjectionMixin.__doc__


@keras.saving.register_keras_serializable(package=PACKAGE)
class Encoder(_Keras3, core.EncoderMixin, keras.Model):
    __doc__ = core.EncoderMixin.__doc__


@keras.saving.register_keras_serializable(package=PACKAGE)
class Recommender(_Keras3, core.RecommenderMixin, keras.Model):
    __doc__ = core.RecommenderMixin.__doc__

    def build(self, input_shape=None):
        """Everything was built in ``__init__`` (loading calls this with the saved input shape)."""
        self.built = True


def _name(variable) -> str:
    return variable.name.split("/")[-1].split(":")[0]


def convert(recommender) -> Recommender:
    """The Keras 3 twin of a tf_keras ``fame_tf.export.FameRecommender``, with its weights."""
    encoder = Encoder(recommender.model.config, name=recommender.model.name)
    twin = Recommender(encoder, recommender.vocabulary, recommender.k, name=recommender.name)
    source = [w for w in recommender.model.weights if _name(w) not in core.TRAINING_ONLY_WEIGHTS]
    target = encoder.weights
    if [(_name(w), tuple(w.shape)) for w in source] != [(w.name, tuple(w.shape)) for w in target]:
        raise ValueError("the Keras 3 encoder's weights do not line up with the tf_keras model's")
    for old, new in zip(source, target):
        new.assign(old.numpy())
    twin.candidates.assign(recommender.candidates.numpy())
    twin.build()
    return twin


def save(recommender, export_dir: str) -> str:
    """Writes the Keras 3 twin of ``recommender`` to ``export_dir/keras/fame.keras``; returns the path."""
    path = os.path.join(export_dir, KERAS_FILE)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    convert(recommender).save(path)
    return path
