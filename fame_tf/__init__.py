"""fame-tf: FAME (Facet-Aware Multi-Head Mixture-of-Experts, WSDM 2025) sequential recommendation
on TensorFlow Recommenders."""

from fame_tf._keras import keras, tf  # noqa: F401  (sets TF_USE_LEGACY_KERAS before TensorFlow loads)
from fame_tf.config import ConfigError, FameConfig
from fame_tf.model import FameModel
from fame_tf import export  # noqa: E402  (registers FameRecommender so load_model revives exports)

__all__ = ["ConfigError", "FameConfig", "FameModel", "export"]
__version__ = "0.1.0"
