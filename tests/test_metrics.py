import numpy as np
import pytest

from fame_tf.data import seen_items
from fame_tf.metrics import EXCLUDED, metrics_from_ranks, target_ranks


def _reference_ranks(scores, targets, history=None):
    """Full sort per row; ties are ordered against the target; excluded items are removed."""
    ranks = []
    for row, target in enumerate(targets):
        items = [v for v in range(1, scores.shape[1])
                 if v == target or history is None or v not in set(history[row].tolist())]
        order = sorted(items, key=lambda v: (-scores[row, v], v == target))
        ranks.append(order.index(target))
    return np.array(ranks)


def test_ranks_of_both_protocols_match_a_brute_force_sort_with_ties():
    rng = np.random.default_rng(1)
    scores = rng.integers(0, 5, size=(64, 40)).astype(np.float32)  # many ties
    targets = rng.integers(1, 40, size=64)
    history = rng.integers(0, 40, size=(64, 6))  # repeats and padding (0) included
    history[:8, 0] = targets[:8]  # target repeated from the history: still ranked
    kept, excluded = target_ranks(scores, targets, history)
    np.testing.assert_array_equal(kept.numpy(), _reference_ranks(scores, targets))
    np.testing.assert_array_equal(excluded.numpy(), _reference_ranks(scores, targets, history))
    np.testing.assert_array_equal(target_ranks(scores, targets).numpy(), kept.numpy())
    assert np.any(excluded.numpy() < kept.numpy())


def test_padding_is_never_ranked():
    scores = np.array([[9.0, 1.0, 2.0]], np.float32)  # padding column has the top score
    assert target_ranks(scores, np.array([2])).numpy().tolist() == [0]


def test_metric_values_from_ranks():
    metrics = metrics_from_ranks(np.array([0, 4, 9, 30]), ks=(5, 10))
    assert metrics["hr@5"] == 0.5 and metrics["hr@10"] == 0.75
    assert metrics["ndcg@5"] == pytest.approx((1 + 1 / np.log2(6)) / 4)
    assert metrics["mrr"] == pytest.approx((1 + 1 / 5 + 1 / 10 + 1 / 31) / 4)


def test_constant_scores_get_no_credit():
    scores = np.ones((3, 10), np.float32)
    assert metrics_from_ranks(target_ranks(scores, np.array([1, 5, 9])).numpy())["hr@5"] == 0.0


def test_evaluate_traces_the_model_once_for_every_batch_shape(tiny_config):
    from fame_tf import FameModel
    from fame_tf.metrics import _ranker, evaluate

    model = FameModel(tiny_config)
    model.build()  # (an unbuilt model traces a second time to create its variables)
    rng = np.random.default_rng(0)
    histories = rng.integers(0, 31, size=(37, 12)).astype(np.int32)
    targets = rng.integers(1, 31, size=37).astype(np.int32)
    seen = seen_items(histories)
    first = evaluate(model, histories, targets, seen, batch_size=16)  # batches of 16, 16 and 5 rows
    again = evaluate(model, histories[:, -5:], targets, seen, batch_size=10)
    assert _ranker(model).experimental_get_tracing_count() == 1
    assert first == evaluate(model, histories, targets, seen, batch_size=7)  # batching changes no metric
    assert set(again) == set(first) and set(first[EXCLUDED]) == set(first) - {EXCLUDED}


def test_evaluate_excluded_protocol_matches_a_brute_force_reference(tiny_config):
    from fame_tf import FameModel
    from fame_tf.metrics import evaluate

    model = FameModel(tiny_config)
    rng = np.random.default_rng(3)
    histories = rng.integers(0, 31, size=(50, 12)).astype(np.int32)
    targets = rng.integers(1, 31, size=50).astype(np.int32)
    older = rng.integers(1, 31, size=(50, 8)).astype(np.int32)  # seen before the model's window
    seen = seen_items(np.concatenate([older, histories], axis=1))
    scores = model.score(histories).numpy()
    reference = metrics_from_ranks(_reference_ranks(scores, targets, np.concatenate([older, histories], axis=1)))
    measured = evaluate(model, histories, targets, seen, batch_size=16)
    assert measured[EXCLUDED] == pytest.approx(reference)
    assert measured[EXCLUDED]["ndcg@10"] > measured["ndcg@10"]
