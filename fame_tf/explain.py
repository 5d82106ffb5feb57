"""What a trained FAME model does with its facets: the gate over heads and the routers over each
head's experts for a set of histories, and how each head adds up to a recommended item's score."""

from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

from fame_tf._keras import tf
from fame_tf.model import FameModel


def _require_facets(model: FameModel) -> None:
    if not model.is_facet:
        raise ValueError(f"a {model.config.variant} model has no facet gate or routers; explanations need variant=fame")


def facet_weights(model: FameModel, histories: np.ndarray, batch_size: int = 512) -> Dict[str, np.ndarray]:
    """``gate`` [U, H] and ``router`` [U, H, N] at the last position of each history [U, T]."""
    _require_facets(model)
    outputs = [model(histories[start:start + batch_size], training=False)
               for start in range(0, len(histories), batch_size)]
    return {name: np.concatenate([o[name].numpy() for o in outputs]) for name in ("gate", "router")}


def normalised_entropy(weights: np.ndarray) -> np.ndarray:
    """Entropy over the last axis divided by its maximum: 1 uniform, 0 one-hot (0 for one choice)."""
    if weights.shape[-1] < 2:
        return np.zeros(weights.shape[:-1])
    entropy = -(weights * np.log(np.maximum(weights, 1e-12))).sum(-1)
    return entropy / np.log(weights.shape[-1])


def head_contributions(model: FameModel, history: np.ndarray, k: int = 5) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For one history [T]: the top-``k`` item ids [k], each head's part of their scores [k, H]
    (the parts sum to the score: with logit fusion the score is sum_h g_h <F^(h), c_v^(h)>, times
    the logit scale) and the gate [H]."""
    _require_facets(model)
    if model.config.fusion != "logit":
        raise ValueError("per-head score parts exist for fusion=logit only (a mixture's score is a log-sum-exp)")
    outputs = model(np.asarray(history)[None], training=False)
    scores = model.score_outputs(outputs)[0]
    items = tf.math.top_k(scores, k=k).indices
    h, e = model.config.num_heads, model.config.head_size
    query = tf.reshape(outputs["query"][0], [h, e])  # already weighted by the gate and the logit scale
    candidates = tf.reshape(model.candidates(items), [k, h, e])
    parts = tf.einsum("he,khe->kh", query, candidates)
    return items.numpy(), parts.numpy(), outputs["gate"][0].numpy()
