"""Runs the pipeline here with LocalDagRunner, SQLite ML Metadata and caching, and reports what the
run did from ML Metadata: each component's state (COMPLETE or CACHED) and wall time, the test
metrics, the blessing decision and where the model was pushed.

Layout of ``output_dir``: ``pipeline_root/`` (artifacts), ``metadata.sqlite``, ``input/`` (data
converted to CSV), ``serving_model/<model_name>/<version>/`` (TF Serving's model base path).
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import time
from typing import Dict, List, Optional

from ml_metadata.metadata_store import metadata_store
from ml_metadata.proto import metadata_store_pb2
from tfx import v1 as tfx
from tfx.utils import io_utils

from fame_tf.contract import MODEL_NAME
from fame_tf.readers import DataOptions
from pipeline.convert import prepare_input
from pipeline.evaluator import METRICS_FILE
from pipeline.leave_one_out import COUNTS, EVAL
from pipeline.pipeline import create_pipeline
from pipeline.trainer import TrainerSettings

PIPELINE_NAME = "fame"
_STATES = {v: k for k, v in metadata_store_pb2.Execution.State.items()}


def paths(output_dir: str, model_name: str = MODEL_NAME) -> Dict[str, str]:
    output_dir = os.path.abspath(output_dir)
    return {
        "pipeline_root": os.path.join(output_dir, "pipeline_root"),
        "metadata": os.path.join(output_dir, "metadata.sqlite"),
        "input": os.path.join(output_dir, "input"),
        "serving": os.path.join(output_dir, "serving_model", model_name),
    }


def run_local(data: DataOptions, output_dir: str, settings: TrainerSettings, min_ndcg_at_10: float = 0.0,
              beam_pipeline_args: Optional[List[str]] = None, enable_cache: bool = True,
              pipeline_name: str = PIPELINE_NAME, model_name: str = MODEL_NAME, blessing_split: str = EVAL) -> Dict:
    """Runs the whole pipeline on ``data`` (see ``pipeline.convert.prepare_input``); returns
    ``run_report``. Raises the failing component's error (e.g. DataValidationError)."""
    where = paths(output_dir, model_name)
    input_base, pattern = prepare_input(data, where["input"])
    pipeline = create_pipeline(
        pipeline_name=pipeline_name, pipeline_root=where["pipeline_root"], data_root=input_base,
        input_pattern=pattern, serving_model_dir=where["serving"], trainer_settings=settings,
        min_ndcg_at_10=min_ndcg_at_10, beam_pipeline_args=beam_pipeline_args, enable_cache=enable_cache,
        blessing_split=blessing_split,
        metadata_connection_config=tfx.orchestration.metadata.sqlite_metadata_connection_config(where["metadata"]),
    )
    start = time.time()
    with component_progress():
        tfx.orchestration.LocalDagRunner().run(pipeline)
    report = run_report(where["metadata"])
    report["seconds"] = time.time() - start
    report["serving_model_base_path"] = where["serving"]
    return report


class _ProgressFilter(logging.Filter):
    """Lets through warnings and the runner's one line per component start, end or cache hit."""

    def filter(self, record):
        return record.levelno >= logging.WARNING or record.getMessage().startswith(("Component ", "A cached execution"))


@contextlib.contextmanager
def component_progress():
    logger, progress = logging.getLogger("absl"), _ProgressFilter()
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addFilter(progress)
    try:
        yield
    finally:
        logger.removeFilter(progress)
        logger.setLevel(level)


def run_report(metadata_path: str) -> Dict:
    """What the latest run recorded in ML Metadata: ``components`` {node: {state, seconds, started}} in run
    order, the leave-one-out split's ``users`` counts, the ``evaluation`` report,
    ``blessed``/``reason`` and ``pushed``/``pushed_to`` of the run's evaluator and pusher outputs."""
    store = metadata_store.MetadataStore(tfx.orchestration.metadata.sqlite_metadata_connection_config(metadata_path))
    run = max(store.get_contexts_by_type("pipeline_run"), key=lambda c: c.create_time_since_epoch)
    executions = sorted(store.get_executions_by_context(run.id), key=lambda e: e.create_time_since_epoch)
    report = {"run_id": run.name, "components": {}}
    for execution in executions:
        node = next(c.name for c in store.get_contexts_by_execution(execution.id) if c.type == "node")
        report["components"][node.split(".", 1)[-1]] = {
            "state": _STATES[execution.last_known_state],
            "seconds": (execution.last_update_time_since_epoch - execution.create_time_since_epoch) / 1000.0,
            "started": execution.create_time_since_epoch / 1000.0,  # unix seconds
        }
    events = store.get_events_by_execution_ids([e.id for e in executions])
    outputs = store.get_artifacts_by_id([e.artifact_id for e in events if e.type == metadata_store_pb2.Event.OUTPUT])
    types = {t.id: t.name for t in store.get_artifact_types()}
    for artifact in outputs:
        kind, props = types[artifact.type_id], artifact.custom_properties
        if kind == "Examples" and all(name in props for name in COUNTS):  # LeaveOneOutSplit's output
            report["users"] = {name: props[name].int_value for name in COUNTS}
        elif kind == "ModelEvaluation":
            report["evaluation"] = json.loads(io_utils.read_string_file(os.path.join(artifact.uri, METRICS_FILE)))
        elif kind == "ModelBlessing":
            report["blessed"] = bool(props["blessed"].int_value)
            report["reason"] = props["reason"].string_value
        elif kind == "PushedModel":
            report["pushed"] = bool(props["pushed"].int_value)
            report["pushed_to"] = props["pushed_destination"].string_value if report["pushed"] else None
    return report
