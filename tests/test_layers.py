import numpy as np
import pytest

from fame_tf.backend import keras, tf
from fame_tf.layers import ExpertAttention, FacetGate, FacetItemProjection, TransformerBlock


def _plain_weights(x, mask, wq, bq, wk, bk):
    """One causal attention head's weights [T, T] in NumPy."""
    q, k = x @ wq + bq, x @ wk + bk
    logits = q @ k.T / np.sqrt(q.shape[-1])
    length = x.shape[0]
    allowed = (np.tril(np.ones((length, length), bool)) & mask[None, :]) | np.eye(length, dtype=bool)
    logits = np.where(allowed, logits, -1e9)
    weights = np.exp(logits - logits.max(-1, keepdims=True))
    return weights / weights.sum(-1, keepdims=True)


def _plain_attention(x, mask, wq, bq, wk, bk, wv, bv):
    """One causal attention head in NumPy."""
    return _plain_weights(x, mask, wq, bq, wk, bk) @ (x @ wv + bv)


def _inputs(rng, batch=3, length=7, width=8):
    x = rng.normal(size=(batch, length, width)).astype(np.float32)
    mask = np.ones((batch, length), bool)
    mask[0, :3] = False  # left padding
    return x, mask


def test_single_expert_heads_are_plain_attention(rng):
    x, mask = _inputs(rng)
    layer = ExpertAttention(num_heads=2, num_experts=1, output_mode="heads")
    heads, router = layer(x, tf.constant(mask))
    assert heads.shape == (3, 7, 2, 4)
    np.testing.assert_allclose(router.numpy(), 1.0)
    wq, bq = layer.query_kernel.numpy(), layer.query_bias.numpy()
    wk, bk, wv, bv = (w.numpy() for w in (layer.key_kernel, layer.key_bias, layer.value_kernel, layer.value_bias))
    for b in range(3):
        for h in range(2):
            expected = _plain_attention(x[b], mask[b], wq[:, h, 0], bq[h, 0], wk[:, h], bk[h], wv[:, h], bv[h])
            np.testing.assert_allclose(heads.numpy()[b, :, h], expected, atol=1e-5)


def test_attention_weights_are_each_experts_causal_distribution(rng):
    x, mask = _inputs(rng)
    layer = ExpertAttention(num_heads=2, num_experts=3, output_mode="heads")
    layer(x, tf.constant(mask))
    weights = layer.attention_weights(x, tf.constant(mask)).numpy()
    assert weights.shape == (3, 2, 3, 7, 7)
    wq, bq = layer.query_kernel.numpy(), layer.query_bias.numpy()
    wk, bk = layer.key_kernel.numpy(), layer.key_bias.numpy()
    for b in range(3):
        for h in range(2):
            for n in range(3):
                expected = _plain_weights(x[b], mask[b], wq[:, h, n], bq[h, n], wk[:, h], bk[h])
                np.testing.assert_allclose(weights[b, h, n], expected, atol=1e-5)
    last = layer.attention_weights(x, tf.constant(mask), last_only=True).numpy()
    np.testing.assert_allclose(last, weights[:, :, :, -1:], atol=1e-6)


def test_router_mixes_experts_as_a_distribution(rng):
    x, mask = _inputs(rng)
    layer = ExpertAttention(num_heads=2, num_experts=3, output_mode="heads")
    _, router = layer(x, tf.constant(mask))
    assert router.shape == (3, 7, 2, 3)
    assert np.all(router.numpy() >= 0)
    np.testing.assert_allclose(router.numpy().sum(-1), 1.0, atol=1e-6)


def test_identical_experts_reduce_to_one_expert(rng):
    x, mask = _inputs(rng)
    many = ExpertAttention(num_heads=2, num_experts=3, output_mode="heads")
    one = ExpertAttention(num_heads=2, num_experts=1, output_mode="heads")
    many(x, tf.constant(mask)), one(x, tf.constant(mask))
    for name in ("key_kernel", "key_bias", "value_kernel", "value_bias"):
        getattr(one, name).assign(getattr(many, name))
    many.query_kernel.assign(tf.repeat(many.query_kernel[:, :, :1], 3, axis=2))
    one.query_kernel.assign(many.query_kernel[:, :, :1])
    np.testing.assert_allclose(many(x, tf.constant(mask))[0], one(x, tf.constant(mask))[0], atol=1e-5)


def test_gate_and_item_projection_modes(rng):
    heads = tf.constant(rng.normal(size=(2, 5, 4, 3)).astype(np.float32))
    gate = FacetGate("learned")(heads)
    assert gate.shape == (2, 5, 4)
    np.testing.assert_allclose(gate.numpy().sum(-1), 1.0, atol=1e-6)
    np.testing.assert_allclose(FacetGate("uniform")(heads), 0.25)
    table = tf.constant(rng.normal(size=(6, 12)).astype(np.float32))
    np.testing.assert_allclose(FacetItemProjection("identity")(table), table)
    learned = FacetItemProjection("learned")
    np.testing.assert_allclose(learned(table), table, atol=1e-6)  # starts at the identity ...
    assert len(learned.trainable_weights) == 1  # ... and is trained


@pytest.mark.parametrize(
    "layer",
    [
        ExpertAttention(num_heads=2, num_experts=3, dropout=0.1, output_mode="heads"),
        TransformerBlock(num_heads=2, num_experts=2, facet_heads=True, ffn_multiplier=2, activation="relu",
                         dropout=0.2, attention_dropout=0.1, head_residual="none"),
        FacetGate("uniform"),
        FacetItemProjection("identity"),
    ],
)
def test_layers_round_trip_through_keras_serialization(layer):
    restored = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(restored) is type(layer)
    assert restored.get_config() == layer.get_config()
