"""Top-K indexes: brute force returns the recommender's own top-K; ScaNN returns the items it
finds with their exact scores, and finds nearly all of them on a larger random catalogue."""

import os

import numpy as np
import pytest

from fame_tf import FameConfig, FameModel
from fame_tf.backend import keras, tf
from fame_tf.export import FameRecommender
from fame_tf.retrieval import candidate_index, recommender_index
from serving_helpers import K, exported_base

HISTORIES = tf.constant([["", "3", "4", "5"], ["18", "19", "20", "1"], ["", "", "", "25"], ["", "", "", "nope"]])


@pytest.fixture(scope="module")
def loaded():
    """The tiny export as an app loads it (tf_keras load_model of the SavedModel)."""
    return keras.models.load_model(os.path.join(exported_base(), "1"))


def test_brute_force_index_is_the_recommenders_top_k(loaded):
    expected = loaded(HISTORIES)
    scores, ids = recommender_index(loaded, kind="brute_force")(HISTORIES)
    assert ids.shape == (4, K)
    np.testing.assert_array_equal(ids.numpy(), expected["item_ids"].numpy())
    np.testing.assert_allclose(scores.numpy(), expected["scores"].numpy(), rtol=1e-5, atol=1e-6)


def test_scann_index_returns_exact_scores_of_the_items_it_finds(loaded):
    pytest.importorskip("scann")
    expected = loaded(HISTORIES)
    scores, ids = recommender_index(loaded, kind="scann", k=5)(HISTORIES)  # 30 items: one partition
    assert ids.shape == (4, 5)
    np.testing.assert_array_equal(ids.numpy(), expected["item_ids"].numpy()[:, :5])
    np.testing.assert_allclose(scores.numpy(), expected["scores"].numpy()[:, :5], rtol=1e-4, atol=1e-5)


def test_scann_default_settings_find_the_top_10_of_a_clustered_catalogue():
    # Trained item embeddings cluster (items bought together); isotropic noise would be the worst case.
    pytest.importorskip("scann")
    gen = np.random.default_rng(0)
    centres = gen.normal(size=(300, 32))
    candidates = (centres[gen.integers(0, 300, 30_000)] + 0.3 * gen.normal(size=(30_000, 32))).astype(np.float32)
    queries = tf.constant((centres[gen.integers(0, 300, 200)] + 0.3 * gen.normal(size=(200, 32))).astype(np.float32))
    _, exact = candidate_index(candidates, kind="brute_force", k=10)(queries)
    _, approximate = candidate_index(candidates, kind="scann", k=10)(queries)
    recall = np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approximate.numpy(), exact.numpy())])
    assert recall > 0.9, recall


def test_mixture_fusion_and_unknown_index_are_refused():
    model = FameModel(FameConfig(num_items=8, hidden_size=8, num_heads=2, num_experts=1, max_len=4, fusion="mixture"))
    with pytest.raises(ValueError, match="mixture"):
        recommender_index(FameRecommender(model, [str(i) for i in range(1, 9)], k=3))
    with pytest.raises(ValueError, match="brute_force"):
        candidate_index(np.zeros((4, 2)), kind="annoy")
    with pytest.raises(ValueError, match="k must be"):
        candidate_index(np.zeros((4, 2)), kind="brute_force", k=0)
    with pytest.raises(ValueError, match="3 identifiers for 4 candidates"):
        candidate_index(np.zeros((4, 2)), tf.constant(["a", "b", "c"]), kind="brute_force")
