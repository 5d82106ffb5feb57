"""Named settings and where each comes from: a preset changes some ``FameConfig`` fields, says why,
and names the results file that holds the evidence. ``FameConfig``'s own defaults are the ``fame``
preset. TensorFlow-free, so the command line shows presets as defaults without loading it.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Dict, Mapping


@dataclasses.dataclass(frozen=True)
class Preset:
    name: str
    changes: Mapping[str, Any]  # FameConfig fields that differ from its defaults
    reason: str
    evidence: str  # the results file behind the choice


FAME = Preset("fame", {}, "the best FAME of the tuning search, selected on Beauty's validation NDCG@10 (seen items "
              "kept); early stopping waits 10 evaluations, as RecBole and the S3-Rec/BSARec code do",
              "bench/results/quality/tune-beauty.json")
SASREC = Preset("sasrec", {"batch_size": 512, "dropout": 0.4, "attention_dropout": 0.4, "weight_decay": 0.0,
                           "warmup_steps": 1000, "ffn_multiplier": 4},
                "the best SASRec of the same search as FAME's (the same budget for both)",
                "bench/results/quality/tune-beauty.json")
PIPELINE = Preset("pipeline", {"epochs": 10, "learning_rate": 1e-3, "batch_size": 256, "dropout": 0.5,
                               "attention_dropout": 0.5, "weight_decay": 0.0, "warmup_steps": 0, "ffn_multiplier": 1,
                               "num_heads": 4, "num_experts": 4, "logit_scale": "heads", "patience": 10},
                  "a time box: the pipeline on the bundled data must finish within 20 minutes on 2 cores, so it "
                  "trains 10 epochs, where these settings (the first round's, with the heads' logit scale) learn "
                  "faster than the tuned defaults, which need more epochs",
                  "bench/results/performance/pipeline_beauty.json")
BENCHMARK = Preset("benchmark", {"num_heads": 4, "num_experts": 4, "batch_size": 256},
                   "the model the speed, scale and multi-worker benchmarks measure, kept fixed so their rows "
                   "compare across versions (not a quality setting)",
                   "bench/results/performance/train_step.json")

PRESETS: Dict[str, Preset] = {p.name: p for p in (FAME, SASREC, PIPELINE, BENCHMARK)}


def variant_defaults(variant: str) -> Dict[str, Any]:
    """The fields whose default for ``variant`` differs from ``FameConfig``'s."""
    return dict(SASREC.changes) if variant == "sasrec" else dict(FAME.changes)
