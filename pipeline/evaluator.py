"""Full-ranking evaluation of the serving model as a Beam job, and the blessing.

TFMA has no recipe for metrics over the whole catalogue, so this component evaluates the model the
way it is served: the exported ``serving_default`` signature gets each user's raw history and
returns its top-K over the whole catalogue; the target's position in that list gives HR@K and
NDCG@K for K up to the served K. Working on raw ids also makes a baseline trained on an older
vocabulary comparable. It is a Beam job like the other data steps (so it runs on Dataflow): each
worker loads the model once (``DoFn.setup``), ranks batches of users, and the per-batch metric
sums are combined; nothing per user reaches the driver.

Blessing (``ModelBlessing`` with the standard ``blessed`` custom property, so the stock Pusher and
``LatestBlessedModelStrategy`` honour it) is decided on the named split, by default ``eval`` (the
validation users): NDCG@10 must reach ``min_ndcg_at_10`` and must not be below the baseline's (the
latest blessed model, resolved by the pipeline; on the first run there is none and the threshold
alone decides). A candidate that *is* the baseline (a re-run with unchanged inputs whose Trainer came
from the cache) is not blessed again, so it is not pushed twice.
"""

import json
import os
from typing import Dict, Iterable, List, Tuple

import apache_beam as beam
import numpy as np
from tfx import v1 as tfx
from tfx.types import artifact_utils
from tfx.utils import io_utils, path_utils

from fame_tf.backend import tf
from fame_tf.contract import HISTORY, ITEM_IDS, SERVING_DEFAULT
from fame_tf.metrics import DEFAULT_KS, MONITOR, metrics_from_sums, rank_sums
from pipeline.leave_one_out import EVAL, ITEMS, split_files

METRICS_FILE = "metrics.json"
BATCH = 512


def served_ranks(serve, records: List[bytes]) -> Tuple[np.ndarray, int]:
    """Serialized sequence examples (history, then target) -> each target's 0-based rank in the
    served top-K of ``serve`` (a ``serving_default`` signature; K when absent), and K."""
    spec = {ITEMS: tf.io.RaggedFeature(tf.string)}
    sequences = tf.io.parse_example(tf.constant(records), spec)[ITEMS].to_list()
    # Ragged rows filled with "" (the export ignores "" wherever it is; its compact_history
    # does the model's padding).
    histories = tf.ragged.constant([s[:-1] for s in sequences], dtype=tf.string).to_tensor(b"")
    item_ids = serve(**{HISTORY: histories})[ITEM_IDS].numpy()
    top_k = item_ids.shape[1]
    hits = item_ids == np.array([s[-1] for s in sequences], dtype=object)[:, None]
    return np.where(hits.any(axis=1), hits.argmax(axis=1), top_k), top_k


class RankUsers(beam.DoFn):
    """Serialized sequence examples (history, then target) in batches -> the metric sums of the
    targets' ranks in the served top-K (rank K when absent). The model loads once per worker."""

    def __init__(self, serving_model_dir: str):
        self.serving_model_dir = serving_model_dir

    def setup(self):
        self.serve = tf.saved_model.load(self.serving_model_dir).signatures[SERVING_DEFAULT]

    def process(self, records: List[bytes]) -> Iterable[Dict[str, float]]:
        ranks, top_k = served_ranks(self.serve, records)
        yield {**rank_sums(ranks, DEFAULT_KS), "top_k": top_k}


class SumMetrics(beam.CombineFn):
    """Adds up ``RankUsers``' sums (``top_k`` is the same everywhere: kept, not added)."""

    def create_accumulator(self):
        return {}

    def add_input(self, total, sums):
        return {name: value if name == "top_k" else total.get(name, 0.0) + value for name, value in sums.items()}

    def merge_accumulators(self, totals):
        merged = {}
        for total in totals:
            merged = self.add_input(merged, total) if total else merged
        return merged

    def extract_output(self, total):
        return total


def evaluate_models(examples, split: str, models: Dict[str, str], pipeline: beam.Pipeline, output_dir: str
                    ) -> Dict[str, Dict[str, float]]:
    """Metrics of each named serving model on ``split`` of ``examples``, computed by one Beam job."""
    records = pipeline | "Read" >> beam.io.ReadFromTFRecord(split_files(examples, split))
    batches = records | "Batch" >> beam.BatchElements(min_batch_size=BATCH, max_batch_size=BATCH)
    for name, model_dir in models.items():
        _ = (batches | f"Rank[{name}]" >> beam.ParDo(RankUsers(model_dir))
             | f"Sum[{name}]" >> beam.CombineGlobally(SumMetrics())
             | f"Json[{name}]" >> beam.Map(json.dumps)
             | f"Write[{name}]" >> beam.io.WriteToText(os.path.join(output_dir, f"sums-{name}"), shard_name_template=""))
    pipeline.run().wait_until_finish()
    results = {}
    for name in models:
        sums = json.loads(io_utils.read_string_file(os.path.join(output_dir, f"sums-{name}")))
        if not sums.get("count"):
            raise ValueError(f"the {split} split of {examples.uri} is empty")
        top_k = sums.pop("top_k")
        metrics = metrics_from_sums(sums)
        metrics[f"mrr@{int(top_k)}"] = metrics.pop("mrr")  # ranks beyond the served K are unknown
        results[name] = {"users": int(sums["count"]), "metrics": metrics}
    return results


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


@tfx.dsl.components.component(use_beam=True)
def RankingEvaluator(
    examples: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
    model: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model],
    evaluation: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.ModelEvaluation],
    blessing: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.ModelBlessing],
    baseline_model: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Model] = None,
    min_ndcg_at_10: tfx.dsl.components.Parameter[float] = 0.0,
    split: tfx.dsl.components.Parameter[str] = EVAL,
    beam_pipeline: tfx.dsl.components.BeamComponentParameter[beam.Pipeline] = None,
):
    """HR/NDCG@{5,10,20} on ``split`` of ``model`` (and of ``baseline_model``) -> ``evaluation``
    (metrics.json) and ``blessing``."""
    if split not in artifact_utils.decode_split_names(examples.split_names):
        raise ValueError(f"split {split!r} is not one of the examples' {artifact_utils.decode_split_names(examples.split_names)}")
    same_model = baseline_model is not None and baseline_model.uri == model.uri
    models = {"model": path_utils.serving_model_path(model.uri)}
    if baseline_model is not None and not same_model:
        models["baseline"] = path_utils.serving_model_path(baseline_model.uri)
    results = evaluate_models(examples, split, models, beam_pipeline, evaluation.uri)
    metrics = results["model"]["metrics"]
    baseline_metrics = results["baseline"]["metrics"] if "baseline" in results else None
    blessed, reason = decide(metrics, baseline_metrics, min_ndcg_at_10, same_model)
    print(f"evaluator: {split} {json.dumps({k: round(v, 4) for k, v in metrics.items()})}", flush=True)
    print(f"evaluator: {'BLESSED' if blessed else 'NOT BLESSED'}: {reason}", flush=True)
    report = {"split": split, "users": results["model"]["users"], "metrics": metrics, "baseline_metrics": baseline_metrics,
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
