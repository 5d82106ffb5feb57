"""The serving SavedModel's contract, checked in-process on the tiny trained export."""

import os

import numpy as np
import pytest

from fame_tf import FameModel
from fame_tf.backend import tf
from fame_tf.core import compact_history
from fame_tf.export import FameRecommender, export_version
from serving_helpers import CONFIG, K, exported_base, trained


@pytest.fixture(scope="module")
def signatures():
    return tf.saved_model.load(os.path.join(exported_base(), "1")).signatures


def _run(signatures, histories, name="serving_default"):
    width = max([1] + [len(h) for h in histories])
    padded = tf.constant([[""] * (width - len(h)) + list(h) for h in histories])
    return {key: value.numpy() for key, value in signatures[name](history=padded).items()}


def _ids(rows):
    return [[item.decode() for item in row] for row in rows]


def test_compact_history_drops_unknown_keeps_order_and_the_most_recent():
    ids = tf.constant([[0, 3, 0, 4, 5], [0, 0, 0, 0, 0], [1, 2, 3, 4, 5], [7, 0, 0, 0, 0]])
    np.testing.assert_array_equal(compact_history(ids, 3), [[3, 4, 5], [0, 0, 0], [3, 4, 5], [0, 0, 7]])
    np.testing.assert_array_equal(compact_history(tf.zeros([2, 4], tf.int32), 3), [[0], [0]])
    np.testing.assert_array_equal(compact_history(tf.zeros([2, 0], tf.int32), 3), [[0], [0]])


def test_signatures_and_output_shapes(signatures):
    assert set(signatures) == {"serving_default", "serving_exclude_history", "serving_examples"}
    out = _run(signatures, [["3", "4"], ["9"]])
    assert out["item_ids"].shape == (2, K) and out["scores"].shape == (2, K)
    assert out["facet_weights"].shape == (2, CONFIG.num_heads)
    np.testing.assert_allclose(out["facet_weights"].sum(-1), 1.0, atol=1e-5)
    assert np.all(np.diff(out["scores"], axis=1) <= 0)


def test_matches_the_model_top_k_and_its_gate(signatures):
    model, vocabulary = trained()
    histories = [["3", "4", "5"], ["18", "19", "20", "1"], ["25"]]
    out = _run(signatures, histories)
    ids = np.array([[0] * (4 - len(h)) + [vocabulary.index(i) + 1 for i in h] for h in histories])
    scores = model.score(ids).numpy()
    expected = np.argsort(-scores, axis=1)[:, :K]
    assert _ids(out["item_ids"]) == [[vocabulary[i - 1] for i in row] for row in expected]
    np.testing.assert_allclose(out["scores"], np.take_along_axis(scores, expected, 1), rtol=1e-5)
    np.testing.assert_allclose(out["facet_weights"], model(ids)["gate"].numpy(), rtol=1e-5, atol=1e-6)


def test_learned_rule_is_the_top_recommendation(signatures):
    assert _ids(_run(signatures, [["3", "4", "5"], ["19", "20"]])["item_ids"][:, :1]) == [["6"], ["1"]]


def test_unknown_ids_and_padding_are_ignored(signatures):
    clean = _run(signatures, [["3", "4", "5"]])
    noisy = _run(signatures, [["nope", "3", "", "4", "???", "5", ""]])
    assert _ids(noisy["item_ids"]) == _ids(clean["item_ids"])
    np.testing.assert_allclose(noisy["scores"], clean["scores"], rtol=1e-5)


@pytest.mark.parametrize("history", [[], [""], ["unknown", "also unknown"]])
def test_empty_history_still_gets_k_items(signatures, history):
    out = _run(signatures, [history])
    _, vocabulary = trained()
    assert len(out["item_ids"][0]) == K and set(_ids(out["item_ids"])[0]) <= set(vocabulary)
    assert np.all(np.isfinite(out["scores"])) and np.all(np.isfinite(out["facet_weights"]))


def test_long_history_keeps_the_most_recent_items(signatures):
    long = [str(i % 20 + 1) for i in range(3 * CONFIG.max_len)]
    out, tail = _run(signatures, [long]), _run(signatures, [long[-CONFIG.max_len:]])
    assert _ids(out["item_ids"]) == _ids(tail["item_ids"])
    np.testing.assert_allclose(out["scores"], tail["scores"], rtol=1e-5)


def test_exclude_history_removes_seen_items_only(signatures):
    history = ["3", "4", "5", "6"]
    plain = _ids(_run(signatures, [history])["item_ids"])[0]
    excluded = _ids(_run(signatures, [history], "serving_exclude_history")["item_ids"])[0]
    assert not set(excluded) & set(history)
    assert excluded[: K - 4] == [item for item in plain if item not in history][: K - 4]


def test_serialized_examples_signature_matches_the_string_signature(signatures):
    histories = [["3", "4", "5"], [], ["12", "nope"]]
    examples = [
        tf.train.Example(features=tf.train.Features(feature={
            "history": tf.train.Feature(bytes_list=tf.train.BytesList(value=[i.encode() for i in h]))
        })).SerializeToString()
        for h in histories
    ]
    from_examples = {k: v.numpy() for k, v in signatures["serving_examples"](examples=tf.constant(examples)).items()}
    direct = _run(signatures, histories)
    assert _ids(from_examples["item_ids"]) == _ids(direct["item_ids"])
    np.testing.assert_allclose(from_examples["scores"], direct["scores"], rtol=1e-5)


@pytest.mark.parametrize("variant,fusion", [("fame", "logit"), ("fame", "mixture"), ("sasrec", "logit")])
def test_recommender_ranks_like_the_model_for_every_variant(variant, fusion, rng):
    model = FameModel(CONFIG.replace(variant=variant, fusion=fusion))
    vocabulary = [f"item-{i}" for i in range(1, 31)]
    ids = rng.integers(1, 31, size=(3, 6))
    out = FameRecommender(model, vocabulary, k=7)(tf.constant([[vocabulary[i - 1] for i in row] for row in ids]))
    scores = model.score(ids).numpy()
    np.testing.assert_allclose(out["scores"].numpy(), -np.sort(-scores, axis=1)[:, :7], rtol=1e-5, atol=1e-6)
    assert out["facet_weights"].shape == (3, CONFIG.num_heads if variant == "fame" else 0)


def test_rejects_a_vocabulary_that_does_not_fit():
    model, vocabulary = trained()
    with pytest.raises(ValueError, match="vocabulary has 29 items"):
        FameRecommender(model, vocabulary[:-1])
    with pytest.raises(ValueError, match="padding"):
        FameRecommender(model, vocabulary[:-1] + [""])


def test_export_version_refuses_to_overwrite_a_version():
    model, vocabulary = trained()
    with pytest.raises(FileExistsError):
        export_version(model, vocabulary, exported_base(), version=1)
    assert sorted(os.listdir(exported_base())) == ["1"]  # nothing half-written left behind


def test_a_sampled_softmax_model_converts_to_its_keras3_twin():
    from fame_tf import keras3

    model = FameModel(CONFIG.replace(objective="sampled_softmax"))
    model.build()
    recommender = FameRecommender(model, [str(i) for i in range(1, CONFIG.num_items + 1)], k=5)
    history = tf.constant([["3", "4"], ["", "9"]])
    twin, expected = keras3.convert(recommender)(history), recommender(history)
    np.testing.assert_array_equal(twin["item_ids"].numpy(), expected["item_ids"].numpy())
    np.testing.assert_allclose(twin["scores"].numpy(), expected["scores"].numpy(), rtol=1e-5, atol=1e-6)
