"""fame-tf: FAME (Facet-Aware Multi-Head Mixture-of-Experts, WSDM 2025) sequential recommendation
on TensorFlow Recommenders.

``import fame_tf`` registers the serving model's Keras 3 classes (``fame_tf.keras3``), so that an app
loads an export with ``keras.models.load_model("<version>/keras/fame.keras")``, as it does keras-hub
and keras-rs models. That part needs only TensorFlow and Keras 3 (``pip install fame-tf``); training,
the pipeline and the local server are extras (``fame-tf[train]``, ``fame-tf[pipeline]``, ...).

Where the training stack is installed (tf-keras), ``TF_USE_LEGACY_KERAS=1`` is set before TensorFlow
first loads: TFRS 0.7 and TensorFlow Transform 1.16 need Keras 2 as ``tf.keras``. Not when
TensorFlow is already loaded: that app keeps its ``tf.keras``.

The ``fame-tf`` command line defers the Keras 3 classes: its ``--help`` answers without loading
TensorFlow, and none of its commands reads a ``.keras`` file."""

import importlib
import importlib.util
import os
import sys

if "tensorflow" not in sys.modules and importlib.util.find_spec("tf_keras") is not None:
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


if "fame_cli" not in sys.modules:
    from fame_tf import keras3  # noqa: E402,F401  (registers the classes with Keras 3)
