"""The tf_keras layers of FAME and SASRec (their computation is ``fame_tf.core``'s), each
registered and serializable through ``get_config``."""

from __future__ import annotations

import sys

from fame_tf import core_layers
from fame_tf.backend import keras

PACKAGE = "fame_tf"


class _TfKeras:
    keras_module = keras
    parts = sys.modules[__name__]


@keras.utils.register_keras_serializable(package=PACKAGE)
class ItemPositionEmbedding(_TfKeras, core_layers.ItemPositionEmbeddingMixin, keras.layers.Layer):
    __doc__ = core_layers.ItemPositionEmbeddingMixin.__doc__


@keras.utils.register_keras_serializable(package=PACKAGE)
class ExpertAttention(_TfKeras, core_layers.ExpertAttentionMixin, keras.layers.Layer):
    __doc__ = core_layers.ExpertAttentionMixin.__doc__


@keras.utils.register_keras_serializable(package=PACKAGE)
class PositionwiseFeedForward(_TfKeras, core_layers.PositionwiseFeedForwardMixin, keras.layers.Layer):
    __doc__ = core_layers.PositionwiseFeedForwardMixin.__doc__


@keras.utils.register_keras_serializable(package=PACKAGE)
class TransformerBlock(_TfKeras, core_layers.TransformerBlockMixin, keras.layers.Layer):
    __doc__ = core_layers.TransformerBlockMixin.__doc__


@keras.utils.register_keras_serializable(package=PACKAGE)
class FacetGate(_TfKeras, core_layers.FacetGateMixin, keras.layers.Layer):
    __doc__ = core_layers.FacetGateMixin.__doc__


@keras.utils.register_keras_serializable(package=PACKAGE)
class FacetItemProjection(_TfKeras, core_layers.FacetItemProjectionMixin, keras.layers.Layer):
    __doc__ = core_layers.FacetItemProjectionMixin.__doc__
