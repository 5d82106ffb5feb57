"""A training run's directory, as ``fame-tf train`` leaves it: ``config.json`` and ``metrics.json``
(``training.fit``), how its data was read, the tf-keras model, the vocabulary and the TensorFlow
Serving exports."""

from __future__ import annotations

import json
import os
from typing import List, Optional, Sequence, Tuple

from fame_tf import export
from fame_tf.contract import DEFAULT_K, MODEL_NAME
from fame_tf.backend import keras
from fame_tf.readers import DataOptions
from fame_tf.model import FameModel

MODEL_DIR = "model"  # the tf-keras SavedModel of the FameModel
VOCABULARY_FILE = "vocabulary.json"  # raw item ids; model item i + 1 is entry i
DATA_FILE = "data.json"  # the DataOptions the run read its data with, source absolute


def serving_base_path(run_dir: str) -> str:
    """The model base path of the run's exports: ``RUN/serving/<model name>``."""
    return os.path.join(run_dir, "serving", MODEL_NAME)


def latest_export(run_dir: str) -> Optional[str]:
    """The newest export's version directory, or None."""
    existing = export.versions(serving_base_path(run_dir))
    return os.path.join(serving_base_path(run_dir), str(existing[-1])) if existing else None


def save(run_dir: str, model: FameModel, vocabulary: Sequence[str], k: int = DEFAULT_K) -> str:
    """Saves the model and vocabulary and exports a new serving version; returns its directory."""
    model.save(os.path.join(run_dir, MODEL_DIR), save_format="tf")
    with open(os.path.join(run_dir, VOCABULARY_FILE), "w", encoding="utf-8") as handle:
        json.dump(list(vocabulary), handle)
    return export.export_version(model, vocabulary, serving_base_path(run_dir), k=k)


def load(run_dir: str) -> Tuple[FameModel, List[str]]:
    """The run's model and vocabulary; FileNotFoundError names what is missing."""
    for name in (MODEL_DIR, VOCABULARY_FILE):
        if not os.path.exists(os.path.join(run_dir, name)):
            raise FileNotFoundError(f"{os.path.join(run_dir, name)} is missing: is {run_dir} a finished "
                                    "`fame-tf train` run of this version of fame-tf?")
    with open(os.path.join(run_dir, VOCABULARY_FILE), encoding="utf-8") as handle:
        vocabulary = json.load(handle)
    return keras.models.load_model(os.path.join(run_dir, MODEL_DIR), compile=False), vocabulary  # no optimizer needed


def record_data(run_dir: str, data: DataOptions) -> None:
    """Writes how the run reads its data (source made absolute), for ``report`` and re-evaluation;
    ValueError if the run directory holds a run that read other data or read it otherwise."""
    data, path = data.absolute(), os.path.join(run_dir, DATA_FILE)
    if os.path.exists(path):
        recorded = recorded_data(run_dir).to_dict()
        if recorded != data.to_dict():
            changed = sorted(k for k, v in data.to_dict().items() if recorded[k] != v)
            raise ValueError(f"{run_dir} holds a run that read its data otherwise ({', '.join(changed)} differ: "
                             f"{path}); resume it with the same data options or choose another output directory")
        return
    os.makedirs(run_dir, exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(data.to_dict(), handle, indent=2)


def recorded_data(run_dir: str) -> DataOptions:
    """How the run read its data. Runs written before ``data.json`` existed: their recorded source
    (relative to the run's working directory then) with the default reading options."""
    path = os.path.join(run_dir, DATA_FILE)
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            return DataOptions.from_dict(json.load(handle))
    metrics = os.path.join(run_dir, "metrics.json")
    if not os.path.exists(metrics):
        raise FileNotFoundError(f"{metrics} is missing: has `fame-tf train --output {run_dir}` finished?")
    with open(metrics, encoding="utf-8") as handle:
        return DataOptions(json.load(handle)["data"]["source"])
