"""The synthetic generator: the requested shape, reproducible, readable by the package's readers."""

import numpy as np
import pytest

from fame_tf.readers import read_interactions
from fame_tf.synthetic import synthetic_sequences, write_synthetic


def test_shape_popularity_and_successors():
    lengths = [5, 6, 6, 7, 40]
    users = list(synthetic_sequences(3000, 500, lengths, exponent=1.0, follow=0.5, seed=3, chunk=700))
    assert [u for u, _ in users] == [f"u{i}" for i in range(1, 3001)]
    assert {len(items) for _, items in users} == set(lengths)
    counts = np.bincount([int(i[1:]) for _, items in users for i in items], minlength=501)[1:]
    top = np.sort(counts)[::-1]
    assert top[0] > 20 * np.median(top)  # Zipf: the head dominates the median item
    pairs = {}
    for _, items in users:
        for a, b in zip(items, items[1:]):
            pairs.setdefault(a, []).append(b)
    # Half of all next items are the previous item's fixed successor: its most common follower.
    common = sum(max(np.unique(v, return_counts=True)[1]) for v in pairs.values())
    assert common / sum(len(v) for v in pairs.values()) > 0.5
    again = list(synthetic_sequences(3000, 500, lengths, exponent=1.0, follow=0.5, seed=3, chunk=700))
    assert again == users


def test_written_csv_reads_back_in_order(tmp_path):
    users = list(synthetic_sequences(50, 30, [5, 9], seed=1))
    path = str(tmp_path / "interactions.csv")
    assert write_synthetic(path, iter(users)) == {"users": 50, "interactions": sum(len(i) for _, i in users)}
    sequences, _ = read_interactions(path)
    assert sequences == dict(users)


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="lengths"):
        synthetic_sequences(5, 10, [])
    with pytest.raises(ValueError, match="follow"):
        synthetic_sequences(5, 10, [5], follow=2)
    with pytest.raises(ValueError, match="chunk"):
        synthetic_sequences(5, 10, [5], chunk=0)
