"""Training under tf.distribute strategies, each in its own process (devices and cluster are fixed
before TensorFlow starts): the CPU split into two replicas must take the same step as one device
(the loss is averaged over the global batch, not per replica), for every objective."""

import json
import os
import socket
import subprocess
import sys


from conftest import TINY_TRAIN, write_rule_data

MIRRORED_STEPS = """
import json, sys
import numpy as np
import fame_tf
from fame_tf import FameConfig, FameModel
from fame_tf.backend import keras, tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
assert mirrored.num_replicas_in_sync == 2

def one_step(config, data, strategy, weights=None):
    with strategy.scope():
        model = FameModel(config)
        model.build()
        if weights is not None:
            model.set_weights(weights)
        start = model.get_weights()
        model.compile(optimizer=keras.optimizers.SGD(0.5))
    model.fit(tf.data.Dataset.from_tensor_slices(data).batch(16), epochs=1, verbose=0)
    return start, model.get_weights()

results = []
for objective in json.loads(sys.argv[1]):
    config = FameConfig(num_items=30, hidden_size=16, num_heads=2, num_experts=2, num_layers=1, max_len=8,
                        dropout=0.0, attention_dropout=0.0, **objective)
    rng = np.random.default_rng(0)
    inputs = rng.integers(0, 31, size=(16, 8)).astype("int32")
    targets = rng.integers(1, 31, size=(16, 8) if config.training_scheme == "every_position" else 16).astype("int32")
    if targets.ndim == 2:
        targets[inputs == 0] = 0  # no target after padding: replicas see different numbers of targets
    data = {"inputs": inputs, "targets": targets}
    start, single = one_step(config, data, tf.distribute.get_strategy())
    _, replicated = one_step(config, data, mirrored, start)
    # The loss summed over the replicas, as their gradients are summed, against the mean of the
    # losses of their shares on one device.
    with mirrored.scope():
        model = FameModel(config)
        model.build()
        model.set_weights(start)
    batch = next(iter(mirrored.experimental_distribute_dataset(tf.data.Dataset.from_tensor_slices(data).batch(16))))
    summed = mirrored.reduce("SUM", mirrored.run(lambda b: model.compute_loss(b), args=(batch,)), axis=None)
    single_model = FameModel(config)
    single_model.build()
    single_model.set_weights(start)
    shares = [float(single_model.compute_loss(share)) for share in mirrored.experimental_local_results(batch)]
    results.append({"step": max(float(np.abs(a - b).max()) for a, b in zip(single, start)),
                    "gap": max(float(np.abs(a - b).max()) for a, b in zip(single, replicated)),
                    "loss": float(summed), "mean_of_shares": float(np.mean(shares))})
print(json.dumps(results))
"""


def _run(code, *args, env=None):
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=600,
                            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **(env or {})})
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


EXACT = [{}, {"fusion": "mixture"}, {"variant": "sasrec"}]  # the same examples on every replica's share
CLOSE = [{"training_scheme": "every_position"}, {"objective": "sampled_softmax"}]


def test_two_replicas_take_the_single_device_step():
    """Full softmax (logit and mixture fusion, FAME and SASRec): the same step as one device. With
    targets at every position the replicas hold different numbers of targets, and the in-batch
    sampled softmax draws its negatives from each replica's share, so their step is not one
    device's; for every objective the loss summed over the replicas (their gradients are summed)
    is the mean of their shares' losses, not twice it."""
    results = _run(MIRRORED_STEPS, json.dumps(EXACT + CLOSE))
    for objective, out in zip(EXACT + CLOSE, results):
        assert out["step"] > 1e-3, (objective, out)  # the step moved the weights
        assert abs(out["loss"] - out["mean_of_shares"]) < 1e-5 * abs(out["mean_of_shares"]), (objective, out)
        if objective in EXACT:
            assert out["gap"] < 0.01 * out["step"], (objective, out)  # a per-replica mean takes twice the step


def _free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_workers_on_loopback_learn_the_rule_data_like_one(tmp_path):
    """`fame-tf train --distribution multi_worker` in two processes (MultiWorkerMirroredStrategy,
    the cluster in TF_CONFIG on 127.0.0.1, as Vertex AI Training sets it) reaches the single
    process's test MRR; the chief writes the run and exports it, the other worker writes only its
    own files under worker-1/."""
    fame_tf = os.path.join(os.path.dirname(sys.executable), "fame-tf")
    common = [fame_tf, "train", "--data", write_rule_data(tmp_path), "--quiet", "--epochs", "5", *TINY_TRAIN]
    single = subprocess.run(common + ["--output", str(tmp_path / "single")], capture_output=True, text=True, timeout=600)
    assert single.returncode == 0, single.stderr[-2000:]
    cluster = {"worker": [f"127.0.0.1:{_free_port()}" for _ in range(2)]}
    # Worker 0 names the strategy; worker 1 leaves it to auto, which finds the cluster in TF_CONFIG.
    workers = [subprocess.Popen(common + ["--output", str(tmp_path / "multi"), "--distribution", distribution],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env={**os.environ, "TF_CONFIG": json.dumps({"cluster": cluster,
                                                                            "task": {"type": "worker", "index": i}})})
               for i, distribution in enumerate(["multi_worker", "auto"])]
    outputs = [worker.communicate(timeout=900) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], [err[-2000:] for _, err in outputs]
    one = json.loads((tmp_path / "single" / "metrics.json").read_text())
    two = json.loads((tmp_path / "multi" / "metrics.json").read_text())
    assert two["test"]["mrr"] > 0.9 and two["test"]["mrr"] >= one["test"]["mrr"] - 0.05, (one["test"], two["test"])
    assert (tmp_path / "multi" / "serving").is_dir() and (tmp_path / "multi" / "worker-1" / "metrics.json").exists()
    assert not (tmp_path / "multi" / "worker-1" / "serving").exists()
    assert "the chief saves and exports" in outputs[1][0]
