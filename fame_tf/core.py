"""FAME's layers, encoder and recommender written once for both Kerases.

Each class here is a mixin holding a part's whole computation; its concrete classes add the Keras
base class and say which Keras builds their sub-layers (``keras_module``) and where their sibling
parts are (``parts``): tf_keras in ``fame_tf.layers``, ``fame_tf.model`` and ``fame_tf.export``
(training and the SavedModel), Keras 3 in ``fame_tf.keras3`` (the ``.keras`` file). So the two
cannot drift. Only TensorFlow is imported here: Keras 3 apps load the ``.keras`` file without
tf_keras.

Shapes: B batch, T sequence length, d hidden size, H heads, N experts per head, e = d / H.
Sequences are left-padded with item id 0; positions are counted from the most recent item, so the
amount of left padding never changes a real position's output.
"""

from __future__ import annotations

import math
from typing import Dict, Optional, Sequence, Union

from fame_tf.backend import tf

from fame_tf.config import FameConfig
from fame_tf.contract import DEFAULT_K, FACET_WEIGHTS, ITEM_IDS, SCORES

PADDING_ID = 0
MASKED = -1e9  # the score or logit of anything that must never win (padding, excluded items, future keys)


def compact_history(ids: tf.Tensor, max_len: int) -> tf.Tensor:
    """Left-pads [B, T] ids (0 = unknown/padding, anywhere) into [B, L], L <= max_len: the known
    items keep their order, the most recent ``max_len`` are kept, L is the longest such row
    (at least 1). Positions count from the most recent item, so trimming shared padding changes
    no output."""
    known = ids != PADDING_ID
    rank = tf.cumsum(tf.cast(known, tf.int32), axis=1, reverse=True)  # 1 = most recent known item
    keep = known & (rank <= max_len)
    length = tf.maximum(tf.reduce_max(tf.reduce_sum(tf.cast(keep, tf.int32), axis=1)), 1)
    rows = tf.broadcast_to(tf.range(tf.shape(ids)[0])[:, None], tf.shape(ids))
    indices = tf.stack([tf.boolean_mask(rows, keep), length - tf.boolean_mask(rank, keep)], axis=1)
    return tf.scatter_nd(indices, tf.boolean_mask(ids, keep), tf.stack([tf.shape(ids)[0], length]))


def history_mask(history, targets, vocab_size: int) -> tf.Tensor:
    """[B, vocab_size] True at every item of ``history`` [B, T] except padding and the row's target
    ``targets`` [B] (a repeat stays rankable)."""
    history = tf.cast(history, tf.int32)
    batch, length = tf.shape(history)[0], tf.shape(history)[1]
    rows = tf.repeat(tf.range(batch), length)
    counts = tf.scatter_nd(tf.stack([rows, tf.reshape(history, [-1])], axis=1), tf.ones([batch * length], tf.int32),
                           tf.stack([batch, vocab_size]))
    items = tf.range(vocab_size)[None, :]
    return (counts > 0) & (items != tf.cast(targets, tf.int32)[:, None]) & (items != PADDING_ID)


# Weights a FameModel has for training only (the sampled softmax's log-Q table, the attribute
# loss's attribute embeddings); ranking does not use them, so an encoder built for serving
# (fame_tf.keras3) has none.
SAMPLING_PROBABILITY = "sampling_probability"
ATTRIBUTE_EMBEDDINGS = "attribute_embeddings"
TRAINING_ONLY_WEIGHTS = (SAMPLING_PROBABILITY, ATTRIBUTE_EMBEDDINGS)


class KerasPart:
    """What the concrete classes set: ``keras_module`` (tf_keras or Keras 3) and ``parts`` (the
    module of the sibling concrete classes, for parts made of parts)."""

    keras_module = None
    parts = None

    def _normal(self, stddev=0.02):
        return self.keras_module.initializers.TruncatedNormal(stddev=stddev)


class ItemPositionEmbeddingMixin(KerasPart):
    """Item embedding (the table shared with the candidate tower) plus a learned position embedding,
    LayerNorm and dropout. Position 0 is the most recent item."""

    def __init__(self, vocab_size, hidden_size, max_len, dropout=0.0, **kwargs):
        super().__init__(**kwargs)
        self.vocab_size = vocab_size
        self.hidden_size = hidden_size
        self.max_len = max_len
        self.dropout = dropout
        self.norm = self.keras_module.layers.LayerNormalization(epsilon=1e-6, name="norm")
        self.drop = self.keras_module.layers.Dropout(dropout)

    def build(self, input_shape):
        self.item_embeddings = self.add_weight(
            name="item_embeddings", shape=(self.vocab_size, self.hidden_size), initializer=self._normal()
        )
        self.position_embeddings = self.add_weight(
            name="position_embeddings", shape=(self.max_len, self.hidden_size), initializer=self._normal()
        )
        self.norm.build((None, None, self.hidden_size))
        super().build(input_shape)

    def call(self, item_ids, training=None):
        length = tf.shape(item_ids)[1]
        positions = tf.range(length - 1, -1, -1)
        x = tf.gather(self.item_embeddings, item_ids) + tf.gather(self.position_embeddings, positions)
        return self.drop(self.norm(x), training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "vocab_size": self.vocab_size,
            "hidden_size": self.hidden_size,
            "max_len": self.max_len,
            "dropout": self.dropout,
        }


class ExpertAttentionMixin(KerasPart):
    """Causal multi-head self-attention with ``num_experts`` query projections per head.

    Keys and values are shared by a head's experts; a dense router per head (no bias) mixes the
    experts' outputs at every position. With ``num_experts=1`` each head is plain attention.
    ``output_mode="concat"`` concatenates the heads and applies W_O (standard attention);
    ``"heads"`` returns the heads separately, [B, T, H, e], for the facet-aware last layer.
    Returns ``(output, router_weights [B, T, H, N])``.
    """

    def __init__(self, num_heads, num_experts=1, dropout=0.0, output_mode="concat", query_init_std=0.02, **kwargs):
        super().__init__(**kwargs)
        if output_mode not in ("concat", "heads"):
            raise ValueError(f"output_mode={output_mode!r}; choose 'concat' or 'heads'")
        self.num_heads = num_heads
        self.num_experts = num_experts
        self.query_init_std = query_init_std
        self.dropout = dropout
        self.output_mode = output_mode
        self.drop = self.keras_module.layers.Dropout(dropout)

    def build(self, input_shape):
        d = int(input_shape[-1])
        h, n = self.num_heads, self.num_experts
        e = d // h
        self.head_size = e
        self.query_kernel = self.add_weight(name="query_kernel", shape=(d, h, n, e),
                                            initializer=self._normal(self.query_init_std))
        self.query_bias = self.add_weight(name="query_bias", shape=(h, n, e), initializer="zeros")
        self.key_kernel = self.add_weight(name="key_kernel", shape=(d, h, e), initializer=self._normal())
        self.key_bias = self.add_weight(name="key_bias", shape=(h, e), initializer="zeros")
        self.value_kernel = self.add_weight(name="value_kernel", shape=(d, h, e), initializer=self._normal())
        self.value_bias = self.add_weight(name="value_bias", shape=(h, e), initializer="zeros")
        if n > 1:
            self.router_kernel = self.add_weight(
                name="router_kernel", shape=(h, n * e, n), initializer=self._normal()
            )
        if self.output_mode == "concat":
            self.output_kernel = self.add_weight(name="output_kernel", shape=(h, e, d), initializer=self._normal())
            self.output_bias = self.add_weight(name="output_bias", shape=(d,), initializer="zeros")
        super().build(input_shape)

    def attention_weights(self, x, padding_mask, last_only=False):
        """Every expert's attention over the positions, [B, H, N, T or 1, T] (before dropout)."""
        queries = x[:, -1:] if last_only else x
        query = tf.einsum("btd,dhne->bthne", queries, self.query_kernel) + self.query_bias
        key = tf.einsum("btd,dhe->bthe", x, self.key_kernel) + self.key_bias
        logits = tf.einsum("bqhne,bkhe->bhnqk", query, key) / math.sqrt(self.head_size)
        length = tf.shape(x)[1]
        key_positions = tf.range(length)
        query_positions = key_positions[-tf.shape(queries)[1]:]
        # Real keys in the past, and always the position itself: a padded position then depends
        # on nothing but itself (never on later items), and no softmax row is empty.
        causal = key_positions[None, :] <= query_positions[:, None]
        itself = key_positions[None, :] == query_positions[:, None]
        allowed = (causal[None] & padding_mask[:, None, :]) | itself[None]
        logits += tf.cast(tf.logical_not(allowed), logits.dtype)[:, None, None] * MASKED
        return tf.nn.softmax(logits, axis=-1)

    def call(self, x, padding_mask, training=None, last_only=False):
        """``padding_mask`` [B, T] is True at real items. ``last_only``: outputs at the last
        position only ([B, 1, ...]), all a recommendation needs (keys and values still see all T)."""
        e = self.head_size
        value = tf.einsum("btd,dhe->bthe", x, self.value_kernel) + self.value_bias
        weights = self.drop(self.attention_weights(x, padding_mask, last_only), training=training)
        experts = tf.einsum("bhnqk,bkhe->bqhne", weights, value)  # [B, T or 1, H, N, e]
        if self.num_experts > 1:
            shape = tf.shape(experts)
            stacked = tf.reshape(experts, [shape[0], shape[1], self.num_heads, self.num_experts * e])
            router = tf.nn.softmax(tf.einsum("bthx,hxn->bthn", stacked, self.router_kernel), axis=-1)
        else:
            router = tf.ones_like(experts[..., 0])
        heads = tf.einsum("bthn,bthne->bthe", router, experts)
        if self.output_mode == "concat":
            return tf.einsum("bthe,hed->btd", heads, self.output_kernel) + self.output_bias, router
        return heads, router

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "num_experts": self.num_experts,
            "dropout": self.dropout,
            "output_mode": self.output_mode,
            "query_init_std": self.query_init_std,
        }


class PositionwiseFeedForwardMixin(KerasPart):
    """Two dense layers on the last axis; applied to [B, T, H, e] it is shared by all heads.
    Dropout follows the output, and with ``inner_dropout`` also the activation (SASRec's original
    block; RecBole's and BSARec's have only the outer one)."""

    def __init__(self, multiplier=1, activation="gelu", dropout=0.0, inner_dropout=True, **kwargs):
        super().__init__(**kwargs)
        self.multiplier = multiplier
        self.activation = activation
        self.dropout = dropout
        self.inner_dropout = inner_dropout
        self.drop = self.keras_module.layers.Dropout(dropout)

    def build(self, input_shape):
        width = int(input_shape[-1])
        self.inner = self.keras_module.layers.Dense(
            width * self.multiplier, activation=self.activation, kernel_initializer=self._normal(), name="inner"
        )
        self.outer = self.keras_module.layers.Dense(width, kernel_initializer=self._normal(), name="outer")
        self.inner.build(input_shape)
        self.outer.build(tuple(input_shape[:-1]) + (width * self.multiplier,))
        super().build(input_shape)

    def call(self, x, training=None):
        inner = self.inner(x)
        if self.inner_dropout:
            inner = self.drop(inner, training=training)
        return self.drop(self.outer(inner), training=training)

    def get_config(self):
        return {
            **super().get_config(),
            "multiplier": self.multiplier,
            "activation": self.activation,
            "dropout": self.dropout,
            "inner_dropout": self.inner_dropout,
        }


class TransformerBlockMixin(KerasPart):
    """A transformer block, post-LN (``norm_first=False``: LayerNorm after each residual sum, as in
    SASRec, RecBole and BSARec) or pre-LN (LayerNorm on each sub-layer's input, as in pmixer's
    SASRec; the model then normalises the last block's output). With ``facet_heads=True`` it is
    FAME's last layer: the heads stay separate ([B, T, H, e], no W_O), each head's residual is its
    e-slice of the input (or nothing), and the feed-forward net and the LayerNorms after the
    attention work over e and are shared by the heads. Returns ``(output, router_weights)``."""

    def __init__(
        self,
        num_heads,
        num_experts=1,
        facet_heads=False,
        ffn_multiplier=1,
        activation="gelu",
        dropout=0.0,
        attention_dropout=0.0,
        head_residual="slice",
        ffn_inner_dropout=True,
        norm_first=False,
        query_init_std=0.02,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.num_heads = num_heads
        self.num_experts = num_experts
        self.facet_heads = facet_heads
        self.ffn_multiplier = ffn_multiplier
        self.activation = activation
        self.dropout = dropout
        self.attention_dropout = attention_dropout
        self.head_residual = head_residual
        self.ffn_inner_dropout = ffn_inner_dropout
        self.norm_first = norm_first
        self.query_init_std = query_init_std
        self.attention = self.parts.ExpertAttention(
            num_heads,
            num_experts,
            attention_dropout,
            output_mode="heads" if facet_heads else "concat",
            query_init_std=query_init_std,
            name="attention",
        )
        self.drop = self.keras_module.layers.Dropout(dropout)
        self.attention_norm = self.keras_module.layers.LayerNormalization(epsilon=1e-6, name="attention_norm")
        self.ffn = self.parts.PositionwiseFeedForward(ffn_multiplier, activation, dropout, ffn_inner_dropout, name="ffn")
        self.ffn_norm = self.keras_module.layers.LayerNormalization(epsilon=1e-6, name="ffn_norm")

    def build(self, input_shape):
        d = int(input_shape[-1])
        width = d // self.num_heads if self.facet_heads else d
        inner_shape = (None, None, self.num_heads, width) if self.facet_heads else (None, None, d)
        self.attention.build(input_shape)
        self.attention_norm.build((None, None, d) if self.norm_first else inner_shape)
        self.ffn.build(inner_shape)
        self.ffn_norm.build(inner_shape)
        super().build(input_shape)

    def attention_weights(self, x, padding_mask, last_only=False):
        """The attention's weights on this block's input (see ``ExpertAttention.attention_weights``)."""
        return self.attention.attention_weights(self._attention_input(x), padding_mask, last_only)

    def _attention_input(self, x):
        return self.attention_norm(x) if self.norm_first else x

    def call(self, x, padding_mask, training=None, last_only=False):
        """``last_only``: the last position's output only, [B, 1, ...] (see ``ExpertAttention``)."""
        attended, router = self.attention(self._attention_input(x), padding_mask, training=training, last_only=last_only)
        residual = x[:, -1:] if last_only else x
        if self.facet_heads:
            shape = tf.shape(residual)
            residual = tf.reshape(residual, [shape[0], shape[1], self.num_heads, -1])
            if self.head_residual == "none":
                residual = tf.zeros_like(residual)
        hidden = residual + self.drop(attended, training=training)
        if self.norm_first:
            return hidden + self.ffn(self.ffn_norm(hidden), training=training), router
        hidden = self.attention_norm(hidden)
        return self.ffn_norm(hidden + self.ffn(hidden, training=training)), router

    def get_config(self):
        return {
            **super().get_config(),
            "num_heads": self.num_heads,
            "num_experts": self.num_experts,
            "facet_heads": self.facet_heads,
            "ffn_multiplier": self.ffn_multiplier,
            "activation": self.activation,
            "dropout": self.dropout,
            "attention_dropout": self.attention_dropout,
            "head_residual": self.head_residual,
            "ffn_inner_dropout": self.ffn_inner_dropout,
            "norm_first": self.norm_first,
            "query_init_std": self.query_init_std,
        }


class FacetGateMixin(KerasPart):
    """g = softmax(W_g [F^(1); ...; F^(H)] + b_g): one weight per head and position, [B, T, H].
    ``mode="uniform"`` is the ablation g_h = 1/H."""

    def __init__(self, mode="learned", **kwargs):
        super().__init__(**kwargs)
        self.mode = mode

    def build(self, input_shape):
        self.num_heads = int(input_shape[-2])
        if self.mode == "learned":
            self.dense = self.keras_module.layers.Dense(self.num_heads, kernel_initializer=self._normal(), name="dense")
            self.dense.build((None, None, self.num_heads * int(input_shape[-1])))
        super().build(input_shape)

    def call(self, heads):
        if self.mode == "uniform":
            return tf.ones_like(heads[..., 0]) / self.num_heads
        shape = tf.shape(heads)
        return tf.nn.softmax(self.dense(tf.reshape(heads, [shape[0], shape[1], -1])), axis=-1)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


class FacetItemProjectionMixin(KerasPart):
    """Candidate tower c_v = e_v W_f, where the d x d matrix W_f stacks the per-head projections
    W_f^(h) (d x e) side by side, so c_v = concat_h x_v^(h). ``mode="identity"`` uses W_f = I.

    A learned W_f starts at the identity: from a small random start the product e_v W_f of two
    small matrices learns very slowly (FAME then trailed SASRec far behind in the first epochs)."""

    def __init__(self, mode="learned", **kwargs):
        super().__init__(**kwargs)
        self.mode = mode

    def build(self, input_shape):
        d = int(input_shape[-1])
        if self.mode == "learned":
            self.kernel = self.add_weight(name="kernel", shape=(d, d), initializer="identity")
        super().build(input_shape)

    def call(self, item_embeddings):
        if self.mode == "identity":
            return item_embeddings
        return tf.matmul(item_embeddings, self.kernel)

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


class HeadFusion:
    """The one scorer of items for per-history outputs (``EncoderMixin.encode``/``call``), used by
    training, evaluation, the export, explanations and retrieval alike; it has no weights.

    SASRec, and FAME with ``fusion="logit"``: the inner product <q, c_v>, where FAME's query q =
    concat_h(g_h F^(h)) already holds the gate and the logit scale, so the score is
    sum_h g_h * scale * <F^(h), x_v^(h)> (``head_parts``). FAME with ``fusion="mixture"``: the log of
    the gate-weighted mixture of the heads' own softmaxes, log sum_h g_h softmax(scale * s_h)(v):
    log-probabilities, and not an inner product.

    Args:
        num_heads: H.
        facets: whether the outputs have heads (FAME) or are one query (SASRec).
        fusion: ``"logit"`` or ``"mixture"``.
        head_scale: the logit scale of each head's score.
    """

    def __init__(self, num_heads: int, facets: bool, fusion: str = "logit", head_scale: float = 1.0):
        self.num_heads, self.facets, self.fusion, self.head_scale = num_heads, facets, fusion, head_scale

    @property
    def log_probabilities(self) -> bool:
        """Whether ``scores`` are normalised log-probabilities (a mixture) rather than logits."""
        return self.facets and self.fusion == "mixture"

    @property
    def inner_product(self) -> bool:
        """Whether a score is <query, candidate>, so a maximum-inner-product index can rank items."""
        return not self.log_probabilities

    def scores(self, outputs: Dict[str, tf.Tensor], catalogue: tf.Tensor) -> tf.Tensor:
        """Scores [M, V] of every row of the catalogue's candidate table [V, d] (row 0 is padding and
        scores ``MASKED``)."""
        if self.log_probabilities:
            log_probs = (tf.nn.log_softmax(self.head_scores(outputs, catalogue), axis=-1)
                         + tf.math.log(outputs["gate"])[..., None])
            return tf.reduce_logsumexp(log_probs, axis=1)
        return _mask_padding(tf.matmul(outputs["query"], catalogue, transpose_b=True))

    def head_scores(self, outputs: Dict[str, tf.Tensor], catalogue: tf.Tensor) -> tf.Tensor:
        """Each head's own score [M, H, V], s_h(v) = scale * <F^(h), x_v^(h)> (no gate); padding
        scores ``MASKED``."""
        heads = outputs["heads"]
        per_head = tf.einsum("mhe,vhe->mhv", heads, tf.reshape(catalogue, [-1, self.num_heads, heads.shape[-1]]))
        return _mask_padding(per_head * self.head_scale)

    def head_parts(self, outputs: Dict[str, tf.Tensor], candidates: tf.Tensor) -> tf.Tensor:
        """Each head's part [M, K, H] of the inner-product scores of ``candidates`` [K, d]: the parts
        sum to the score. ValueError for a mixture, whose score is a log-sum-exp."""
        if not (self.facets and self.inner_product):
            raise ValueError("per-head score parts exist for FAME with fusion=logit only (a mixture's score is a "
                             "log-sum-exp)")
        query = tf.reshape(outputs["query"], [tf.shape(outputs["query"])[0], self.num_heads, -1])
        return tf.einsum("mhe,khe->mkh", query, tf.reshape(candidates, [tf.shape(candidates)[0], self.num_heads, -1]))


def _mask_padding(scores: tf.Tensor) -> tf.Tensor:
    """``scores`` [..., V] with column 0, the padding item, set to ``MASKED``."""
    return tf.where(tf.range(tf.shape(scores)[-1]) != PADDING_ID, scores, MASKED)


class EncoderMixin(KerasPart):
    """The recommender's inference path over item ids 1..num_items (0 is padding): the causal
    transformer (query tower; in FAME its last layer keeps the heads F^(h) separate and the gate g
    fuses them, q = concat_h(g_h F^(h))) and the candidate tower c_v = e_v W_f on the item table
    tied with the input embedding. ``call`` returns the last position's ``query`` [B, d], and for
    FAME the ``gate`` [B, H] and ``router`` [B, H, N] weights that explain a recommendation.
    """

    def __init__(self, config: Union[FameConfig, Dict], **kwargs):
        super().__init__(**kwargs)
        if isinstance(config, dict):
            config = FameConfig.from_dict(config)
        if config.num_items < 1:
            raise ValueError("num_items must be set (>= 1) before building a model")
        self.config = config
        self.is_facet = config.variant == "fame"
        self.vocab_size = config.num_items + 1
        self.embedding = self.parts.ItemPositionEmbedding(
            self.vocab_size, config.hidden_size, config.max_len, config.dropout, name="embedding"
        )
        self.blocks = [
            self.parts.TransformerBlock(
                config.num_heads,
                num_experts=config.num_experts if last and self.is_facet else 1,
                facet_heads=last and self.is_facet,
                ffn_multiplier=config.facet_ffn_multiplier if last and self.is_facet else config.ffn_multiplier,
                ffn_inner_dropout=config.ffn_inner_dropout,
                norm_first=config.norm_placement == "pre",
                activation=config.activation,
                dropout=config.dropout,
                attention_dropout=config.attention_dropout,
                head_residual=config.head_residual,
                query_init_std=config.expert_init_std if last and self.is_facet else 0.02,
                name=f"block_{i}",
            )
            for i in range(config.num_layers)
            for last in [i == config.num_layers - 1]
        ]
        # Pre-LN blocks leave their output unnormalised; one LayerNorm (over e for FAME's heads) closes them.
        self.final_norm = (self.keras_module.layers.LayerNormalization(epsilon=1e-6, name="final_norm")
                           if config.norm_placement == "pre" else None)
        # Multiplies each head's score (config.logit_scale); 1 for SASRec, which has no head scores.
        self.head_score_scale = float(config.num_heads) if self.is_facet and config.logit_scale == "heads" else 1.0
        self.scorer = HeadFusion(config.num_heads, self.is_facet, config.fusion, self.head_score_scale)
        if self.is_facet:
            self.gate = self.parts.FacetGate(config.gate, name="gate")
            self.item_projection = self.parts.FacetItemProjection(config.item_projection, name="item_projection")

    # -- towers -----------------------------------------------------------------------------------
    def build(self, input_shape=None):
        """Creates every weight (the input is a [B, T] id matrix of any shape)."""
        if not self.built:
            self.built = True  # before the call below, which would otherwise build again
            self(tf.zeros((1, self.config.max_len), tf.int32))
            self.candidates()

    def encode(self, item_ids, training=None, last_only=False) -> Dict[str, tf.Tensor]:
        """Outputs at every position: ``query`` [B, T, d]; FAME adds ``heads`` [B, T, H, e],
        ``gate`` [B, T, H] and ``router`` [B, T, H, N]. ``last_only``: T = 1, the last position,
        whose last layer then skips the other positions' queries and feed-forward nets."""
        item_ids = tf.cast(item_ids, tf.int32)
        padding_mask = item_ids != PADDING_ID
        x = self.embedding(item_ids, training=training)
        for i, block in enumerate(self.blocks):
            x, router = block(x, padding_mask, training=training, last_only=last_only and i == len(self.blocks) - 1)
        if self.final_norm is not None:
            x = self.final_norm(x)
        if not self.is_facet:
            return {"query": x}
        gate = self.gate(x)
        shape = tf.shape(x)
        query = tf.reshape(x * (gate[..., None] * self.head_score_scale), [shape[0], shape[1], self.config.hidden_size])
        return {"query": query, "heads": x, "gate": gate, "router": router}

    def candidates(self, item_ids=None) -> tf.Tensor:
        """Candidate embeddings [num_items + 1, d] (row 0 is padding and never scored), or those of
        ``item_ids`` only: the sampled softmax then projects its batch's items, not the catalogue."""
        table = self.embedding.item_embeddings
        if item_ids is not None:
            table = tf.gather(table, item_ids)
        return self.item_projection(table) if self.is_facet else table

    def call(self, item_ids, training=None) -> Dict[str, tf.Tensor]:
        outputs = self.encode(item_ids, training=training, last_only=True)
        return {name: value[:, -1] for name, value in outputs.items()}

    # -- scoring ----------------------------------------------------------------------------------
    def score_outputs(self, outputs: Dict[str, tf.Tensor], candidates: Optional[tf.Tensor] = None) -> tf.Tensor:
        """``self.scorer.scores`` of the whole catalogue: [M, num_items + 1] for per-sequence
        ``outputs`` (from ``call`` or masked positions of ``encode``). ``candidates`` defaults to
        ``self.candidates()``; a server passes a precomputed copy."""
        return self.scorer.scores(outputs, self.candidates() if candidates is None else candidates)

    def head_scores(self, outputs: Dict[str, tf.Tensor], candidates: Optional[tf.Tensor] = None) -> tf.Tensor:
        """``self.scorer.head_scores`` of the whole catalogue: [M, H, num_items + 1]."""
        return self.scorer.head_scores(outputs, self.candidates() if candidates is None else candidates)

    def score(self, item_ids) -> tf.Tensor:
        """Full-catalogue scores [B, num_items + 1] of the next item after each history."""
        return self.score_outputs(self(item_ids, training=False))

    def get_config(self):
        return {"config": self.config.to_dict(), "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(config["config"], name=config.get("name"))


class RecommenderMixin(KerasPart):
    """``history`` strings [B, T] -> ``{"item_ids", "scores", "facet_weights"}``: the top-K items of
    an encoder (``EncoderMixin``) over the whole catalogue (see ``fame_tf.export``).

    ``vocabulary[i]`` is the raw id of model item ``i + 1``. ``lookup`` maps a history to model ids
    ([B, T] int, 0 for "" and unknown ids); by default a ``StringLookup`` over ``vocabulary``. The
    pipeline passes the Transform graph itself, so the served mapping is the Transform's, whose
    vocabulary file ``vocabulary`` was read from; a model revived from its config gets the default."""

    def __init__(self, model, vocabulary: Sequence[str], k: int = DEFAULT_K,
                 lookup=None, **kwargs):
        super().__init__(**kwargs)
        vocabulary = [str(item) for item in vocabulary]
        if len(vocabulary) != model.config.num_items:
            raise ValueError(f"vocabulary has {len(vocabulary)} items, the model {model.config.num_items}")
        if "" in vocabulary:
            raise ValueError('"" cannot be an item id: it is the padding of a history')
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.model = model
        self.vocabulary = vocabulary
        self.k = min(k, len(vocabulary))
        # Out-of-vocabulary (and "") -> 0, the padding id; vocabulary[i] -> i + 1, the model's ids.
        self.lookup = lookup if lookup is not None else self.keras_module.layers.StringLookup(
            vocabulary=vocabulary, num_oov_indices=1, mask_token=None)
        self.item_names = tf.constant([""] + vocabulary)
        # The candidate matrix, computed once here instead of on every request (on Beauty it is
        # half of a single request's time). It is a snapshot: build a new recommender after training.
        model.build()
        candidates = model.candidates()
        self.candidates = self.add_weight(name="candidates", shape=candidates.shape, trainable=False,
                                          initializer="zeros")
        self.candidates.assign(candidates)

    def call(self, history, exclude_history: bool = False) -> Dict[str, tf.Tensor]:
        ids = tf.cast(self.lookup(history), tf.int32)
        outputs = self.model(compact_history(ids, self.model.config.max_len), training=False)
        scores = self.model.score_outputs(outputs, self.candidates)
        if exclude_history:
            rows = tf.broadcast_to(tf.range(tf.shape(ids)[0])[:, None], tf.shape(ids))
            seen = tf.reshape(tf.stack([rows, ids], axis=-1), [-1, 2])
            scores = tf.tensor_scatter_nd_update(scores, seen, tf.fill([tf.shape(seen)[0]], MASKED))
        top = tf.math.top_k(scores, k=self.k)
        gate = outputs.get("gate", tf.zeros([tf.shape(ids)[0], 0]))
        return {ITEM_IDS: tf.gather(self.item_names, top.indices), SCORES: top.values, FACET_WEIGHTS: gate}

    def get_config(self):
        return {"model": self.keras_module.layers.serialize(self.model), "vocabulary": list(self.vocabulary), "k": self.k,
                "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        model = cls.keras_module.layers.deserialize(config["model"], custom_objects=custom_objects)
        return cls(model, config["vocabulary"], config["k"], name=config.get("name"))
