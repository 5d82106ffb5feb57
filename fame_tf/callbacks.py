"""The callback that makes ``fit`` a ranking run: full-ranking validation every few epochs, early
stopping on validation NDCG@10 with the best weights kept on disk, and state that lets an
interrupted run resume where it stopped."""

from __future__ import annotations

import json
import os
import time

from fame_tf.backend import keras
from fame_tf.metrics import KEPT, MONITOR, evaluate_batches, protocol_metrics


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
