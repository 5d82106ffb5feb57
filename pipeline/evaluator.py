"""Full-ranking evaluation of the serving model on the test split, and the blessing.

TFMA has no recipe for metrics over the whole catalogue, so this component evaluates the model the
way it is served: the exported ``serving_default`` signature gets each test user's raw history and
returns its top-K over the whole catalogue; the target's position in that list gives HR@K and
NDCG@K for K up to the served K. Working on raw ids also makes a baseline trained on an older
vocabulary comparable.

Blessing (``ModelBlessing`` with the standard ``blessed`` custom property, so the stock Pusher and
``LatestBlessedModelStrategy`` honour it): NDCG@10 must reach ``min_ndcg_at_10`` and must not be
below the baseline's (the latest blessed model, resolved by the pipeline; on the first run there is
none and the threshold alone decides). A candidate that *is* the baseline (a re-run with unchanged
inputs whose Trainer came from the cache) is not blessed again, so it is not pushed twice.
"""

import json
import os
from typing import Dict, List, Tuple

import numpy as np
from tfx import v1 as tfx
from tfx.utils import io_utils, path_utils

from fame_tf import tf
from fame_tf.metrics import DEFAULT_KS, metrics_from_ranks
from fame_tf.training import MONITOR
from pipeline.leave_one_out import ITEMS, TEST, split_files

METRICS_FILE = "metrics.json"


def read_test_sequences(examples) -> Tuple[List[List[str]], List[str]]:
    """Raw (history, target) of every test user, in a stable order."""
    files = tf.io.gfile.glob(split_files(examples, TEST))
    records = tf.data.TFRecordDataset(sorted(files), compression_type="GZIP").batch(4096)
    spec = {ITEMS: tf.io.RaggedFeature(tf.string)}
    sequences = sorted(row for batch in records for row in tf.io.parse_example(batch, spec)[ITEMS].to_list())
    if not sequences:
        raise ValueError(f"the test split of {examples.uri} is empty")
    return [s[:-1] for s in sequences], [s[-1] for s in sequences]


def target_ranks(serving_model_dir: str, histories: List[List[bytes]], targets: List[bytes],
                 batch_size: int = 512) -> Tuple[np.ndarray, int]:
    """0-based rank of each target in the served top-K (K when it is not in the list), and K."""
    serve = tf.saved_model.load(serving_model_dir).signatures["serving_default"]
    ranks, top_k = [], 0
    for start in range(0, len(targets), batch_size):
        # Ragged rows filled with "" (the export ignores "" wherever it is; its compact_history
        # does the model's padding).
        history = tf.ragged.constant(histories[start:start + batch_size], dtype=tf.string).to_tensor(b"")
        item_ids = serve(history=history)["item_ids"].numpy()
        top_k = item_ids.shape[1]
        hits = item_ids == np.array(targets[start:start + batch_size], dtype=object)[:, None]
        ranks.append(np.where(hits.any(axis=1), hits.argmax(axis=1), top_k))
    return np.concatenate(ranks), top_k


def ranking_metrics(serving_model_dir: str, histories, targets) -> Dict[str, float]:
    ranks, top_k = target_ranks(serving_model_dir, histories, targets)
    metrics = metrics_from_ranks(ranks, DEFAULT_KS)
    metrics[f"mrr@{top_k}"] = metrics.pop("mrr")  # ranks beyond the served K are unknown
    return metrics


def decide(metrics: Dict[str, float], baseline_metrics, threshold: float, same_model: bool) -> Tuple[bool, str]:
    value = metrics[MONITOR]
    if same_model:
        return False, "the candidate is already the latest blessed model (unchanged inputs): nothing new to push"
    if value < threshold:
        return False, f"{MONITOR}={value:.4f} is below the threshold {threshold:.4f}"
    if baseline_metrics is None:
        return True, f"{MONITOR}={value:.4f} reaches the threshold {threshold:.4f} (no blessed model yet)"
    if value < baseline_metrics[MONITOR]:
        return False, f"{MONITOR}={value:.4f} regresses against the blessed model's {baseline_metrics[MONITOR]:.4f}"
    return True, (f"{MONITOR}={value:.4f} reaches the threshold {threshold:.4f} and does not regress against "
                  f"the blessed model's {baseline_metrics[MONITOR]:.4f}")


@tfx.dsl.components.component
def RankingEvaluator(
    examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
    model: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model],
    evaluation: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.ModelEvaluation],
    blessing: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.ModelBlessing],
    baseline_model: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model] = None,
    min_ndcg_at_10: tfx.dsl.components.Parameter[float] = 0.0,
):
    """Test-split HR/NDCG@{5,10,20} of ``model`` (and of ``baseline_model``) -> ``evaluation``
    (metrics.json) and ``blessing``."""
    histories, targets = read_test_sequences(examples)
    metrics = ranking_metrics(path_utils.serving_model_path(model.uri), histories, targets)
    same_model = baseline_model is not None and baseline_model.uri == model.uri
    baseline_metrics = None
    if baseline_model is not None and not same_model:
        baseline_metrics = ranking_metrics(path_utils.serving_model_path(baseline_model.uri), histories, targets)
    blessed, reason = decide(metrics, baseline_metrics, min_ndcg_at_10, same_model)
    print(f"evaluator: test {json.dumps({k: round(v, 4) for k, v in metrics.items()})}", flush=True)
    print(f"evaluator: {'BLESSED' if blessed else 'NOT BLESSED'}: {reason}", flush=True)
    report = {"test_users": len(targets), "metrics": metrics, "baseline_metrics": baseline_metrics,
              "baseline_model": baseline_model.uri if baseline_model is not None else None,
              "min_ndcg_at_10": min_ndcg_at_10, "blessed": blessed, "reason": reason}
    io_utils.write_string_file(os.path.join(evaluation.uri, METRICS_FILE), json.dumps(report, indent=2))
    io_utils.write_string_file(os.path.join(blessing.uri, "BLESSED" if blessed else "NOT_BLESSED"), "")
    blessing.set_int_custom_property("blessed", int(blessed))
    blessing.set_string_custom_property("reason", reason)
    blessing.set_string_custom_property("current_model", model.uri)
    blessing.set_int_custom_property("current_model_id", model.id)
    if baseline_model is not None:
        blessing.set_string_custom_property("baseline_model", baseline_model.uri)
        blessing.set_int_custom_property("baseline_model_id", baseline_model.id)
    for name, value in metrics.items():
        evaluation.set_float_custom_property(name, value)
