"""Training with Keras ``fit``: a compiled model of a config (``build_model``) and a ranking run
(``fit``) with full-ranking validation, early stopping, TensorBoard logs and resumption of an
interrupted run from its output directory. Inputs, optimizer and the ranking callback live in
``fame_tf.inputs``, ``fame_tf.optimizers`` and ``fame_tf.callbacks``."""

from __future__ import annotations

import json
import os
import resource
import time
from typing import Dict, Optional, Tuple

from fame_tf.backend import keras
from fame_tf.callbacks import RankingEarlyStopping
from fame_tf.config import FameConfig
from fame_tf.inputs import TrainingData
from fame_tf.metrics import evaluate_batches
from fame_tf.model import FameModel
from fame_tf.optimizers import make_optimizer


def build_model(config: FameConfig, data: Optional[TrainingData] = None) -> FameModel:
    """A compiled model; with ``data`` (``fame_tf.inputs.TrainingData``) its sampled-softmax
    correction uses the training counts and its attribute loss the items' attributes."""
    keras.utils.set_random_seed(config.seed)
    model = FameModel(config)
    model.build()
    if data is not None and config.objective == "sampled_softmax":
        model.set_item_counts(data.item_counts())
    if data is not None and config.attribute_loss_weight:
        model.set_item_attributes(data.item_attributes().ids)
    model.compile(optimizer=make_optimizer(config), jit_compile=config.jit_compile)
    return model


def fit(config: FameConfig, data: TrainingData, output_dir: str, verbose: int = 2) -> Tuple[FameModel, Dict]:
    """Trains (or resumes training) on ``data`` (in memory, ``fame_tf.inputs.ArrayData``, or files,
    ``fame_tf.streams.FileData``) into ``output_dir``; returns the best model and a summary with its
    validation and test metrics (also written to ``output_dir/metrics.json``)."""
    if config.num_items != data.num_items:
        config = config.replace(num_items=data.num_items)
    if config.attribute_loss_weight:
        if data.item_attributes() is None:
            raise ValueError("attribute_loss_weight > 0 needs the items' attributes: give the data's attribute "
                             "file (--attributes FILE)")
        config = config.replace(num_attributes=data.item_attributes().num_attributes)
    os.makedirs(output_dir, exist_ok=True)
    config_path = os.path.join(output_dir, "config.json")
    if os.path.exists(config_path):
        with open(config_path) as handle:
            previous = FameConfig.from_json(handle.read())
        if previous != config:
            raise ValueError(
                f"{output_dir} holds a run with a different config; resume it with the same settings "
                "or choose another output directory"
            )
    with open(config_path, "w") as handle:
        handle.write(config.to_json())
    model = build_model(config, data)
    stopper = RankingEarlyStopping(data, os.path.join(output_dir, "early_stopping"), config.patience,
                                   config.eval_every, config.selection_protocol)
    callbacks = [  # stopper first: its state is saved before the backup marks the epoch done
        stopper,
        keras.callbacks.BackupAndRestore(os.path.join(output_dir, "backup")),
        keras.callbacks.TensorBoard(os.path.join(output_dir, "tensorboard"), profile_batch=0),
    ]
    dataset, sequences = data.batches(config)
    start, before = time.time(), stopper.state.get("train_seconds", 0.0)
    if stopper.finished:  # a completed run: evaluate its best model again, train nothing
        print(f"{output_dir}: training already finished; evaluating its best model", flush=True)
        stopper.restore_best(model)
        epochs_run = 0
    else:
        if config.steps_per_epoch:
            dataset = dataset.repeat()
        epochs_run = len(model.fit(dataset, epochs=config.epochs, steps_per_epoch=config.steps_per_epoch or None,
                                   callbacks=callbacks, verbose=verbose).epoch)
    seconds = time.time() - start
    per_epoch = config.steps_per_epoch * config.batch_size if config.steps_per_epoch else sequences
    summary = {
        "config": config.to_dict(),
        "data": data.report.to_dict(),
        "best_epoch": stopper.state["best_epoch"],
        "epochs_this_run": epochs_run,
        "train_seconds_this_run": stopper.state.get("train_seconds", 0.0) - before,  # counted as train_seconds
        "train_seconds": stopper.state.get("train_seconds", 0.0),  # all runs of a resumed training
        "seconds_to_best_epoch": stopper.state.get("best_train_seconds"),
        "selection_protocol": config.selection_protocol,
        "train_sequences_per_second": per_epoch * epochs_run / seconds if seconds and epochs_run else None,
        "validation": evaluate_batches(model, *data.cases("validation", 512), progress=verbose > 0),
        "test": evaluate_batches(model, *data.cases("test", 512), progress=verbose > 0),
        "validation_history": stopper.state["history"],
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }
    with open(os.path.join(output_dir, "metrics.json"), "w") as handle:
        json.dump(summary, handle, indent=2)
    return model, summary
