"""An app as people write them today: the newest Python here besides 3.10, the newest TensorFlow and
Keras that install on it, and ``pip install fame-tf`` (the runtime, no extras) from this checkout, in
``.venv-app`` (``tools/ensure_app_venv.sh``, cached like ``.venv``). There, ``import fame_tf`` then
``keras.models.load_model`` loads a ``.keras`` file that the pinned training stack wrote, ``TFSMLayer``
calls the SavedModel, and the REST client queries the local server: all answer what the
``serving_default`` signature does."""

import json
import os
import subprocess

import numpy as np
import pytest

from fame_tf.contract import MODEL_NAME
from serving.server import serve
from serving_helpers import exported_base, signature_outputs

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HISTORIES = [["3", "4", "5"], ["", "nope", "19"]]
TRAINING_STACK = ("tf_keras", "tensorflow_recommenders", "tfx", "apache_beam", "tensorflow_transform")

APP = """
import importlib.util, json, os, sys
import fame_tf
import keras
import tensorflow as tf
from serving.client import RecommenderClient

path, url, histories, stack = sys.argv[1], sys.argv[2], json.loads(sys.argv[3]), json.loads(sys.argv[4])

def plain(out):
    return {k: v.numpy().astype(str).tolist() if v.dtype == tf.string else v.numpy().tolist() for k, v in out.items()}

model = keras.models.load_model(os.path.join(path, "keras", "fame.keras"))
layer = keras.layers.TFSMLayer(path, call_endpoint="serving_default")
served = RecommenderClient(url, "fame").recommend_batch(histories)
print(json.dumps({
    "load_model": plain(model(tf.constant(histories))),
    "TFSMLayer": plain(layer(tf.constant(histories))),
    "client": [{"item_ids": r.items, "scores": r.scores, "facet_weights": r.facet_weights} for r in served],
    "installed": [m for m in stack if importlib.util.find_spec(m) is not None],
    "loaded": sorted({m.split(".")[0] for m in sys.modules} & set(stack)),
    "tf_keras_is_keras3": tf.keras.Model is keras.Model,
    "versions": {"python": sys.version.split()[0], "tensorflow": tf.__version__, "keras": keras.__version__},
}))
"""

FORGOTTEN_IMPORT = """
import os, sys
import keras
try:
    keras.models.load_model(os.path.join(sys.argv[1], "keras", "fame.keras"))
except TypeError as error:
    print(str(error)[:600])
else:
    print("loaded without import fame_tf")
"""


@pytest.fixture(scope="module")
def app_python():
    build = subprocess.run([os.path.join(ROOT, "tools", "ensure_app_venv.sh")], capture_output=True, text=True,
                           timeout=1200)
    if build.returncode == 3:
        pytest.skip(f"no app environment: {build.stderr.strip()}")
    assert build.returncode == 0, build.stderr[-3000:]
    return build.stdout.strip().splitlines()[-1]


def _run(python, source, *args):
    env = {k: v for k, v in os.environ.items() if k not in ("TF_USE_LEGACY_KERAS", "PYTHONPATH")}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    result = subprocess.run([python, "-c", source, *args], env=env, capture_output=True, text=True, timeout=300,
                            cwd="/")  # not the checkout: fame_tf must come from the app's install
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def expected():
    return signature_outputs(HISTORIES)


def test_an_app_with_only_the_runtime_gets_the_signature_outputs(app_python, expected):
    server = serve(exported_base(), model_name=MODEL_NAME, port=0).start()
    try:
        url = f"http://127.0.0.1:{server.http.server_address[1]}"
        out = json.loads(_run(app_python, APP, os.path.join(exported_base(), "1"), url, json.dumps(HISTORIES),
                              json.dumps(TRAINING_STACK)))
    finally:
        server.stop()
    print(out["versions"])
    assert out["installed"] == [] and out["loaded"] == [], out  # the runtime only
    assert out["tf_keras_is_keras3"]  # importing fame_tf left the app's tf.keras alone
    assert tuple(map(int, out["versions"]["python"].split(".")[:2])) > (3, 10)
    assert int(out["versions"]["keras"].split(".")[0]) == 3
    served = {name: [row[name] for row in out["client"]] for name in expected}
    for name, got in [("load_model", out["load_model"]), ("TFSMLayer", out["TFSMLayer"]), ("client", served)]:
        assert got["item_ids"] == expected["item_ids"], name
        np.testing.assert_allclose(got["scores"], expected["scores"], atol=1e-5, err_msg=name)
        np.testing.assert_allclose(got["facet_weights"], expected["facet_weights"], atol=1e-5, err_msg=name)


def test_loading_without_import_fame_tf_fails_naming_the_module(app_python):
    message = _run(app_python, FORGOTTEN_IMPORT, os.path.join(exported_base(), "1"))
    assert "Could not locate class 'Recommender'" in message and "'module': 'fame_tf.keras3'" in message, message
