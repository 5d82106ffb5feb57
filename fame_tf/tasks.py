"""The training losses as TFRS tasks, beside ``tfrs.tasks.Retrieval`` (the in-batch sampled softmax):
each maps scores or embeddings and targets to per-example losses; the model averages them."""

from __future__ import annotations

from typing import Optional

import tensorflow_recommenders as tfrs

from fame_tf.backend import keras, tf
from fame_tf.core import MASKED, PADDING_ID
from fame_tf.layers import PACKAGE


@keras.utils.register_keras_serializable(package=PACKAGE)
class FullSoftmax(keras.layers.Layer, tfrs.tasks.Task):
    """Softmax cross-entropy over the whole catalogue.

    This is ``tfrs.tasks.Retrieval``'s loss given [positives; catalogue] as candidates and a score
    mask that hides the catalogue's copy of each positive (a test checks it), without the [M, M]
    block and dense [M, M + V] labels that formulation needs.

    Call args:
        scores: [..., V] logits of the whole catalogue, or log-probabilities (``log_probabilities``).
        targets: [...] int item ids.
        hidden: optional bool [M, V] mask of items that are no negatives (``core.history_mask``);
            broadcast over any axes between the first and the last of ``scores``.
        log_probabilities: ``scores`` are normalised already (a mixture): the loss is -scores[target].

    Returns:
        [...] per-example losses.
    """

    def call(self, scores: tf.Tensor, targets: tf.Tensor, hidden: Optional[tf.Tensor] = None,
             log_probabilities: bool = False) -> tf.Tensor:
        if hidden is not None:
            hidden = tf.reshape(hidden, tf.concat([tf.shape(hidden)[:1], tf.ones([scores.shape.rank - 2], tf.int32),
                                                   tf.shape(hidden)[-1:]], axis=0))
            scores = tf.where(hidden, MASKED, scores)
        if log_probabilities:
            return -tf.gather(scores, targets, batch_dims=targets.shape.rank)
        return tf.nn.sparse_softmax_cross_entropy_with_logits(targets, scores)


@keras.utils.register_keras_serializable(package=PACKAGE)
class AttributePrediction(keras.layers.Layer, tfrs.tasks.Task):
    """Item views predict their item's attributes: the softmax cross-entropy between each view's
    scores of every attribute and the item's attributes as a uniform distribution, averaged over
    views; 0 for items without attributes. Like ``tfrs.tasks.Retrieval`` it holds no weights: the
    model owns the attribute table.

    Call args:
        item_views: [M, views, d / views], e.g. FAME's heads' slices of the target items' candidate
            vectors, or SASRec's whole item vector as one view.
        attribute_table: [A + 1, d] attribute embeddings (row 0: padding); view h scores with its
            d / views slice.
        attribute_ids: [M, K] int, each item's attributes 1..A (0: none).

    Returns:
        [M] per-example losses.
    """

    def call(self, item_views: tf.Tensor, attribute_table: tf.Tensor, attribute_ids: tf.Tensor) -> tf.Tensor:
        columns = attribute_table.shape[0]
        labels = tf.reduce_sum(tf.one_hot(attribute_ids, columns), axis=1)
        labels *= tf.cast(tf.range(columns) != PADDING_ID, labels.dtype)
        count = tf.reduce_sum(labels, axis=-1, keepdims=True)
        labels /= tf.maximum(count, 1.0)
        views = item_views.shape[1]
        table = tf.reshape(attribute_table, [columns, views, -1])
        logits = tf.einsum("mhe,ahe->mha", item_views, table)
        logits = tf.where(tf.range(columns) != PADDING_ID, logits, MASKED)
        per_view = tf.nn.softmax_cross_entropy_with_logits(tf.repeat(labels[:, None], views, axis=1), logits)
        return tf.where(count[:, 0] > 0, tf.reduce_mean(per_view, axis=1), 0.0)
