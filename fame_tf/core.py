"""FAME's encoder, scorer and recommender written once for both Kerases (their layers'
computation is in ``fame_tf.core_layers``).

Each Keras class here is a mixin holding a part's whole computation; its concrete classes add the
Keras base class and say which Keras builds their sub-layers (``keras_module``) and where their
sibling parts are (``parts``): tf_keras in ``fame_tf.layers``, ``fame_tf.model`` and
``fame_tf.export`` (training and the SavedModel), Keras 3 in ``fame_tf.keras3`` (the ``.keras``
file). So the two cannot drift. Only TensorFlow is imported here: Keras 3 apps load the ``.keras``
file without tf_keras.

Shapes: B batch, T sequence length, d hidden size, H heads, N experts per head, e = d / H.
Sequences are left-padded with item id 0; positions are counted from the most recent item, so the
amount of left padding never changes a real position's output.
"""

from __future__ import annotations

from typing import Dict, Optional, Sequence, Union

from fame_tf.backend import tf

from fame_tf.config import FameConfig
from fame_tf.contract import DEFAULT_K, FACET_WEIGHTS, ITEM_IDS, SCORES
from fame_tf.core_layers import MASKED, PADDING_ID, KerasPart

def compact_history(ids: tf.Tensor, max_len: int) -> tf.Tensor:
    """Compacts id rows into a left-padded [B, L] history of their most recent known items.

    The known items keep their order, the most recent ``max_len`` are kept, and L is the longest such
    row (at least 1). Positions count from the most recent item, so trimming shared padding changes
    no output.

    Args:
        ids: [B, T] int item ids, 0 for unknown items and padding, anywhere in a row.
        max_len: the most items kept per row.

    Returns:
        [B, L] ids, L <= ``max_len``, left-padded with 0.
    """
    known = ids != PADDING_ID
    rank = tf.cumsum(tf.cast(known, tf.int32), axis=1, reverse=True)  # 1 = most recent known item
    keep = known & (rank <= max_len)
    length = tf.maximum(tf.reduce_max(tf.reduce_sum(tf.cast(keep, tf.int32), axis=1)), 1)
    rows = tf.broadcast_to(tf.range(tf.shape(ids)[0])[:, None], tf.shape(ids))
    indices = tf.stack([tf.boolean_mask(rows, keep), length - tf.boolean_mask(rank, keep)], axis=1)
    return tf.scatter_nd(indices, tf.boolean_mask(ids, keep), tf.stack([tf.shape(ids)[0], length]))


def history_mask(history, targets, vocab_size: int) -> tf.Tensor:
    """Marks the items of each row's history, except padding and the row's target.

    The target is left unmarked even when it is in the history, so a repeat stays rankable.

    Args:
        history: [B, T] item ids.
        targets: [B] item ids, one per row.
        vocab_size: V, the number of item ids including padding.

    Returns:
        [B, V] bool, True at the row's history items.
    """
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


class HeadFusion:
    """The one scorer of items for per-history outputs (``EncoderMixin.encode``/``call``).

    Training, evaluation, the export, explanations and retrieval all use it; it has no weights.
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
        """Scores of every catalogue item for each output row.

        Args:
            outputs: per-history outputs: ``query`` [M, d]; for a mixture ``heads`` [M, H, e] and
                ``gate`` [M, H].
            catalogue: the candidate table [V, d].

        Returns:
            [M, V] scores; column 0, the padding item, scores ``MASKED``.
        """
        if self.log_probabilities:
            log_probs = (tf.nn.log_softmax(self.head_scores(outputs, catalogue), axis=-1)
                         + tf.math.log(outputs["gate"])[..., None])
            return tf.reduce_logsumexp(log_probs, axis=1)
        return _mask_padding(tf.matmul(outputs["query"], catalogue, transpose_b=True))

    def head_scores(self, outputs: Dict[str, tf.Tensor], catalogue: tf.Tensor) -> tf.Tensor:
        """Each head's own score, s_h(v) = scale * <F^(h), x_v^(h)> (no gate).

        Args:
            outputs: per-history outputs with ``heads`` [M, H, e].
            catalogue: the candidate table [V, d].

        Returns:
            [M, H, V] scores; padding scores ``MASKED``.
        """
        heads = outputs["heads"]
        per_head = tf.einsum("mhe,vhe->mhv", heads, tf.reshape(catalogue, [-1, self.num_heads, heads.shape[-1]]))
        return _mask_padding(per_head * self.head_scale)

    def head_parts(self, outputs: Dict[str, tf.Tensor], candidates: tf.Tensor) -> tf.Tensor:
        """Each head's part of the inner-product scores of some candidates: the parts sum to the score.

        Args:
            outputs: per-history outputs with ``query`` [M, d].
            candidates: candidate embeddings [K, d].

        Returns:
            [M, K, H] parts.

        Raises:
            ValueError: for a mixture, whose score is a log-sum-exp (and for SASRec, which has no heads).
        """
        if not (self.facets and self.inner_product):
            raise ValueError("per-head score parts exist for FAME with fusion=logit only (a mixture's score is a "
                             "log-sum-exp)")
        query = tf.reshape(outputs["query"], [tf.shape(outputs["query"])[0], self.num_heads, -1])
        return tf.einsum("mhe,khe->mkh", query, tf.reshape(candidates, [tf.shape(candidates)[0], self.num_heads, -1]))


def _mask_padding(scores: tf.Tensor) -> tf.Tensor:
    """``scores`` [..., V] with column 0, the padding item, set to ``MASKED``."""
    return tf.where(tf.range(tf.shape(scores)[-1]) != PADDING_ID, scores, MASKED)


class EncoderMixin(KerasPart):
    """FAME's or SASRec's encoder: the inference path over item ids 1..num_items (0 is padding).

    The recommender's causal transformer (query tower; in FAME its last layer keeps the heads F^(h)
    separate and the gate g fuses them, q = concat_h(g_h F^(h))) and the candidate tower
    c_v = e_v W_f on the item table tied with the input embedding. ``call`` returns the last
    position's outputs, for FAME with the ``gate`` and ``router`` weights that explain a
    recommendation; ``encode`` returns every position's.

    Args:
        config: a ``FameConfig`` or its dict; ``num_items`` must be set (>= 1).
        **kwargs: base layer keyword arguments, e.g. ``name``.

    Call args:
        item_ids: [B, T] int item ids, left-padded with 0.
        training: whether dropout is applied.

    Input shape:
        [B, T]

    Output shape:
        A dict: ``query`` [B, d]; FAME adds ``heads`` [B, H, e], ``gate`` [B, H] and ``router``
        [B, H, N].
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
        """Creates every weight.

        Args:
            input_shape: ignored: the input is a [B, T] id matrix of any shape.
        """
        if not self.built:
            self.built = True  # before the call below, which would otherwise build again
            self(tf.zeros((1, self.config.max_len), tf.int32))
            self.candidates()

    def encode(self, item_ids, training=None, last_only=False) -> Dict[str, tf.Tensor]:
        """The outputs at every position.

        Args:
            item_ids: [B, T] int item ids, left-padded with 0.
            training: whether dropout is applied.
            last_only: T = 1, the last position, whose last layer then skips the other positions'
                queries and feed-forward nets.

        Returns:
            A dict: ``query`` [B, T, d]; FAME adds ``heads`` [B, T, H, e], ``gate`` [B, T, H] and
            ``router`` [B, T, H, N].
        """
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
        """The candidate tower's embeddings c_v.

        Args:
            item_ids: optional ids [K] whose candidates alone are computed: the sampled softmax then
                projects its batch's items, not the catalogue.

        Returns:
            [V, d] (row 0 is padding and never scored), or [K, d] with ``item_ids``.
        """
        table = self.embedding.item_embeddings
        if item_ids is not None:
            table = tf.gather(table, item_ids)
        return self.item_projection(table) if self.is_facet else table

    def call(self, item_ids, training=None) -> Dict[str, tf.Tensor]:
        outputs = self.encode(item_ids, training=training, last_only=True)
        return {name: value[:, -1] for name, value in outputs.items()}

    # -- scoring ----------------------------------------------------------------------------------
    def score_outputs(self, outputs: Dict[str, tf.Tensor], candidates: Optional[tf.Tensor] = None) -> tf.Tensor:
        """``self.scorer.scores`` of the whole catalogue.

        Args:
            outputs: per-sequence outputs (from ``call`` or masked positions of ``encode``).
            candidates: the candidate table [V, d]; defaults to ``self.candidates()``, a server passes
                a precomputed copy.

        Returns:
            [M, V] scores.
        """
        return self.scorer.scores(outputs, self.candidates() if candidates is None else candidates)

    def head_scores(self, outputs: Dict[str, tf.Tensor], candidates: Optional[tf.Tensor] = None) -> tf.Tensor:
        """``self.scorer.head_scores`` of the whole catalogue: each FAME head's own scores.

        Args:
            outputs: per-sequence outputs, as in ``score_outputs``.
            candidates: as in ``score_outputs``.

        Returns:
            [M, H, V] scores.
        """
        return self.scorer.head_scores(outputs, self.candidates() if candidates is None else candidates)

    def score(self, item_ids) -> tf.Tensor:
        """Full-catalogue scores of the next item after each history.

        Args:
            item_ids: [B, T] histories, left-padded with 0.

        Returns:
            [B, V] scores.
        """
        return self.score_outputs(self(item_ids, training=False))

    def get_config(self):
        return {"config": self.config.to_dict(), "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(config["config"], name=config.get("name"))


class RecommenderMixin(KerasPart):
    """Serving model: the top-K items of an encoder over the whole catalogue for raw item-id histories.

    ``history`` strings [B, T] -> ``{"item_ids", "scores", "facet_weights"}`` (see ``fame_tf.export``).
    The candidate matrix is computed once, at construction, not on every request: it is a snapshot,
    so build a new recommender after training.

    Args:
        model: the encoder (``EncoderMixin``); built here if it is not.
        vocabulary: the raw item ids: ``vocabulary[i]`` is the raw id of model item ``i + 1``.
        k: the number of items returned (at most the catalogue's size).
        lookup: maps a history to model ids ([B, T] int, 0 for "" and unknown ids); by default a
            ``StringLookup`` over ``vocabulary``. The pipeline passes the Transform graph itself, so
            the served mapping is the Transform's, whose vocabulary file ``vocabulary`` was read from;
            a model revived from its config gets the default.
        **kwargs: base layer keyword arguments, e.g. ``name``.

    Call args:
        history: [B, T] strings, raw item ids oldest first; "" and unknown ids are dropped, the most
            recent ``max_len`` known items are kept.
        exclude_history: whether the history's items (all of it) are never recommended.

    Input shape:
        [B, T]

    Output shape:
        A dict: ``item_ids`` [B, K] strings, ``scores`` [B, K] and ``facet_weights`` [B, H] (FAME's
        gate; [B, 0] for SASRec).

    Raises:
        ValueError: if ``vocabulary``'s length is not the model's ``num_items``, it holds "" (the
            padding of a history), or ``k`` < 1.
    """

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
