"""The Trainer's ``run_fn``: Transform's integer sequences, streamed from its files
(``fame_tf.streams``) -> ``fame_tf.training.fit`` -> the serving SavedModel in the Trainer's
``serving_model_dir`` (the directory the Pusher pushes).

Hyper-parameters travel as JSON-compatible values in ``custom_config`` (never channels: those fail
under LocalDagRunner) and are validated by ``FameConfig`` here and when the pipeline is built.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict

import tensorflow_transform as tft

from fame_tf import FameConfig, distribute
from fame_tf.config import ConfigError
from fame_tf.contract import DEFAULT_K
from fame_tf.export import export_serving_model
from fame_tf.metrics import DEFAULT_KS
from fame_tf.streams import FileData
from fame_tf.training import fit
from fame_tf.presets import PIPELINE
from pipeline.transform import ITEM_IDS, VOCABULARY, TransformedHistory

PLATFORM_PREFIX = "ai_platform_"  # keys of TFX's Google Cloud extension, read by its Vertex AI Trainer


@dataclasses.dataclass(frozen=True)
class TrainerSettings:
    """What the Trainer receives in ``custom_config``: the model config (``num_items`` comes from the
    Transform vocabulary), the top-K size of the serving model and the tf.distribute strategy."""

    model: FameConfig = FameConfig(**PIPELINE.changes)  # the pipeline's time box (fame_tf.presets)
    top_k: int = DEFAULT_K
    distribution: str = "auto"

    def __post_init__(self):
        if self.distribution not in distribute.DISTRIBUTIONS:
            raise ConfigError(f"distribution={self.distribution!r} is not allowed; choose one of {list(distribute.DISTRIBUTIONS)}")
        if isinstance(self.top_k, bool) or not isinstance(self.top_k, int) or self.top_k < max(DEFAULT_KS):
            raise ConfigError(f"top_k={self.top_k!r} is not allowed; it must be an integer >= {max(DEFAULT_KS)} "
                              "(the evaluator reads HR/NDCG@K off the served top-K)")

    def to_custom_config(self) -> Dict[str, Any]:
        return {"model": self.model.to_dict(), "top_k": self.top_k, "distribution": self.distribution}

    @classmethod
    def from_custom_config(cls, custom_config: Dict[str, Any]) -> "TrainerSettings":
        ours = {k: v for k, v in custom_config.items() if not k.startswith(PLATFORM_PREFIX)}
        unknown = sorted(set(ours) - {"model", "top_k", "distribution"})
        if unknown:
            raise ConfigError(f"unknown Trainer custom_config key(s) {unknown}")
        values = dict(ours)
        values["model"] = FameConfig.from_dict(values.get("model", {}))
        return cls(**values)


def run_fn(fn_args) -> None:
    """TFX generic Trainer entry point (``Trainer(run_fn="pipeline.trainer.run_fn")``)."""
    settings = TrainerSettings.from_custom_config(fn_args.custom_config or {})
    transform_output = tft.TFTransformOutput(fn_args.transform_output)
    vocabulary = [v.decode("utf-8") for v in transform_output.vocabulary_by_name(VOCABULARY)]
    config = settings.model.replace(num_items=len(vocabulary))
    # Streamed from the Transform's files. The Trainer never sees the test split (the
    # RankingEvaluator owns the test metrics), so fit's "test" entry repeats the validation split.
    data = FileData(fn_args.train_files, fn_args.eval_files, fn_args.eval_files, len(vocabulary), config.max_len,
                    feature=ITEM_IDS, source="transformed examples")
    print(f"trainer: {data.report.users} validation users, {len(vocabulary)} items", flush=True)
    chosen = distribute.strategy(settings.distribution)
    with chosen.scope():
        model, summary = fit(config, data, distribute.run_directory(fn_args.model_run_dir, chosen), verbose=0)
    print(f"trainer: best epoch {summary['best_epoch']}, validation ndcg@10={summary['validation']['ndcg@10']:.4f}",
          flush=True)
    if not distribute.is_chief(chosen):  # the chief exports; Vertex AI keeps the chief's serving_model_dir
        return
    export_serving_model(model, vocabulary, fn_args.serving_model_dir, k=settings.top_k,
                         lookup=TransformedHistory(transform_output))
