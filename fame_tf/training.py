"""Training with Keras ``fit``: full-ranking validation every few epochs, early stopping on
validation NDCG@10 with the best weights restored, TensorBoard logs, and resumption of an
interrupted run from its output directory."""

from __future__ import annotations

import json
import os
import resource
import time
from typing import Dict, Iterator, Tuple

import numpy as np

from fame_tf.backend import keras, tf
from fame_tf.config import FameConfig
from fame_tf.data import SplitData, every_position_examples, prefix_examples
from fame_tf.metrics import KEPT, MONITOR, array_batches, evaluate_batches, protocol_metrics
from fame_tf.layers import PACKAGE
from fame_tf.model import FameModel

LENGTH_BUCKETS = (4, 8, 16, 32)


def trim_padding(features, widths=None):
    """Drops the columns that are padding in every row of a batch; positions count from the most
    recent item, so the model's outputs do not change, only the work does. With ``widths`` (sorted)
    the batch keeps the smallest of them that fits, so XLA compiles a handful of shapes only."""
    longest = tf.maximum(tf.reduce_max(tf.reduce_sum(tf.cast(features["inputs"] > 0, tf.int32), axis=1)), 1)
    if widths is not None:
        widths = tf.constant(widths)
        longest = tf.reduce_min(tf.boolean_mask(widths, widths >= longest))
    return {name: value[:, -longest:] if value.shape.rank == 2 else value for name, value in features.items()}


def training_examples(split: SplitData, config: FameConfig) -> Dict[str, np.ndarray]:
    """The training examples of ``config.training_scheme`` (see ``fame_tf.data``)."""
    make = prefix_examples if config.training_scheme == "prefix" else every_position_examples
    return make(split.train_sequences, config.max_len)


class ArrayData:
    """``fit``'s view of an in-memory ``SplitData`` (the command line's reader); ``fame_tf.streams.FileData``
    is the same view of files. Both give the training examples, the validation and test cases and
    the training-target counts."""

    def __init__(self, split: SplitData):
        self.split, self.num_items, self.report = split, split.num_items, split.report

    def examples(self, config: FameConfig) -> Tuple[tf.data.Dataset, int]:
        features = training_examples(self.split, config)
        return tf.data.Dataset.from_tensor_slices(features), len(features["inputs"])

    def shuffle_buffer(self, count: int) -> int:
        return count  # every example: a uniform shuffle of the whole set each epoch

    def item_counts(self) -> np.ndarray:
        return self.split.item_counts()

    def item_attributes(self):
        return self.split.item_attributes

    def cases(self, part: str, batch_size: int) -> Tuple[Iterator, int]:
        split = self.split
        arrays = ((split.valid_history, split.valid_targets, split.valid_seen) if part == "validation"
                  else (split.test_history, split.test_targets, split.test_seen))
        return array_batches(*arrays, batch_size), len(arrays[1])


def train_dataset(data, config: FameConfig) -> tf.data.Dataset:
    """The training batches of ``data`` (``SplitData``, ``ArrayData`` or ``FileData``) under ``config``."""
    data = _as_data(data)
    examples, count = data.examples(config)
    return batches(examples, config, data.shuffle_buffer(count))


def _as_data(data):
    return ArrayData(data) if isinstance(data, SplitData) else data


def batches(examples: tf.data.Dataset, config: FameConfig, shuffle_buffer: int) -> tf.data.Dataset:
    """Batches of unbatched ``examples``, shuffled anew every epoch and trimmed of shared padding.
    With ``length_buckets`` a batch holds examples of similar length (much less padding; batches
    stay in random order)."""
    dataset = examples.shuffle(shuffle_buffer, seed=config.seed, reshuffle_each_iteration=True)
    if config.length_buckets:
        dataset = dataset.bucket_by_sequence_length(
            lambda f: tf.reduce_sum(tf.cast(f["inputs"] > 0, tf.int32)),
            bucket_boundaries=list(LENGTH_BUCKETS),
            bucket_batch_sizes=[config.batch_size] * (len(LENGTH_BUCKETS) + 1),
            no_padding=True,
        )
    else:
        dataset = dataset.batch(config.batch_size)
    widths = None
    if config.jit_compile:  # one XLA compilation per width: round up to the bucket boundaries
        widths = sorted({w for w in LENGTH_BUCKETS if w < config.max_len} | {config.max_len})
    return dataset.map(lambda f: trim_padding(f, widths)).prefetch(tf.data.AUTOTUNE)


@keras.utils.register_keras_serializable(package=PACKAGE)
class LinearWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """The learning rate rises linearly over ``warmup_steps`` steps, then stays constant."""

    def __init__(self, learning_rate: float, warmup_steps: int):
        self.learning_rate, self.warmup_steps = learning_rate, warmup_steps

    def __call__(self, step):
        fraction = tf.minimum((tf.cast(step, tf.float32) + 1.0) / float(self.warmup_steps), 1.0)
        return self.learning_rate * fraction

    def get_config(self):
        return {"learning_rate": self.learning_rate, "warmup_steps": self.warmup_steps}


def make_optimizer(config: FameConfig) -> keras.optimizers.Optimizer:
    """Adam, or AdamW when ``weight_decay`` > 0; with ``warmup_steps`` a linear warm-up."""
    rate = LinearWarmup(config.learning_rate, config.warmup_steps) if config.warmup_steps else config.learning_rate
    if config.weight_decay:
        return keras.optimizers.AdamW(rate, weight_decay=config.weight_decay)
    return keras.optimizers.Adam(rate)


class RankingEarlyStopping(keras.callbacks.Callback):
    """Evaluates full-ranking validation metrics every ``every`` epochs, puts them in the epoch logs
    as ``val_<metric>``, keeps the best weights on disk and stops after ``patience`` evaluations
    without improvement of ``val_ndcg@10``. Its state lives in ``directory`` so that a resumed run
    continues where the interrupted one stopped; at the end the best weights are restored."""

    def __init__(self, data, directory: str, patience: int, every: int = 1,
                 protocol: str = KEPT, batch_size: int = 512):
        super().__init__()
        self.data, self.directory, self.protocol = data, directory, protocol
        self.patience, self.every, self.batch_size = patience, every, batch_size
        self.state_path = os.path.join(directory, "state.json")
        self.weights_path = os.path.join(directory, "best.weights.h5")
        os.makedirs(directory, exist_ok=True)
        self.state = {"best": -1.0, "best_epoch": -1, "wait": 0, "history": [], "train_seconds": 0.0}
        if os.path.exists(self.state_path):
            with open(self.state_path) as handle:
                self.state = json.load(handle)
        self._epoch_start = time.time()

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        # Wall time of training and validation over all (resumed) runs; a state from before this
        # counter existed starts it at 0.
        self.state["train_seconds"] = self.state.get("train_seconds", 0.0) + time.time() - self._epoch_start
        if (epoch + 1) % self.every:
            return
        start = time.time()
        measured = evaluate_batches(self.model, *self.data.cases("validation", self.batch_size))
        metrics = protocol_metrics(measured, self.protocol)
        if logs is not None:
            logs.update({f"val_{k}": v for k, v in metrics.items()})
        # An epoch redone after an interruption replaces its earlier evaluation.
        self.state["history"] = [h for h in self.state["history"] if h["epoch"] <= epoch]
        self.state["history"].append({"epoch": epoch + 1, **measured, "eval_seconds": time.time() - start,
                                      "train_seconds": self.state["train_seconds"] + time.time() - start})
        self.state["train_seconds"] += time.time() - start
        if metrics[MONITOR] > self.state["best"]:
            self.state.update(best=metrics[MONITOR], best_epoch=epoch + 1, wait=0,
                              best_train_seconds=self.state["train_seconds"])
            self.model.save_weights(self.weights_path)
        else:
            self.state["wait"] += 1
        print(
            f"epoch {epoch + 1}: val {MONITOR}={metrics[MONITOR]:.4f} hr@10={metrics['hr@10']:.4f} ({self.protocol}; "
            f"best {self.state['best']:.4f} at epoch {self.state['best_epoch']}, wait {self.state['wait']}/{self.patience}; "
            f"{self.state['train_seconds'] / 60:.1f} min)",
            flush=True,
        )
        self._save_state()
        if self.state["wait"] >= self.patience:
            self.model.stop_training = True

    @property
    def finished(self) -> bool:
        return self.state.get("finished", False)

    def on_train_end(self, logs=None):
        self.state["finished"] = True
        self._save_state()
        self.restore_best(self.model)

    def restore_best(self, model) -> None:
        if os.path.exists(self.weights_path):
            model.load_weights(self.weights_path)

    def _save_state(self) -> None:
        with open(self.state_path + ".tmp", "w") as handle:
            json.dump(self.state, handle)
        os.replace(self.state_path + ".tmp", self.state_path)


def build_model(config: FameConfig, data=None) -> FameModel:
    """A compiled model; with ``data`` (``ArrayData`` or ``FileData``) its sampled-softmax
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


def fit(config: FameConfig, data, output_dir: str, verbose: int = 2) -> Dict:
    """Trains (or resumes training) on ``data`` (an in-memory ``SplitData`` or files,
    ``fame_tf.streams.FileData``) into ``output_dir``; returns a summary with validation and test
    metrics of the best model. The model itself is left in ``summary["model"]``."""
    data = _as_data(data)
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
    examples, sequences = data.examples(config)
    dataset = batches(examples, config, data.shuffle_buffer(sequences))
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
    summary["model"] = model
    return summary
