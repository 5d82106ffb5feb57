"""The pipeline's topology as a pure function (TFX template style); runners add orchestration.

ExampleGen (interactions CSV) -> StatisticsGen -> ExampleValidator against a curated schema
(ImportSchemaGen) -> LeaveOneOutSplit (Beam) -> Transform (item vocabulary) -> Trainer
(``pipeline.trainer.run_fn``) -> RankingEvaluator (a Beam job: HR/NDCG@K on the validation split or
a named one, blessing against the latest blessed model) -> Pusher (TF Serving directory).
"""

from __future__ import annotations

import os
from typing import Any, Dict, List, Optional

from tfx import v1 as tfx

from pipeline.evaluator import RankingEvaluator
from pipeline.leave_one_out import EVAL, SPLITS, TEST, TRAIN, LeaveOneOutSplit
from pipeline.trainer import TrainerSettings

SCHEMA_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "schemas")
INTERACTIONS_SPLIT = "interactions"
DEFAULT_BEAM_ARGS = ("--direct_running_mode=in_memory", "--direct_num_workers=1")


def create_pipeline(
    pipeline_name: str,
    pipeline_root: str,
    data_root: str,
    serving_model_dir: str,
    trainer_settings: TrainerSettings,
    min_ndcg_at_10: float = 0.0,
    input_pattern: str = "*.csv",
    schema_dir: str = SCHEMA_DIR,
    beam_pipeline_args: Optional[List[str]] = None,
    metadata_connection_config=None,
    enable_cache: bool = True,
    trainer_platform_config: Optional[Dict[str, Any]] = None,
    blessing_split: str = EVAL,
) -> tfx.dsl.Pipeline:
    """``data_root``: a directory whose ``input_pattern`` files are interaction CSVs with the header
    ``user_id,item_id,timestamp`` (timestamps: numbers such as unix seconds, or ISO 8601 dates).
    Pushed models land in ``serving_model_dir/<unix-seconds>/``. ``schema_dir`` is where the curated
    schemas are at run time (another path inside a container). ``beam_pipeline_args`` come after the
    in-memory DirectRunner defaults, so they can override them (e.g. ``--runner=DataflowRunner ...``).
    ``trainer_platform_config``: the Google Cloud extension's keys
    (``pipeline.vertex_runner.VertexTraining``); the Trainer then runs as a Vertex AI Training job.
    ``blessing_split``: the split the evaluator measures and blesses on (validation by default)."""
    if not 0.0 <= min_ndcg_at_10 <= 1.0:
        raise ValueError(f"min_ndcg_at_10={min_ndcg_at_10} is not allowed; it must be in [0, 1]")

    example_gen = tfx.components.CsvExampleGen(
        input_base=data_root,
        input_config=tfx.proto.Input(splits=[tfx.proto.Input.Split(name=INTERACTIONS_SPLIT, pattern=input_pattern)]),
        # One split: the leave-one-out step splits per user, not per interaction.
        output_config=tfx.proto.Output(split_config=tfx.proto.SplitConfig(
            splits=[tfx.proto.SplitConfig.Split(name=INTERACTIONS_SPLIT, hash_buckets=1)])),
    )
    statistics_gen = tfx.components.StatisticsGen(examples=example_gen.outputs["examples"])
    schema_gen = tfx.components.ImportSchemaGen(schema_file=os.path.join(schema_dir, "interactions.pbtxt"))
    example_validator = tfx.components.ExampleValidator(
        statistics=statistics_gen.outputs["statistics"], schema=schema_gen.outputs["schema"])
    leave_one_out = LeaveOneOutSplit(
        interactions=example_gen.outputs["examples"], anomalies=example_validator.outputs["anomalies"])
    sequence_schema = tfx.components.ImportSchemaGen(
        schema_file=os.path.join(schema_dir, "sequences.pbtxt")).with_id("SequenceSchemaGen")
    transform = tfx.components.Transform(
        examples=leave_one_out.outputs["sequences"],
        schema=sequence_schema.outputs["schema"],
        preprocessing_fn="pipeline.transform.preprocessing_fn",
        # The test sequences are the users' whole sequences: the vocabulary is the whole catalogue,
        # as in fame_tf.data.leave_one_out.
        splits_config=tfx.proto.SplitsConfig(analyze=[TEST], transform=list(SPLITS)),
        # StatisticsGen and the validator already cover the raw interactions; statistics of the
        # sequences before and after the vocabulary would cost more than the transform itself.
        disable_statistics=True,
    )
    trainer_class = tfx.extensions.google_cloud_ai_platform.Trainer if trainer_platform_config else tfx.components.Trainer
    trainer = trainer_class(
        run_fn="pipeline.trainer.run_fn",
        examples=transform.outputs["transformed_examples"],
        transform_graph=transform.outputs["transform_graph"],
        train_args=tfx.proto.TrainArgs(splits=[TRAIN]),
        eval_args=tfx.proto.EvalArgs(splits=[EVAL]),
        custom_config={**trainer_settings.to_custom_config(), **(trainer_platform_config or {})},
    )
    baseline_resolver = tfx.dsl.Resolver(
        strategy_class=tfx.dsl.experimental.LatestBlessedModelStrategy,
        model=tfx.dsl.Channel(type=tfx.types.standard_artifacts.Model),
        model_blessing=tfx.dsl.Channel(type=tfx.types.standard_artifacts.ModelBlessing),
    ).with_id("LatestBlessedModelResolver")
    evaluator = RankingEvaluator(
        examples=leave_one_out.outputs["sequences"],
        model=trainer.outputs["model"],
        baseline_model=baseline_resolver.outputs["model"],
        min_ndcg_at_10=min_ndcg_at_10,
        split=blessing_split,
    )
    pusher = tfx.components.Pusher(
        model=trainer.outputs["model"],
        model_blessing=evaluator.outputs["blessing"],
        push_destination=tfx.proto.PushDestination(
            filesystem=tfx.proto.PushDestination.Filesystem(base_directory=serving_model_dir)),
    )
    return tfx.dsl.Pipeline(
        pipeline_name=pipeline_name,
        pipeline_root=pipeline_root,
        components=[example_gen, statistics_gen, schema_gen, example_validator, leave_one_out, sequence_schema,
                    transform, trainer, baseline_resolver, evaluator, pusher],
        enable_cache=enable_cache,
        metadata_connection_config=metadata_connection_config,
        beam_pipeline_args=[*DEFAULT_BEAM_ARGS, *(beam_pipeline_args or [])],
    )
