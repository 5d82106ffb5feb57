"""tf.distribute strategies by name, and where each worker of a multi-worker run writes.

``multi_worker`` is ``MultiWorkerMirroredStrategy`` over the cluster in ``TF_CONFIG`` (what Vertex
AI Training sets on each replica): every worker runs the same training, gradients are all-reduced
each step, and the losses are averaged over the global batch (``FameModel.compute_loss``)."""

from __future__ import annotations

import json
import os

DISTRIBUTIONS = ("auto", "default", "mirrored", "multi_worker")


def strategy(distribution: str):
    """``auto``: MultiWorkerMirroredStrategy when TF_CONFIG names a cluster of several tasks (as
    Vertex AI Training sets it on each replica), else MirroredStrategy when several GPUs are
    visible, else the default strategy; ``default``/``mirrored``/``multi_worker`` force one."""
    from fame_tf.backend import tf  # here: the names above are shown by the command line without TensorFlow

    if distribution not in DISTRIBUTIONS:
        raise ValueError(f"distribution={distribution!r} is not allowed; choose one of {list(DISTRIBUTIONS)}")
    if distribution == "multi_worker" or (distribution == "auto" and _cluster_tasks() > 1):
        return tf.distribute.MultiWorkerMirroredStrategy()
    gpus = tf.config.list_logical_devices("GPU")
    if distribution == "mirrored" or (distribution == "auto" and len(gpus) > 1):
        return tf.distribute.MirroredStrategy()
    return tf.distribute.get_strategy()


def _cluster_tasks() -> int:
    cluster = json.loads(os.environ.get("TF_CONFIG") or "{}").get("cluster", {})
    return sum(len(tasks) for tasks in cluster.values())


def is_chief(chosen) -> bool:
    """Whether this process writes the run's results: always, unless it is a worker other than the
    chief of a multi-worker cluster (the ``chief`` task, or worker 0 when there is none)."""
    resolver = getattr(chosen, "cluster_resolver", None)
    cluster = resolver.cluster_spec().as_dict() if resolver is not None else {}
    if not cluster:
        return True
    if "chief" in cluster:
        return resolver.task_type == "chief"
    return resolver.task_type == "worker" and resolver.task_id == 0


def run_directory(output_dir: str, chosen) -> str:
    """``output_dir`` for the chief; ``output_dir/worker-<id>`` for the other workers, whose
    checkpoints and logs must not overwrite the chief's when all share one path (e.g. on GCS)."""
    if is_chief(chosen):
        return output_dir
    return os.path.join(output_dir, f"worker-{chosen.cluster_resolver.task_id}")
