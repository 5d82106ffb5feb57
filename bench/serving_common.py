"""The serving benchmarks' model: the Beauty catalogue with the default FAME config. Latency does
not depend on the weights, so an untrained model stands in unless ``--run`` names a trained run."""

from __future__ import annotations

import json
import os
import shutil
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = os.path.join(ROOT, "bench", "work", "serving")
RESULTS = os.path.join(ROOT, "bench", "results")
K = 100  # items returned per request
# The model the README's step-speed, two-worker, serving and large-catalogue figures were measured
# with: FAME as it was configured before the tuning (4 heads x 4 experts, batch 256); the tuned
# default (2 x 2) does less work in its last layer.
BENCH_MODEL = {"num_heads": 4, "num_experts": 4, "batch_size": 256}
HISTORY_LENGTH = 50  # items per request's history (the default max_len)


def beauty_export(run_dir: str | None = None, data: str = "data/beauty") -> tuple[str, list]:
    """(model base path with one version, vocabulary), exported afresh so it is the current code's."""
    from fame_tf import FameConfig, FameModel, runs
    from fame_tf.data import load_split
    from fame_tf.export import export_version

    base = os.path.join(WORK, os.path.basename(os.path.normpath(run_dir)) if run_dir else "beauty-untrained")
    if run_dir:
        model, vocabulary = runs.load(run_dir)
    else:
        vocabulary = load_split(os.path.join(ROOT, data), FameConfig().max_len).vocab.items
        model = FameModel(FameConfig(num_items=len(vocabulary), **BENCH_MODEL))
        model.build()
    shutil.rmtree(base, ignore_errors=True)
    export_version(model, vocabulary, base, version=1, k=K)
    return base, vocabulary


def describe(run_dir: str | None, vocabulary) -> dict:
    """The measured model, as both serving benchmarks record it."""
    return {"model": run_dir or "untrained, default FameConfig (d=64, 2 layers, H=4, N=4, max_len=50)",
            "catalogue_items": len(vocabulary), "k": K, "history_length": HISTORY_LENGTH}


def histories(vocabulary, count: int, length: int = HISTORY_LENGTH, seed: int = 0) -> list:
    gen = np.random.default_rng(seed)
    return [[vocabulary[i] for i in gen.integers(0, len(vocabulary), length)] for _ in range(count)]


def percentiles(seconds) -> dict:
    ms = np.asarray(seconds) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean()), "requests": int(ms.size)}


def machine() -> dict:
    return {"cpus": os.cpu_count(), "load_average_1_5_15": list(os.getloadavg()), "time": time.strftime("%Y-%m-%dT%H:%M:%S")}


def write(name: str, payload: dict) -> str:
    os.makedirs(RESULTS, exist_ok=True)
    path = os.path.join(RESULTS, name)
    with open(path, "w") as handle:
        json.dump(payload, handle, indent=2)
    print(json.dumps(payload, indent=2))
    return path
