"""fame-tf: FAME (Facet-Aware Multi-Head Mixture-of-Experts, WSDM 2025) sequential recommendation
on TensorFlow Recommenders.

Importing the package is cheap: TensorFlow loads with the first model, layer or export it hands
out (so ``fame-tf --help`` answers at once), and always after ``TF_USE_LEGACY_KERAS=1`` is set."""

import importlib
import os

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")  # TFRS 0.7 and TFT 1.16 need Keras 2 as tf.keras

__all__ = ["ConfigError", "FameConfig", "FameModel", "export", "keras", "tf"]
__version__ = "0.1.0"

_HOMES = {"ConfigError": "fame_tf.config", "FameConfig": "fame_tf.config", "FameModel": "fame_tf.model",
          "keras": "fame_tf._keras", "tf": "fame_tf._keras"}


def __getattr__(name):
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    if name == "export":
        return importlib.import_module("fame_tf.export")
    raise AttributeError(f"module 'fame_tf' has no attribute {name!r}")
