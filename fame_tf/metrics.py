"""Full-ranking metrics over the whole catalogue: HR@K, NDCG@K and MRR.

A target's rank is the number of other scored items whose score is >= its own (ties count against
the target, so a constant scorer gets no credit). It is found by one comparison per item, without
sorting. Padding (and, optionally, items of the history other than the target) is never ranked.
"""

from __future__ import annotations

import weakref
from typing import Dict, Sequence

import numpy as np

from fame_tf._keras import tf

DEFAULT_KS = (5, 10, 20)
_EXCLUDED = -np.inf


def target_ranks(scores: tf.Tensor, targets: tf.Tensor, history=None) -> tf.Tensor:
    """0-based ranks [B] of ``targets`` [B] under ``scores`` [B, V] (column 0 is padding).
    With ``history`` [B, T], items of the history other than the target are not ranked."""
    scores = tf.convert_to_tensor(scores, tf.float32)
    targets = tf.cast(targets, tf.int32)
    columns = tf.range(tf.shape(scores)[1])[None, :]
    excluded = columns == 0
    if history is not None:
        seen = tf.reduce_any(columns[:, :, None] == tf.cast(history, tf.int32)[:, None, :], axis=-1)
        excluded |= seen & (columns != targets[:, None])
    target_scores = tf.gather(scores, targets, batch_dims=1)
    beats = (scores >= target_scores[:, None]) & (columns != targets[:, None]) & ~excluded
    return tf.reduce_sum(tf.cast(beats, tf.int32), axis=1)


def metrics_from_ranks(ranks: np.ndarray, ks: Sequence[int] = DEFAULT_KS) -> Dict[str, float]:
    ranks = np.asarray(ranks, np.float64)
    out = {}
    for k in ks:
        hit = ranks < k
        out[f"hr@{k}"] = float(hit.mean())
        out[f"ndcg@{k}"] = float(np.where(hit, 1.0 / np.log2(ranks + 2.0), 0.0).mean())
    out["mrr"] = float((1.0 / (ranks + 1.0)).mean())
    return out


# One compiled ranking function per (model, exclude_history), traced once for any batch shape:
# a new tf.function per call would trace the whole model again at every validation.
_RANKERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _ranker(model, exclude_history: bool):
    rankers = _RANKERS.setdefault(model, {})
    if exclude_history not in rankers:
        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32)])
        def ranks_of(history, target):
            return target_ranks(model.score(history), target, history if exclude_history else None)
        rankers[exclude_history] = ranks_of
    return rankers[exclude_history]


def evaluate(model, histories: np.ndarray, targets: np.ndarray, batch_size: int = 512,
             exclude_history: bool = False, ks: Sequence[int] = DEFAULT_KS) -> Dict[str, float]:
    """Ranks each target against the whole catalogue given its history; returns the metrics."""
    ranks_of = _ranker(model, exclude_history)
    ranks = []
    for start in range(0, len(targets), batch_size):
        history = histories[start:start + batch_size]
        longest = max(int((history > 0).sum(axis=1).max()), 1)  # shared padding changes no score
        ranks.append(ranks_of(tf.constant(history[:, -longest:], tf.int32),
                              tf.constant(targets[start:start + batch_size], tf.int32)).numpy())
    return metrics_from_ranks(np.concatenate(ranks), ks)
