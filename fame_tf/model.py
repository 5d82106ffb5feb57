"""FAME and its SASRec baseline as one ``tfrs.Model``: ``fame_tf.core.EncoderMixin``'s towers and
scoring (tf_keras layers of ``fame_tf.layers``) plus the training objectives.

With logit fusion the fused FAME score is the inner product <q, c_v>, so training and
full-catalogue retrieval are one [B, d] x [d, |V|] product, as in SASRec.
"""

from __future__ import annotations

from typing import Dict, Union

import tensorflow_recommenders as tfrs

from fame_tf import core, layers
from fame_tf.backend import keras, tf
from fame_tf.config import FameConfig
from fame_tf.core import PADDING_ID
from fame_tf.layers import PACKAGE


@keras.utils.register_keras_serializable(package=PACKAGE)
class FameModel(core.EncoderMixin, tfrs.Model):
    """Sequential recommender over item ids 1..num_items (0 is padding); see ``EncoderMixin``.

    ``compute_loss`` takes ``{"inputs": [B, T], "targets": [B]}`` (the item after each sequence) or
    ``"targets": [B, T]`` (the next item at every position, 0 where there is none).
    """

    keras_module = keras
    parts = layers

    def __init__(self, config: Union[FameConfig, Dict], **kwargs):
        super().__init__(config, **kwargs)
        config = self.config
        if config.objective == "sampled_softmax":
            self.task = tfrs.tasks.Retrieval(  # per-example losses; compute_loss averages them
                loss=keras.losses.CategoricalCrossentropy(from_logits=True, reduction=keras.losses.Reduction.NONE),
                remove_accidental_hits=True,
            )
            # Log-Q correction: the probability that an item is a batch positive.
            self.sampling_probability = self.add_weight(
                name=core.SAMPLING_PROBABILITY,
                shape=(self.vocab_size,),
                initializer=keras.initializers.Constant(1.0 / config.num_items),
                trainable=False,
            )
        if config.attribute_loss_weight:
            if config.num_attributes < 1:
                raise ValueError("attribute_loss_weight > 0 needs the data's item attributes (train --attributes "
                                 "FILE), which set num_attributes")
            # One d-wide row per attribute (0: padding); head h uses its e-slice, SASRec the whole row,
            # so the control has the same attribute parameters as FAME.
            self.attribute_embeddings = self.add_weight(
                name=core.ATTRIBUTE_EMBEDDINGS, shape=(config.num_attributes + 1, config.hidden_size),
                initializer=self._normal())
            self.item_attributes = None  # [num_items + 1, K] attribute ids, from set_item_attributes

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
            hidden = None
            if self.config.train_negatives == "exclude_history":  # one history per example (prefix scheme)
                hidden = core.history_mask(inputs["inputs"], targets, self.vocab_size)
                scores = tf.where(hidden, core.MASKED, scores)
            if self.is_facet and self.config.fusion == "mixture":  # scores are log-probabilities
                per_example = -tf.gather(scores, targets, batch_dims=1)
            else:
                per_example = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, scores)
            if self.config.head_loss_weight:
                per_example += self.config.head_loss_weight * self._head_losses(outputs, targets, hidden)
        else:
            # In-batch sampled softmax with log-Q correction; other positives of the same item are
            # not negatives (accidental hits). The negatives are this replica's batch.
            per_example = self.task(
                outputs["query"],
                self.candidates(targets),
                candidate_sampling_probability=tf.gather(self.sampling_probability, targets),
                candidate_ids=targets,
                compute_metrics=False,
                compute_batch_metrics=False,
            )
        if self.config.attribute_loss_weight:
            per_example += self.config.attribute_loss_weight * self._attribute_losses(targets)
        # The mean over the global batch: under a tf.distribute strategy each replica's share, as
        # the gradients of the replicas are summed (without a strategy, the batch mean).
        return tf.nn.compute_average_loss(per_example)

    def _head_losses(self, outputs, targets, hidden) -> tf.Tensor:
        """The mean over heads of each head's own softmax cross-entropy [M]: every facet must predict
        the next item by itself, and the gate chooses among predictors."""
        per_head = self.head_scores(outputs)
        if hidden is not None:
            per_head = tf.where(hidden[:, None, :], core.MASKED, per_head)
        heads = tf.repeat(targets[:, None], self.config.num_heads, axis=1)
        return tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(heads, per_head), axis=1)

    def _attribute_losses(self, targets) -> tf.Tensor:
        """[M]: the mean over heads (SASRec: one view, the whole item vector) of the softmax
        cross-entropy between the target item's view scored against every attribute and the item's
        attributes as a uniform distribution; 0 for items without attributes."""
        if self.item_attributes is None:
            raise ValueError("attribute_loss_weight > 0: call set_item_attributes before training")
        width = self.config.num_attributes + 1
        labels = tf.reduce_sum(tf.one_hot(tf.gather(self.item_attributes, targets), width), axis=1)
        labels *= tf.cast(tf.range(width) != PADDING_ID, labels.dtype)
        count = tf.reduce_sum(labels, axis=-1, keepdims=True)
        labels /= tf.maximum(count, 1.0)
        views = self.config.num_heads if self.is_facet else 1
        items = tf.reshape(self.candidates(targets), [-1, views, self.config.hidden_size // views])
        table = tf.reshape(self.attribute_embeddings, [width, views, self.config.hidden_size // views])
        logits = tf.einsum("mhe,ahe->mha", items, table)
        logits = tf.where(tf.range(width) != PADDING_ID, logits, core.MASKED)
        per_view = tf.nn.softmax_cross_entropy_with_logits(tf.repeat(labels[:, None], views, axis=1), logits)
        return tf.where(count[:, 0] > 0, tf.reduce_mean(per_view, axis=1), 0.0)

    def set_item_attributes(self, ids) -> None:
        """Sets the attribute ids [num_items + 1, K] (``fame_tf.attributes.ItemAttributes.ids``) of
        the attribute loss; data, not a weight: checkpoints and exports do not hold them."""
        ids = tf.convert_to_tensor(ids, tf.int32)
        if ids.shape[0] != self.vocab_size or (ids.shape[1] and int(tf.reduce_max(ids)) > self.config.num_attributes):
            raise ValueError(f"item attributes of shape {tuple(ids.shape)} with ids up to {int(tf.reduce_max(ids))} "
                             f"do not fit {self.config.num_items} items and {self.config.num_attributes} attributes")
        self.item_attributes = ids

    def set_item_counts(self, counts) -> None:
        """Sets the sampled softmax's log-Q correction from training target counts [num_items + 1]."""
        counts = tf.cast(tf.convert_to_tensor(counts), tf.float32)
        counts = tf.tensor_scatter_nd_update(counts, [[PADDING_ID]], [0.0])
        self.sampling_probability.assign(counts / tf.maximum(tf.reduce_sum(counts), 1.0))
