"""The computation of FAME's and SASRec's layers, written once for both Kerases: each class is a
mixin whose concrete classes (``fame_tf.layers`` for tf_keras, ``fame_tf.keras3`` for Keras 3) add
the Keras base class, the Keras that builds their sub-layers (``keras_module``) and the module of
their sibling parts (``parts``). Only TensorFlow is imported here.

Shapes: B batch, T sequence length, d hidden size, H heads, N experts per head, e = d / H.
Sequences are left-padded with item id 0; positions are counted from the most recent item, so the
amount of left padding never changes a real position's output.
"""

from __future__ import annotations

import math

from fame_tf.backend import tf

PADDING_ID = 0
MASKED = -1e9  # the score or logit of anything that must never win (padding, excluded items, future keys)


class KerasPart:
    """What the concrete classes set: ``keras_module`` (tf_keras or Keras 3) and ``parts`` (the
    module of the sibling concrete classes, for parts made of parts)."""

    keras_module = None
    parts = None

    def _normal(self, stddev=0.02):
        return self.keras_module.initializers.TruncatedNormal(stddev=stddev)


class ItemPositionEmbeddingMixin(KerasPart):
    """Item embedding plus a learned position embedding, followed by LayerNorm and dropout.

    The item table is the one shared with the candidate tower. Positions count from the end: position 0
    is the most recent item.

    Args:
        vocab_size: V, the rows of the item table (row 0 is the padding item).
        hidden_size: d.
        max_len: the number of learned positions, the longest T.
        dropout: dropout rate after the LayerNorm.
        **kwargs: base layer keyword arguments, e.g. ``name``.

    Call args:
        item_ids: [B, T] int item ids, left-padded with 0.
        training: whether dropout is applied.

    Input shape:
        [B, T]

    Output shape:
        [B, T, d]
    """

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

    Args:
        num_heads: H.
        num_experts: N, the query projections (experts) per head.
        dropout: dropout rate of the attention weights.
        output_mode: ``"concat"`` concatenates the heads and applies W_O (standard attention);
            ``"heads"`` returns the heads separately, [B, T, H, e], for the facet-aware last layer.
        query_init_std: standard deviation of the truncated-normal start of the query projections.
        **kwargs: base layer keyword arguments, e.g. ``name``.

    Call args:
        x: [B, T, d] input.
        padding_mask: [B, T] bool, True at real items.
        training: whether dropout is applied.
        last_only: outputs at the last position only ([B, 1, ...]), all a recommendation needs (keys
            and values still see all T).

    Input shape:
        ``x`` [B, T, d]; ``padding_mask`` [B, T].

    Output shape:
        ``(output, router_weights)``: ``output`` [B, T, d] (``"concat"``) or [B, T, H, e] (``"heads"``),
        ``router_weights`` [B, T, H, N]; T is 1 with ``last_only``.
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
        """Every expert's attention over the positions, before dropout.

        Args:
            x: [B, T, d] input.
            padding_mask: [B, T] bool, True at real items.
            last_only: the last position's queries only.

        Returns:
            [B, H, N, T, T] weights (queries, then keys), or [B, H, N, 1, T] with ``last_only``.
        """
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
    """Position-wise feed-forward net: two dense layers on the last axis, then dropout.

    Applied to [B, T, H, e] it is shared by all heads. Dropout follows the output, and with
    ``inner_dropout`` also the activation (SASRec's original block; RecBole's and BSARec's have only the
    outer one).

    Args:
        multiplier: the inner width, in units of the input's last axis.
        activation: the inner layer's activation.
        dropout: dropout rate.
        inner_dropout: whether dropout also follows the activation, not only the output.
        **kwargs: base layer keyword arguments, e.g. ``name``.

    Call args:
        x: the input, [B, T, d] or FAME's heads [B, T, H, e].
        training: whether dropout is applied.

    Input shape:
        [B, T, d] or [B, T, H, e]

    Output shape:
        Same as the input.
    """

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
    """Transformer block: ``ExpertAttention``, then ``PositionwiseFeedForward``, each with a residual.

    Post-LN (``norm_first=False``: LayerNorm after each residual sum, as in SASRec, RecBole and
    BSARec) or pre-LN (LayerNorm on each sub-layer's input, as in pmixer's SASRec; the model then
    normalises the last block's output). With ``facet_heads=True`` it is FAME's last layer: the heads
    stay separate ([B, T, H, e], no W_O), each head's residual is its e-slice of the input (or
    nothing), and the feed-forward net and the LayerNorms after the attention work over e and are
    shared by the heads.

    Args:
        num_heads: H.
        num_experts: N, the query projections (experts) per head.
        facet_heads: whether this is FAME's last layer, whose heads stay separate.
        ffn_multiplier: the feed-forward net's inner width, in units of its input width (d, or e with
            ``facet_heads``).
        activation: the feed-forward net's activation.
        dropout: dropout rate of the attention's output and of the feed-forward net.
        attention_dropout: dropout rate of the attention weights.
        head_residual: with ``facet_heads``, ``"slice"`` (each head's residual is its e-slice of the
            input) or ``"none"`` (no residual).
        ffn_inner_dropout: whether dropout also follows the feed-forward activation.
        norm_first: pre-LN (True) or post-LN (False).
        query_init_std: standard deviation of the truncated-normal start of the query projections.
        **kwargs: base layer keyword arguments, e.g. ``name``.

    Call args:
        x: [B, T, d] input.
        padding_mask: [B, T] bool, True at real items.
        training: whether dropout is applied.
        last_only: the last position's output only, [B, 1, ...] (see ``ExpertAttention``).

    Input shape:
        ``x`` [B, T, d]; ``padding_mask`` [B, T].

    Output shape:
        ``(output, router_weights)``: ``output`` [B, T, d], or [B, T, H, e] with ``facet_heads``;
        ``router_weights`` [B, T, H, N]; T is 1 with ``last_only``.
    """

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
        """The attention's weights on this block's input (see ``ExpertAttention.attention_weights``;
        with ``norm_first`` the attention sees the input after its LayerNorm)."""
        return self.attention.attention_weights(self._attention_input(x), padding_mask, last_only)

    def _attention_input(self, x):
        return self.attention_norm(x) if self.norm_first else x

    def call(self, x, padding_mask, training=None, last_only=False):
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
    """FAME's facet gate: one weight per head and position, g = softmax(W_g [F^(1); ...; F^(H)] + b_g).

    ``mode="uniform"`` is the ablation g_h = 1/H.

    Args:
        mode: ``"learned"`` or ``"uniform"``.
        **kwargs: base layer keyword arguments, e.g. ``name``.

    Call args:
        heads: the heads F^(h), [B, T, H, e].

    Input shape:
        [B, T, H, e]

    Output shape:
        [B, T, H]
    """

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
    """FAME's candidate tower, c_v = e_v W_f.

    The d x d matrix W_f stacks the per-head projections W_f^(h) (d x e) side by side, so
    c_v = concat_h x_v^(h). ``mode="identity"`` uses W_f = I. A learned W_f starts at the identity:
    from a small random start the product e_v W_f of two small matrices learns very slowly (FAME then
    trailed SASRec far behind in the first epochs).

    Args:
        mode: ``"learned"`` or ``"identity"``.
        **kwargs: base layer keyword arguments, e.g. ``name``.

    Call args:
        item_embeddings: item embeddings e_v, [M, d]: the item table [V, d] or some of its rows.

    Input shape:
        [M, d]

    Output shape:
        [M, d]
    """

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
