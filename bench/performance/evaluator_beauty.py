"""The Beam evaluator against ranking in one process, on a finished Beauty pipeline run.

Runs the pipeline evaluator's Beam job (`pipeline.evaluator.evaluate_models`, DirectRunner in
multi-processing mode with 2 workers) over the run's validation users with its pushed model, and
ranks the same users in this process through the same signature (`served_ranks`, the Beam job's
own ranking, so what is compared is the job's reading, batching and combining of sums); prints both, their largest
difference and both times, and writes bench/results/performance/evaluator_beauty.json.

    python -m bench evaluator-beauty --run bench/work/pipeline-beauty
"""

from __future__ import annotations

import glob
import os
import tempfile
import time

import click
import numpy as np

import pipeline  # noqa: F401  (sets TF_USE_LEGACY_KERAS first)
from apache_beam.options.pipeline_options import PipelineOptions
import apache_beam as beam
from tfx.types import artifact_utils, standard_artifacts

from fame_tf.backend import tf
from fame_tf.metrics import DEFAULT_KS, metrics_from_ranks
from pipeline.evaluator import BATCH, evaluate_models, served_ranks
from pipeline.leave_one_out import EVAL, SPLITS, split_files
from bench.common import result_path, write_result


def one_process(examples, model_dir: str) -> dict:
    """The validation users ranked in batches in this process, their ranks pooled before any sum."""
    records = [r.numpy() for r in tf.data.TFRecordDataset(tf.io.gfile.glob(split_files(examples, EVAL)),
                                                          compression_type="GZIP")]
    serve = tf.saved_model.load(model_dir).signatures["serving_default"]
    batches = [served_ranks(serve, records[start:start + BATCH]) for start in range(0, len(records), BATCH)]
    metrics = metrics_from_ranks(np.concatenate([ranks for ranks, _ in batches]), DEFAULT_KS)
    metrics[f"mrr@{batches[0][1]}"] = metrics.pop("mrr")
    return {"users": len(records), "metrics": metrics}


@click.command()
@click.option("--run", "run_dir", default="bench/work/pipeline-beauty", show_default=True,
              help="Output directory of a finished `fame-tf pipeline run`.")
def main(run_dir):
    root = os.path.join(run_dir, "pipeline_root")
    split_dirs = glob.glob(os.path.join(root, "LeaveOneOutSplit", "sequences", "*"))
    pushed = sorted(glob.glob(os.path.join(run_dir, "serving_model", "*", "*")))
    if not split_dirs or not pushed:
        raise click.ClickException(f"{run_dir} has no split sequences or no pushed model: is it a finished run?")
    examples = standard_artifacts.Examples()
    examples.uri = max(split_dirs, key=os.path.getmtime)
    examples.split_names = artifact_utils.encode_split_names(list(SPLITS))
    model_dir = pushed[-1]
    start = time.time()
    options = PipelineOptions(["--direct_running_mode=multi_processing", "--direct_num_workers=2"])
    beam_result = evaluate_models(examples, EVAL, {"candidate": model_dir}, beam.Pipeline(options=options),
                                  tempfile.mkdtemp(prefix="evaluator-"))["candidate"]
    beam_seconds = time.time() - start
    start = time.time()
    local = one_process(examples, model_dir)
    local_seconds = time.time() - start
    difference = max(abs(beam_result["metrics"][k] - local["metrics"][k]) for k in local["metrics"])
    result = {"run": run_dir, "model": model_dir, "split": EVAL, "beam": beam_result, "one_process": local,
              "largest_metric_difference": difference, "beam_seconds": beam_seconds,
              "one_process_seconds": local_seconds}
    write_result(result_path("performance", "evaluator_beauty"), "evaluator-beauty", result)


if __name__ == "__main__":
    main()
