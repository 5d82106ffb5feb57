"""The one module that imports TensorFlow; every other module takes ``tf`` (and tf-keras as
``keras``) from here.

Where tf-keras is installed (the training stack), ``TF_USE_LEGACY_KERAS=1`` is set before TensorFlow
first loads: TFRS 0.7 and TensorFlow Transform 1.16 need Keras 2 as ``tf.keras``. Not when
TensorFlow is already loaded: an app that imported it first keeps its ``tf.keras``. ``keras``
(tf-keras) is imported on first use, so the runtime (Keras 3 apps, without tf-keras) never needs it.
"""

import importlib
import importlib.util
import os
import sys

if "tensorflow" not in sys.modules and importlib.util.find_spec("tf_keras") is not None:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
from tensorflow.core.protobuf import saved_model_pb2  # noqa: E402  (the server reads signatures without loading)

__all__ = ["keras", "saved_model_pb2", "tf"]


def __getattr__(name):
    if name == "keras":
        try:
            return importlib.import_module("tf_keras")
        except ImportError as error:
            raise ImportError("training needs tf-keras: pip install 'fame-tf[train]'") from error
    raise AttributeError(f"module 'fame_tf.backend' has no attribute {name!r}")
