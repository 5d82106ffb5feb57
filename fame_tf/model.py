"""FAME and its SASRec baseline as one ``tfrs.Model``.

Query tower: the causal transformer; in FAME its last layer keeps the heads F^(h) separate and the
gate g fuses them, q = concat_h(g_h F^(h)). Candidate tower: c_v = e_v W_f on the item table that
is tied with the input embedding. With logit fusion the fused FAME score is the inner product
<q, c_v>, so training and full-catalogue retrieval are one [B, d] x [d, |V|] product, as in SASRec.
"""

from __future__ import annotations

from typing import Dict, Optional, Union

import tensorflow_recommenders as tfrs

from fame_tf._keras import keras, tf
from fame_tf.config import FameConfig
from fame_tf.layers import MASKED, PACKAGE, FacetGate, FacetItemProjection, ItemPositionEmbedding, TransformerBlock

PADDING_ID = 0


@keras.utils.register_keras_serializable(package=PACKAGE)
class FameModel(tfrs.Model):
    """Sequential recommender over item ids 1..num_items (0 is padding).

    ``compute_loss`` takes ``{"inputs": [B, T], "targets": [B]}`` (the item after each sequence) or
    ``"targets": [B, T]`` (the next item at every position, 0 where there is none). ``call`` returns the last position's ``query`` [B, d], and for FAME the
    ``gate`` [B, H] and ``router`` [B, H, N] weights that explain a recommendation.
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
        self.embedding = ItemPositionEmbedding(
            self.vocab_size, config.hidden_size, config.max_len, config.dropout, name="embedding"
        )
        self.blocks = [
            TransformerBlock(
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
                name=f"block_{i}",
            )
            for i in range(config.num_layers)
            for last in [i == config.num_layers - 1]
        ]
        # Pre-LN blocks leave their output unnormalised; one LayerNorm (over e for FAME's heads) closes them.
        self.final_norm = (keras.layers.LayerNormalization(epsilon=1e-6, name="final_norm")
                           if config.norm_placement == "pre" else None)
        # Multiplies each head's score (config.logit_scale); 1 for SASRec, which has no head scores.
        self.head_score_scale = float(config.num_heads) if self.is_facet and config.logit_scale == "heads" else 1.0
        if self.is_facet:
            self.gate = FacetGate(config.gate, name="gate")
            self.item_projection = FacetItemProjection(config.item_projection, name="item_projection")
        if config.objective == "sampled_softmax":
            self.task = tfrs.tasks.Retrieval(
                loss=keras.losses.CategoricalCrossentropy(from_logits=True), remove_accidental_hits=True
            )
            # Log-Q correction: the probability that an item is a batch positive.
            self.sampling_probability = self.add_weight(
                name="sampling_probability",
                shape=(self.vocab_size,),
                initializer=keras.initializers.Constant(1.0 / config.num_items),
                trainable=False,
            )

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

    def candidates(self) -> tf.Tensor:
        """Candidate embeddings [num_items + 1, d] (row 0 is padding and never scored)."""
        table = self.embedding.item_embeddings
        return self.item_projection(table) if self.is_facet else table

    def call(self, item_ids, training=None) -> Dict[str, tf.Tensor]:
        outputs = self.encode(item_ids, training=training, last_only=True)
        return {name: value[:, -1] for name, value in outputs.items()}

    # -- scoring ----------------------------------------------------------------------------------
    def score_outputs(self, outputs: Dict[str, tf.Tensor], candidates: Optional[tf.Tensor] = None) -> tf.Tensor:
        """Scores [M, num_items + 1] of every item for per-sequence ``outputs`` (from ``call`` or
        masked positions of ``encode``); padding scores ``MASKED``. With ``fusion="mixture"`` they are
        log-probabilities of the mixture of per-head softmaxes. ``candidates`` defaults to
        ``self.candidates()``; a server passes a precomputed copy."""
        if candidates is None:
            candidates = self.candidates()
        not_padding = tf.range(self.vocab_size) != PADDING_ID
        if self.is_facet and self.config.fusion == "mixture":
            h, e = self.config.num_heads, self.config.head_size
            per_head = tf.einsum("mhe,vhe->mhv", outputs["heads"], tf.reshape(candidates, [-1, h, e]))
            per_head *= self.head_score_scale
            per_head = tf.where(not_padding, per_head, MASKED)
            log_probs = tf.nn.log_softmax(per_head, axis=-1) + tf.math.log(outputs["gate"])[..., None]
            scores = tf.reduce_logsumexp(log_probs, axis=1)
        else:
            scores = tf.matmul(outputs["query"], candidates, transpose_b=True)
        return tf.where(not_padding, scores, MASKED)

    def score(self, item_ids) -> tf.Tensor:
        """Full-catalogue scores [B, num_items + 1] of the next item after each history."""
        return self.score_outputs(self(item_ids, training=False))

    # -- training ---------------------------------------------------------------------------------
    def compute_loss(self, inputs, training: bool = False) -> tf.Tensor:
        targets = tf.cast(inputs["targets"], tf.int32)
        if targets.shape.rank == 1:  # one target per sequence, after its last position
            outputs = self(inputs["inputs"], training=training)
        else:  # a target at every position (0: none)
            valid = targets != PADDING_ID
            encoded = self.encode(inputs["inputs"], training=training)
            outputs = {name: tf.boolean_mask(value, valid) for name, value in encoded.items()}
            targets = tf.boolean_mask(targets, valid)
        if self.config.objective == "full_softmax":
            # Softmax cross-entropy over the whole catalogue. This is exactly the loss of
            # tfrs.tasks.Retrieval given [positives; catalogue] as candidates and a score mask that
            # hides the catalogue's copy of each positive (a test checks it), but without the
            # [M, M] block and dense [M, M + |V|] labels that formulation needs.
            scores = self.score_outputs(outputs)
            if self.is_facet and self.config.fusion == "mixture":  # scores are log-probabilities
                return -tf.reduce_mean(tf.gather(scores, targets, batch_dims=1))
            return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(targets, scores))
        # In-batch sampled softmax with log-Q correction; other positives of the same item are
        # not negatives (accidental hits).
        return self.task(
            outputs["query"],
            tf.gather(self.candidates(), targets),
            candidate_sampling_probability=tf.gather(self.sampling_probability, targets),
            candidate_ids=targets,
            compute_metrics=False,
            compute_batch_metrics=False,
        )

    def set_item_counts(self, counts) -> None:
        """Sets the sampled softmax's log-Q correction from training target counts [num_items + 1]."""
        counts = tf.cast(tf.convert_to_tensor(counts), tf.float32)
        counts = tf.tensor_scatter_nd_update(counts, [[PADDING_ID]], [0.0])
        self.sampling_probability.assign(counts / tf.maximum(tf.reduce_sum(counts), 1.0))

    def get_config(self):
        return {"config": self.config.to_dict(), "name": self.name}

    @classmethod
    def from_config(cls, config, custom_objects=None):
        return cls(config["config"], name=config.get("name"))
