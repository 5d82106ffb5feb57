"""The one place that imports TensorFlow: TFRS 0.7 and TensorFlow Transform 1.16 need Keras 2, so
``TF_USE_LEGACY_KERAS=1`` must be in force before TensorFlow is first imported."""

import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf  # noqa: E402
import tf_keras as keras  # noqa: E402

__all__ = ["keras", "tf"]
