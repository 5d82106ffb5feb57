import numpy as np
import pytest

from fame_tf import FameModel
from fame_tf.explain import facet_weights, head_contributions, normalised_entropy


def test_head_parts_add_up_to_the_scores_of_the_top_items(tiny_config, rng):
    model = FameModel(tiny_config)
    history = rng.integers(1, 31, size=8)
    items, parts, gate = head_contributions(model, history, k=5)
    scores = model.score(history[None]).numpy()[0]
    assert list(items) == list(np.argsort(-scores)[:5])
    np.testing.assert_allclose(parts.sum(1), scores[items], rtol=1e-4, atol=1e-6)
    assert parts.shape == (5, 4) and gate.shape == (4,) and np.isclose(gate.sum(), 1.0)


def test_facet_weights_are_distributions_per_user(tiny_config, rng):
    weights = facet_weights(FameModel(tiny_config), rng.integers(0, 31, size=(7, 12)), batch_size=3)
    assert weights["gate"].shape == (7, 4) and weights["router"].shape == (7, 4, 3)
    np.testing.assert_allclose(weights["gate"].sum(-1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(weights["router"].sum(-1), 1.0, rtol=1e-5)


def test_normalised_entropy_spans_one_hot_to_uniform():
    np.testing.assert_allclose(normalised_entropy(np.array([[1.0, 0, 0, 0], [0.25] * 4, [0.5, 0.5, 0, 0]])),
                               [0.0, 1.0, 0.5], atol=1e-6)
    assert normalised_entropy(np.ones((3, 2, 1))).shape == (3, 2)  # one expert: nothing to choose


def test_sasrec_and_mixture_models_are_refused(tiny_config):
    with pytest.raises(ValueError, match="variant=fame"):
        facet_weights(FameModel(tiny_config.replace(variant="sasrec")), np.ones((2, 12), np.int32))
    with pytest.raises(ValueError, match="fusion=logit"):
        head_contributions(FameModel(tiny_config.replace(fusion="mixture")), np.ones(12, np.int32))
