"""Full-ranking metrics over the whole catalogue: HR@K, NDCG@K and MRR, under both protocols.

A target's rank is the number of other scored items whose score is >= its own (ties count against
the target, so a constant scorer gets no credit). It is found by one comparison per item, without
sorting. Padding is never ranked. The two protocols (seen items kept or excluded) are those of
``fame_tf.protocols``, both over the whole catalogue.
"""

from __future__ import annotations

import weakref
from typing import Dict, Iterable, Iterator, Optional, Sequence, Tuple

import numpy as np

from fame_tf.backend import keras, tf

from fame_tf.protocols import EXCLUDED, KEPT, MONITOR, PROTOCOLS  # noqa: F401  (MONITOR, KEPT: re-exported)

DEFAULT_KS = (5, 10, 20)


def target_ranks(scores: tf.Tensor, targets: tf.Tensor, seen=None):
    """0-based ranks of the targets under full-catalogue scores.

    Args:
        scores: [B, V] scores (column 0 is padding).
        targets: [B] item ids.
        seen: optional [B, S] item ids (0 for none, repeats allowed).

    Returns:
        The ranks [B]; with ``seen``, ``(kept, excluded)``: the ranks with seen items kept, and with
        seen items other than the target removed.
    """
    scores = tf.convert_to_tensor(scores, tf.float32)
    targets = tf.cast(targets, tf.int32)
    columns = tf.range(tf.shape(scores)[1])[None, :]
    target_scores = tf.gather(scores, targets, batch_dims=1)
    beats = (scores >= target_scores[:, None]) & (columns != targets[:, None]) & (columns != 0)
    kept = tf.reduce_sum(tf.cast(beats, tf.int32), axis=1)
    if seen is None:
        return kept
    seen = tf.cast(seen, tf.int32)
    rows = tf.broadcast_to(tf.range(tf.shape(seen)[0])[:, None], tf.shape(seen))
    counts = tf.scatter_nd(tf.stack([rows, seen], -1), tf.ones_like(seen), tf.shape(scores, out_type=tf.int32))
    excluded = tf.reduce_sum(tf.cast(beats & (counts == 0), tf.int32), axis=1)
    return kept, excluded


def metrics_from_ranks(ranks: np.ndarray, ks: Sequence[int] = DEFAULT_KS) -> Dict[str, float]:
    """HR@K, NDCG@K and MRR over 0-based ranks.

    Args:
        ranks: 0-based ranks.
        ks: the cut-offs K.

    Returns:
        The means over ``ranks``: ``hr@K`` and ``ndcg@K`` for every K in ``ks``, and ``mrr``.
    """
    return metrics_from_sums(rank_sums(ranks, ks))


def rank_sums(ranks: np.ndarray, ks: Sequence[int] = DEFAULT_KS) -> Dict[str, float]:
    """Per-metric sums over ranks, and their count.

    Sums of parts add up (e.g. the batches of a distributed evaluation), and ``metrics_from_sums``
    turns any total into the metrics.

    Args:
        ranks: 0-based ranks.
        ks: the cut-offs K.

    Returns:
        ``count`` and the sums of ``hr@K`` and ``ndcg@K`` for every K in ``ks``, and of ``mrr``.
    """
    ranks = np.asarray(ranks, np.float64)
    sums = {"count": float(len(ranks))}
    for k in ks:
        hit = ranks < k
        sums[f"hr@{k}"] = float(hit.sum())
        sums[f"ndcg@{k}"] = float(np.where(hit, 1.0 / np.log2(ranks + 2.0), 0.0).sum())
    sums["mrr"] = float((1.0 / (ranks + 1.0)).sum())
    return sums


def metrics_from_sums(sums: Dict[str, float]) -> Dict[str, float]:
    """The metrics of ``rank_sums``' sums, or of a total of them.

    Args:
        sums: ``rank_sums``' result, or the sum of several.

    Returns:
        Every sum but ``count``, divided by ``count``.
    """
    return {name: value / sums["count"] for name, value in sums.items() if name != "count"}


def protocol_metrics(metrics: Dict, protocol: str) -> Dict[str, float]:
    """The flat metrics of one protocol out of ``evaluate``'s result.

    Args:
        metrics: ``evaluate``'s result.
        protocol: one of ``fame_tf.protocols.PROTOCOLS``.

    Returns:
        The protocol's metrics, by name.

    Raises:
        ValueError: for an unknown protocol.
    """
    if protocol not in PROTOCOLS:
        raise ValueError(f"protocol={protocol!r} is not allowed; choose one of {list(PROTOCOLS)}")
    return metrics[EXCLUDED] if protocol == EXCLUDED else {k: v for k, v in metrics.items() if k != EXCLUDED}


# One compiled ranking function per model, traced once for any batch shape: a new tf.function per
# call would trace the whole model again at every validation.
_RANKERS: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def _ranker(model):
    if model not in _RANKERS:
        @tf.function(input_signature=[tf.TensorSpec([None, None], tf.int32), tf.TensorSpec([None], tf.int32),
                                      tf.TensorSpec([None, None], tf.int32)])
        def ranks_of(history, target, seen):
            return target_ranks(model.score(history), target, seen)
        _RANKERS[model] = ranks_of
    return _RANKERS[model]


def array_batches(histories: np.ndarray, targets: np.ndarray, seen: np.ndarray, batch_size: int = 512
                  ) -> Iterator[Tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``(history, targets, seen)`` row blocks of in-memory arrays, for ``evaluate_batches``.

    Args:
        histories: [U, T] item ids.
        targets: [U] item ids.
        seen: [U, S] item ids.
        batch_size: the rows per block.

    Yields:
        ``(history, targets, seen)`` blocks of at most ``batch_size`` rows.
    """
    for start in range(0, len(targets), batch_size):
        rows = slice(start, start + batch_size)
        yield histories[rows], targets[rows], seen[rows]


def evaluate(model, histories: np.ndarray, targets: np.ndarray, seen: np.ndarray, batch_size: int = 512,
             ks: Sequence[int] = DEFAULT_KS, progress: bool = False) -> Dict:
    """Ranks each target against the whole catalogue given its history, under both protocols.

    Args:
        model: the model to evaluate.
        histories: [U, T] item ids: the most recent items of each history, which the model sees.
        targets: [U] item ids.
        seen: [U, S] item ids: the whole history's items (0 for none).
        batch_size: the users per batch.
        ks: the cut-offs K.
        progress: whether to show a progress bar over the users on stdout.

    Returns:
        The seen-kept metrics, with the seen-excluded ones under ``"seen_excluded"``.
    """
    return evaluate_batches(model, array_batches(histories, targets, seen, batch_size), len(targets), ks, progress)


def evaluate_batches(model, batches: Iterable[Tuple[np.ndarray, np.ndarray, np.ndarray]], users: Optional[int] = None,
                     ks: Sequence[int] = DEFAULT_KS, progress: bool = False) -> Dict:
    """``evaluate`` over blocks of users, e.g. streamed from files.

    Args:
        model: the model to evaluate.
        batches: ``(history [B, L], targets [B], seen [B, S])`` blocks (0 pads anywhere).
        users: the number of users, for the progress bar (None: unknown).
        ks: the cut-offs K.
        progress: whether to show a progress bar over the users on stdout.

    Returns:
        The seen-kept metrics, with the seen-excluded ones under ``"seen_excluded"``.
    """
    kept, excluded = batch_ranks(model, batches, users, progress)
    return {**metrics_from_ranks(kept, ks), EXCLUDED: metrics_from_ranks(excluded, ks)}


def batch_ranks(model, batches: Iterable[Tuple[np.ndarray, np.ndarray, np.ndarray]], users: Optional[int] = None,
                progress: bool = False) -> Tuple[np.ndarray, np.ndarray]:
    """Every target's 0-based rank over the whole catalogue, with seen items kept and excluded.

    Args:
        model: the model to evaluate.
        batches: ``evaluate_batches``' blocks.
        users: the number of users, for the progress bar (None: unknown).
        progress: whether to show a progress bar over the users on stdout.

    Returns:
        ``(kept, excluded)``: the ranks (``target_ranks``) of all targets, in order.
    """
    ranks_of = _ranker(model)
    kept, excluded = [], []
    bar = keras.utils.Progbar(users, unit_name="user") if progress else None
    for history, targets, items in batches:
        longest = max(int((history > 0).sum(axis=1).max()), 1)  # shared padding changes no score
        used = np.flatnonzero((items > 0).any(axis=0))  # columns of seen items (0 pads anywhere)
        widest = int(used[-1]) + 1 if len(used) else 1
        ranks = ranks_of(tf.constant(history[:, -longest:], tf.int32), tf.constant(targets, tf.int32),
                         tf.constant(items[:, :widest], tf.int32))
        kept.append(ranks[0].numpy())
        excluded.append(ranks[1].numpy())
        if bar:
            bar.add(len(targets))
    return np.concatenate(kept), np.concatenate(excluded)
