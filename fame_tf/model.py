"""FAME and its SASRec baseline as one ``tfrs.Model``: ``fame_tf.core.EncoderMixin``'s towers and
scorer (tf_keras layers of ``fame_tf.layers``) plus the training tasks (``fame_tf.tasks`` and
``tfrs.tasks.Retrieval``).

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
from fame_tf.tasks import AttributePrediction, FullSoftmax


@keras.utils.register_keras_serializable(package=PACKAGE)
class FameModel(core.EncoderMixin, tfrs.Model):
    """Sequential recommender over item ids 1..num_items (0 is padding); see ``EncoderMixin``.

    ``compute_loss`` takes ``{"inputs": [B, T], "targets": [B]}`` (the item after each sequence) or
    ``"targets": [B, T]`` (the next item at every position, 0 where there is none). The loss is the
    next-item task of ``config.objective`` plus, when weighted, each head's own next-item loss
    (``head_loss_weight``) and the attribute task (``attribute_loss_weight``).
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
        else:
            self.task = FullSoftmax(name="full_softmax")
        self.attribute_task = None
        if config.attribute_loss_weight:
            if config.num_attributes < 1:
                raise ValueError("attribute_loss_weight > 0 needs the data's item attributes (train --attributes "
                                 "FILE), which set num_attributes")
            # One d-wide row per attribute; head h uses its e-slice, SASRec the whole row, so the
            # control has the same attribute parameters as FAME.
            self.attribute_embeddings = self.add_weight(
                name=core.ATTRIBUTE_EMBEDDINGS, shape=(config.num_attributes + 1, config.hidden_size),
                initializer=self._normal())
            self.attribute_task = AttributePrediction(name="attributes")
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
            hidden = None
            if self.config.train_negatives == "exclude_history":  # one history per example (prefix scheme)
                hidden = core.history_mask(inputs["inputs"], targets, self.vocab_size)
            per_example = self.task(self.score_outputs(outputs), targets, hidden,
                                    log_probabilities=self.scorer.log_probabilities)
            if self.config.head_loss_weight:  # every facet must predict the next item by itself
                heads = tf.repeat(targets[:, None], self.config.num_heads, axis=1)
                per_example += self.config.head_loss_weight * tf.reduce_mean(
                    self.task(self.head_scores(outputs), heads, hidden), axis=1)
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
        if self.attribute_task is not None:
            per_example += self.config.attribute_loss_weight * self._attribute_losses(targets)
        # The mean over the global batch: under a tf.distribute strategy each replica's share, as
        # the gradients of the replicas are summed (without a strategy, the batch mean).
        return tf.nn.compute_average_loss(per_example)

    def _attribute_losses(self, targets) -> tf.Tensor:
        """The attribute task on the target items' views: FAME's heads' slices of c_v, SASRec's
        whole item vector."""
        if self.item_attributes is None:
            raise ValueError("attribute_loss_weight > 0: call set_item_attributes before training")
        views = self.config.num_heads if self.is_facet else 1
        items = tf.reshape(self.candidates(targets), [-1, views, self.config.hidden_size // views])
        return self.attribute_task(items, self.attribute_embeddings, tf.gather(self.item_attributes, targets))

    def set_item_attributes(self, ids) -> None:
        """Sets the attribute ids [num_items + 1, K] (``fame_tf.attributes.ItemAttributes.ids``) of
        the attribute task; data, not a weight: checkpoints and exports do not hold them."""
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
