"""fame-tf: FAME (Facet-Aware Multi-Head Mixture-of-Experts, WSDM 2025) sequential recommendation
on TensorFlow Recommenders.

Importing the package is cheap: TensorFlow loads with the first model, layer or export it hands
out (so ``fame-tf --help`` answers at once), and after ``TF_USE_LEGACY_KERAS=1`` is set."""

import importlib
import os
import sys

# TFRS 0.7 and TFT 1.16 need Keras 2 as tf.keras. Not when TensorFlow is already loaded: that app
# (e.g. a Keras 3 app loading the .keras file, which imports fame_tf.keras3) keeps its tf.keras;
# the tf_keras modules (fame_tf._keras) still set it, for apps that have not used tf.keras yet.
if "tensorflow" not in sys.modules:
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")

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
