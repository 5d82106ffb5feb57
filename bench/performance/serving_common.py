"""The serving benchmarks' model: the Beauty catalogue with the FAME a user gets by default, from
`fame-tf train` (``--model train``) or from the pipeline (``--model pipeline``). Latency does not
depend on the weights, so an untrained model stands in unless ``--run`` names a trained run."""

from __future__ import annotations

import os
import shutil

import numpy as np

from bench.common import ROOT, result_path, work_dir, write_result

WORK = work_dir("serving")
K = 100  # items returned per request
MODELS = ("train", "pipeline")  # whose defaults the serving benchmarks measure


def default_config(model: str, num_items: int):
    """The FameConfig that `fame-tf train` (``train``) or `fame-tf pipeline run` (``pipeline``) builds
    by default for ``num_items`` items: the commands' own ``config_from`` with no option given."""
    from fame_cli.options import config_from
    from fame_tf.presets import PIPELINE

    return config_from(None, {}, PIPELINE.changes if model == "pipeline" else None).replace(num_items=num_items)


HISTORY_LENGTH = 50  # items per request's history (the default max_len)


def beauty_export(run_dir: str | None = None, model_name: str = "train", data: str = "data/beauty") -> tuple[str, list, dict]:
    """(model base path with one version, vocabulary, config), exported afresh so it is the current code's."""
    from fame_tf import FameConfig, FameModel, runs
    from fame_tf.readers import load_split
    from fame_tf.export import export_version

    base = os.path.join(WORK, os.path.basename(os.path.normpath(run_dir)) if run_dir else f"beauty-{model_name}")
    if run_dir:
        model, vocabulary = runs.load(run_dir)
    else:
        vocabulary = load_split(os.path.join(ROOT, data), FameConfig().max_len).vocab.items
        model = FameModel(default_config(model_name, len(vocabulary)))
        model.build()
    shutil.rmtree(base, ignore_errors=True)
    export_version(model, vocabulary, base, version=1, k=K)
    return base, vocabulary, model.config


def describe(run_dir: str | None, model_name: str, vocabulary, config) -> dict:
    """The measured model, as the serving benchmarks record it: whose defaults, and its shape."""
    shape = {name: getattr(config, name) for name in ("variant", "hidden_size", "num_layers", "num_heads", "num_experts",
                                                      "ffn_multiplier", "max_len")}
    return {"model": run_dir or f"untrained, the default model of {'`fame-tf train`' if model_name == 'train' else 'the pipeline'}",
            "model_defaults_of": None if run_dir else model_name, "model_settings": shape,
            "catalogue_items": len(vocabulary), "k": K, "history_length": HISTORY_LENGTH}


def histories(vocabulary, count: int, length: int = HISTORY_LENGTH, seed: int = 0) -> list:
    gen = np.random.default_rng(seed)
    return [[vocabulary[i] for i in gen.integers(0, len(vocabulary), length)] for _ in range(count)]


def percentiles(seconds) -> dict:
    ms = np.asarray(seconds) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean()), "requests": int(ms.size)}


def write(name: str, payload: dict) -> str:
    """``bench/results/performance/<name>.json`` with the result envelope (``bench.common``)."""
    return write_result(result_path("performance", name), name.split("-")[0].replace("_", "-"), payload)
