"""Apps load the export in their own processes, here in the pinned training environment (the
runtime alone, on a newer Python and TensorFlow: test_app_environment.py): a tf-keras app with
``load_model`` (after ``import fame_tf.export``, which registers the classes, or without it: the
traced calls revive), and Keras 3 apps with ``keras.models.load_model`` on the ``.keras`` twin
(after ``import fame_tf``; no tf_keras loaded) or ``TFSMLayer`` (nothing of ours imported). All
must answer what the ``serving_default`` signature does."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from serving_helpers import exported_base, signature_outputs

HISTORIES = [["3", "4", "5"], ["", "nope", "19"]]

TF_KERAS_APP = """
import json, sys
import fame_tf.export  # registers FameRecommender and the FAME layers
import tf_keras
import tensorflow as tf
model = tf_keras.models.load_model(sys.argv[1])
assert type(model) is fame_tf.export.FameRecommender, type(model)
out = model(tf.constant(json.loads(sys.argv[2])))
print(json.dumps({k: v.numpy().tolist() if v.dtype != tf.string else v.numpy().astype(str).tolist()
                  for k, v in out.items()}))
"""

FORGOTTEN_IMPORT_APP = """
import json, sys
import tf_keras
import tensorflow as tf
model = tf_keras.models.load_model(sys.argv[1])  # fame_tf never imported
assert not [m for m in sys.modules if m.startswith("fame_tf")]
out = model(tf.constant(json.loads(sys.argv[2])))
print(json.dumps({k: v.numpy().tolist() if v.dtype != tf.string else v.numpy().astype(str).tolist()
                  for k, v in out.items()}))
"""

KERAS3_LOAD_MODEL_APP = """
import json, os, sys
import keras
import tensorflow as tf
import fame_tf  # registers the Keras 3 classes; TensorFlow is loaded, so tf.keras stays Keras 3
assert keras.__version__.startswith("3."), keras.__version__
model = keras.models.load_model(os.path.join(sys.argv[1], "keras", "fame.keras"), safe_mode=True)
out = model(tf.constant(json.loads(sys.argv[2])))
assert not [m for m in sys.modules if m.startswith("tf_keras")] and tf.keras.Model is keras.Model
print(json.dumps({k: v.numpy().tolist() if v.dtype != tf.string else v.numpy().astype(str).tolist()
                  for k, v in out.items()}))
"""

KERAS3_APP = """
import json, sys
import keras
import tensorflow as tf
assert keras.__version__.startswith("3."), keras.__version__
layer = keras.layers.TFSMLayer(sys.argv[1], call_endpoint="serving_default")
out = layer(tf.constant(json.loads(sys.argv[2])))
assert not [m for m in sys.modules if m.startswith(("fame_tf", "tf_keras"))]
print(json.dumps({k: v.numpy().tolist() if v.dtype != tf.string else v.numpy().astype(str).tolist()
                  for k, v in out.items()}))
"""


def _run_app(source, legacy_keras):
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    if legacy_keras:
        env["TF_USE_LEGACY_KERAS"] = "1"
    path = os.path.join(exported_base(), "1")
    result = subprocess.run([sys.executable, "-c", source, path, json.dumps(HISTORIES)], env=env,
                            capture_output=True, text=True, timeout=180, cwd="/")
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


@pytest.fixture(scope="module")
def expected():
    return signature_outputs(HISTORIES)


@pytest.mark.parametrize("source,legacy_keras", [(TF_KERAS_APP, True), (FORGOTTEN_IMPORT_APP, True),
                                                  (KERAS3_LOAD_MODEL_APP, False), (KERAS3_APP, False)],
                         ids=["tf_keras.load_model", "tf_keras.load_model_without_fame_tf", "keras3.load_model",
                              "keras3.TFSMLayer"])
def test_app_gets_the_signature_outputs(source, legacy_keras, expected):
    out = _run_app(source, legacy_keras)
    assert out["item_ids"] == expected["item_ids"]
    np.testing.assert_allclose(out["scores"], expected["scores"], rtol=1e-5)  # float32: the same ops, traced apart
    np.testing.assert_allclose(out["facet_weights"], expected["facet_weights"], rtol=1e-5)
