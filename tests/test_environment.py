import os
import subprocess
import sys


def test_fame_tf_forces_legacy_keras_before_tensorflow_loads():
    code = (
        "import os, sys\n"
        "os.environ.pop('TF_USE_LEGACY_KERAS', None)\n"
        "import fame_tf\n"
        "import tensorflow as tf, tf_keras, tensorflow_recommenders as tfrs\n"
        "m = fame_tf.FameModel(fame_tf.FameConfig(num_items=5, hidden_size=8, num_heads=2))\n"
        "m.build()\n"
        "assert isinstance(m, tf_keras.Model) and isinstance(m, tfrs.Model)\n"
        "assert tf.keras.Model is tf_keras.Model\n"
        "print(os.environ['TF_USE_LEGACY_KERAS'])\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "TF_USE_LEGACY_KERAS"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert out.stdout.strip().endswith("1")
