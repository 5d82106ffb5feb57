"""fame-tf: FAME (Facet-Aware Multi-Head Mixture-of-Experts, WSDM 2025) sequential recommendation
on TensorFlow Recommenders.

``import fame_tf`` registers the serving model's Keras 3 classes (``fame_tf.keras3``), so that an app
loads an export with ``keras.models.load_model("<version>/keras/fame.keras")``, as it does keras-hub
and keras-rs models. That part needs only TensorFlow and Keras 3 (``pip install fame-tf``); training,
the pipeline and the local server are extras (``fame-tf[train]``, ``fame-tf[pipeline]``, ...).

TensorFlow itself is imported by ``fame_tf.backend`` only (with tf-keras as ``tf.keras`` where the
training stack is installed; see there).

The ``fame-tf`` command line defers the Keras 3 classes: its ``--help`` answers without loading
TensorFlow, and none of its commands reads a ``.keras`` file."""

import importlib
import sys

__all__ = ["ConfigError", "FameConfig", "FameModel", "export"]
__version__ = "0.1.0"

_HOMES = {"ConfigError": "fame_tf.config", "FameConfig": "fame_tf.config", "FameModel": "fame_tf.model"}


def __getattr__(name):
    if name in _HOMES:
        return getattr(importlib.import_module(_HOMES[name]), name)
    if name == "export":
        return importlib.import_module("fame_tf.export")
    raise AttributeError(f"module 'fame_tf' has no attribute {name!r}")


if "fame_cli" not in sys.modules:
    from fame_tf import keras3  # noqa: E402,F401  (registers the classes with Keras 3)
