"""The tf_keras layers of FAME and SASRec (their computation is ``fame_tf.core``'s), each
registered and serializable through ``get_config``."""

from __future__ import annotations

import sys

from fame_tf import core
from fame_tf.backend import keras

PACKAGE = "fame_tf"


class _TfKeras:
    keras_module = keras
    parts = sys.modules[__name__]


@keras.utils.register_keras_serializable(package=PACKAGE)
class ItemPositionEmbedding(_TfKeras, core.ItemPositionEmbeddingMixin, keras.layers.Layer):
    __doc__ = core.ItemPositionEmbeddingMixin.__doc__


@keras.utils.register_keras_serializable(package=PACKAGE)
class ExpertAttention(_TfKeras, core.ExpertAttentionMixin, keras.layers.Layer):
    __doc__ = core.ExpertAttentionMixin.__doc__


@keras.utils.register_keras_serializable(package=PACKAGE)
class PositionwiseFeedForward(_TfKeras, core.PositionwiseFeedForwardMixin, keras.layers.Layer):
    __doc__ = core.PositionwiseFeedForwardMixin.__doc__


@keras.utils.register_keras_serializable(package=PACKAGE)
class TransformerBlock(_TfKeras, core.TransformerBlockMixin, keras.layers.Layer):
    __doc__ = core.TransformerBlockMixin.__doc__


@keras.utils.register_keras_serializable(package=PACKAGE)
class FacetGate(_TfKeras, core.FacetGateMixin, keras.layers.Layer):
    __doc__ = core.FacetGateMixin.__doc__


@keras.utils.register_keras_serializable(package=PACKAGE)
class FacetItemProjection(_TfKeras, core.FacetItemProjectionMixin, keras.layers.Layer):
    __doc__ = core.FacetItemProjectionMixin.__doc__
