"""What a trained FAME model does with its facets: the gate over heads and the routers over each
head's experts for a set of histories, how each head adds up to a recommended item's score, and
which item attributes each head's own recommendations concentrate on."""

from __future__ import annotations

from typing import Dict, Tuple

import numpy as np

from fame_tf import core
from fame_tf.backend import tf
from fame_tf.attributes import ItemAttributes, concentration
from fame_tf.model import FameModel


def _require_facets(model: FameModel) -> None:
    if not model.is_facet:
        raise ValueError(f"a {model.config.variant} model has no facet gate or routers; explanations need variant=fame")


def facet_weights(model: FameModel, histories: np.ndarray, batch_size: int = 512) -> Dict[str, np.ndarray]:
    """FAME's gate and router weights at the last position of each history.

    Args:
        model: a FAME model.
        histories: [U, T] item ids, left-padded with 0.
        batch_size: the histories per forward pass.

    Returns:
        ``gate`` [U, H] and ``router`` [U, H, N].

    Raises:
        ValueError: for a model without facets (not ``variant="fame"``).
    """
    _require_facets(model)
    outputs = [model(histories[start:start + batch_size], training=False)
               for start in range(0, len(histories), batch_size)]
    return {name: np.concatenate([o[name].numpy() for o in outputs]) for name in ("gate", "router")}


def normalised_entropy(weights: np.ndarray) -> np.ndarray:
    """Entropy over the last axis divided by its maximum: 1 uniform, 0 one-hot.

    Args:
        weights: [..., n] distributions over the last axis.

    Returns:
        [...] normalised entropies (0 for n = 1, a single choice).
    """
    if weights.shape[-1] < 2:
        return np.zeros(weights.shape[:-1])
    entropy = -(weights * np.log(np.maximum(weights, 1e-12))).sum(-1)
    return entropy / np.log(weights.shape[-1])


def head_contributions(model: FameModel, history: np.ndarray, k: int = 5) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """How each head adds up to the scores of one history's top items.

    The parts sum to the score: with logit fusion the score is sum_h g_h <F^(h), c_v^(h)>, times the
    logit scale.

    Args:
        model: a FAME model.
        history: [T] item ids, left-padded with 0.
        k: the number of top items.

    Returns:
        ``(items, parts, gate)``: the top-``k`` item ids [k], each head's part of their scores [k, H]
        and the gate [H].

    Raises:
        ValueError: for a model without facets, or with ``fusion="mixture"`` (``HeadFusion.head_parts``).
    """
    _require_facets(model)
    outputs = model(np.asarray(history)[None], training=False)
    items = tf.math.top_k(model.score_outputs(outputs)[0], k=k).indices
    parts = model.scorer.head_parts(outputs, model.candidates(items))[0]
    return items.numpy(), parts.numpy(), outputs["gate"][0].numpy()


def top_items_per_view(model: FameModel, histories: np.ndarray, k: int = 10,
                       batch_size: int = 512) -> Dict[str, np.ndarray]:
    """Each history's top items by the model's score and, for FAME, by each head's own score alone.

    A history's own items are left out, so a list shows what the view recommends, not what it repeats.

    Args:
        model: a FAME or SASRec model.
        histories: [U, T] item ids, left-padded with 0.
        k: the length of a list.
        batch_size: the histories per forward pass.

    Returns:
        Per view, ``"fused"`` and for FAME ``"head 1"``, ...: the top-``k`` item ids [U, k].
    """
    views: Dict[str, list] = {}
    for start in range(0, len(histories), batch_size):
        history = histories[start:start + batch_size]
        outputs = model(history, training=False)
        seen = core.history_mask(history, tf.zeros(len(history), tf.int32), model.vocab_size)
        scores = {"fused": model.score_outputs(outputs)}
        if model.is_facet:
            per_head = model.head_scores(outputs)
            scores.update({f"head {h + 1}": per_head[:, h] for h in range(model.config.num_heads)})
        for name, score in scores.items():
            views.setdefault(name, []).append(tf.math.top_k(tf.where(seen, core.MASKED, score), k=k).indices.numpy())
    return {name: np.concatenate(parts) for name, parts in views.items()}


def attribute_concentration(model: FameModel, histories: np.ndarray, item_attributes: ItemAttributes,
                            k: int = 10, seed: int = 0) -> Dict[str, Dict]:
    """How strongly each view's top-``k`` lists concentrate on one attribute, beside chance.

    Per view (``top_items_per_view``): the concentration (``attributes.concentration``), and the same
    with the attribute lists dealt to other items (``shuffled_share``): a view whose lists follow
    attributes stands above its shuffled share.

    Args:
        model: a FAME or SASRec model.
        histories: [U, T] item ids, left-padded with 0.
        item_attributes: the items' attributes.
        k: the length of a list.
        seed: the seed of the attribute lists' shuffle (``ItemAttributes.shuffled``).

    Returns:
        Per view: ``share`` and ``top_attributes`` (``attributes.concentration``) and ``shuffled_share``.
    """
    shuffled = item_attributes.shuffled(seed)
    out = {}
    for name, items in top_items_per_view(model, histories, k).items():
        out[name] = {**concentration(items, item_attributes), "shuffled_share": concentration(items, shuffled)["share"]}
    return out
