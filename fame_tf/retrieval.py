"""Top-K indexes over a trained model's catalogue for Python services: exact (brute force) or
approximate (ScaNN), both TFRS ``factorized_top_k`` layers.

With logit fusion FAME's score, like SASRec's, is an inner product <q, c_v> of a per-history query
and one vector per item, so retrieval is a maximum-inner-product search. The exported SavedModel
ranks the whole catalogue ([B, d] x [d, |V|]), which is what TF Serving can run; past a few hundred
thousand items an approximate index answers faster (`python -m bench large-catalogue` measures both).
TF Serving cannot load ScaNN's custom ops, so this index is for in-process Python serving.

    recommender = tf_keras.models.load_model(".../serving_model/fame/1")   # or FameRecommender(...)
    index = recommender_index(recommender, kind="scann")
    scores, item_ids = index(tf.constant([["item3", "item9"]]))
"""

from __future__ import annotations

import importlib.util
import math
from typing import Optional

import tensorflow_recommenders as tfrs

from fame_tf.backend import tf
from fame_tf.contract import DEFAULT_K
from fame_tf.core import compact_history

INDEXES = ("brute_force", "scann")


def scann_options(num_candidates: int) -> dict:
    """ScaNN settings for a catalogue size: about sqrt(n) partitions, 5% of them searched, the best
    few hundred quantised hits re-scored exactly. Chosen on recall@10 against brute force at 100k and
    1M items (`python -m bench large-catalogue`). At least 2 partitions, at least 2 searched: ScaNN 1.3.2
    returns one item repeated from a single partition."""
    leaves = max(2, min(num_candidates // 20, round(math.sqrt(num_candidates))))
    return {"num_leaves": leaves, "num_leaves_to_search": min(leaves, max(2, math.ceil(leaves * 0.05))),
            "num_reordering_candidates": 500}


def candidate_index(candidates, identifiers=None, kind: str = "scann", k: int = DEFAULT_K, query_model=None,
                    **options):
    """A TFRS top-K layer over ``candidates`` [n, d] named by ``identifiers`` [n] (default 0..n-1):
    ``layer(queries)`` -> (scores [B, k], identifiers [B, k]). ``query_model`` maps the layer's input
    to query vectors [B, d]; ``options`` override ``scann_options`` for ``kind="scann"``."""
    if kind not in INDEXES:
        raise ValueError(f"kind={kind!r} is not an index; choose one of {list(INDEXES)}")
    if isinstance(k, bool) or not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be an integer >= 1, got {k!r}")
    candidates = tf.convert_to_tensor(candidates, tf.float32)
    count = int(candidates.shape[0])
    if identifiers is not None and int(tf.shape(identifiers)[0]) != count:
        raise ValueError(f"{int(tf.shape(identifiers)[0])} identifiers for {count} candidates")
    k = min(k, count)
    if kind == "brute_force":
        if options:
            raise ValueError(f"brute force takes no options, got {sorted(options)}")
        layer = tfrs.layers.factorized_top_k.BruteForce(query_model=query_model, k=k)
    else:
        if importlib.util.find_spec("scann") is None:  # TFRS's own message would suggest a release that does not fit
            raise ImportError("kind='scann' needs scann==1.3.2 (its last release for TensorFlow 2.16; Linux "
                              "x86-64 wheels only); use kind='brute_force' elsewhere")
        settings = {**scann_options(count), **options}
        if settings["num_reordering_candidates"] is not None:  # None: no exact re-scoring
            settings["num_reordering_candidates"] = max(k, settings["num_reordering_candidates"])
        layer = tfrs.layers.factorized_top_k.ScaNN(query_model=query_model, k=k, **settings)
    return layer.index(candidates, identifiers)


def recommender_index(recommender, kind: str = "scann", k: Optional[int] = None, **options):
    """The top-K of a recommender (``fame_tf.export.FameRecommender``, also as loaded from an
    export) as an index: raw history strings [B, T] -> (scores [B, k], raw item ids [B, k]). The
    scores are the recommender's own (exact for the items an approximate index returns)."""
    model = recommender.model
    if not model.scorer.inner_product:
        raise ValueError("fusion='mixture' scores are not inner products; use the recommender itself "
                         "(it ranks the whole catalogue)")

    @tf.function(input_signature=[tf.TensorSpec([None, None], tf.string)])
    def query(history):
        ids = tf.cast(recommender.lookup(history), tf.int32)
        return model(compact_history(ids, model.config.max_len), training=False)["query"]

    return candidate_index(recommender.candidates[1:], recommender.item_names[1:], kind,
                           k or recommender.k, query_model=query, **options)
