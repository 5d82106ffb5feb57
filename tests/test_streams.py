"""The streamed training data (files, tf.data) is the in-memory data, example for example."""

import numpy as np
import pytest

from conftest import SEED, rule_sequences
from fame_tf import FameConfig
from fame_tf.backend import tf
from fame_tf.data import leave_one_out
from fame_tf.streams import FileData
from fame_tf.inputs import ArrayData, examples
from fame_tf.training import fit

MAX_LEN = 6


def _write(path, sequences):
    with tf.io.TFRecordWriter(str(path), options="GZIP") as writer:
        for items in sequences:
            feature = {"item_ids": tf.train.Feature(int64_list=tf.train.Int64List(value=list(items)))}
            writer.write(tf.train.Example(features=tf.train.Features(feature=feature)).SerializeToString())
    return str(path)


@pytest.fixture(scope="module")
def split_and_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("streams")
    split = leave_one_out(rule_sequences(num_users=40, min_len=3, max_len=12), MAX_LEN)
    # The pipeline's parts (fame_tf.data.leave_one_out_parts): all items but the last two, but the
    # last one, all of them; the whole history, not just the max_len window.
    train = [s.tolist() for s in split.train_sequences]
    evaluation = [s + [int(t)] for s, t in zip(train, split.valid_targets)]
    ids = {"train": train, "eval": evaluation, "test": [s + [int(t)] for s, t in zip(evaluation, split.test_targets)]}
    files = {name: _write(root / f"{name}.tfrecord.gz", seqs) for name, seqs in ids.items()}
    return split, FileData([files["train"]], [files["eval"]], [files["test"]], split.num_items, MAX_LEN)


def _rows(dataset):
    return sorted(tuple(np.ravel(v).tolist() for v in (e["inputs"].numpy(), e["targets"].numpy())) for e in dataset)


@pytest.mark.parametrize("scheme", ["prefix", "every_position"])
def test_streamed_examples_are_the_in_memory_ones(split_and_files, scheme):
    split, files = split_and_files
    config = FameConfig(num_items=split.num_items, max_len=MAX_LEN, training_scheme=scheme)
    streamed, count = examples(files.train_sequences(), config), files.example_count(config)
    in_memory, expected = examples(ArrayData(split).train_sequences(), config), ArrayData(split).example_count(config)
    assert count == expected and _rows(streamed) == _rows(in_memory)


def test_streamed_cases_and_counts_are_the_in_memory_ones(split_and_files):
    split, files = split_and_files
    np.testing.assert_array_equal(files.item_counts(), split.item_counts())
    assert files.report.users == len(split.valid_targets)
    for part in ("validation", "test"):
        streamed, _ = files.cases(part, 16)
        in_memory, _ = ArrayData(split).cases(part, 16)
        for (h1, t1, s1), (h2, t2, s2) in zip(streamed, in_memory, strict=True):
            np.testing.assert_array_equal(h1, h2)
            np.testing.assert_array_equal(t1, t2)
            assert [sorted(set(r[r > 0])) for r in s1] == [sorted(set(r[r > 0])) for r in s2]


def test_fit_on_files_learns_the_rule(split_and_files, tmp_path):
    split, files = split_and_files
    config = FameConfig(num_items=split.num_items, seed=SEED, hidden_size=16, num_heads=2, max_len=MAX_LEN, batch_size=16,
                        learning_rate=0.01, dropout=0.1, attention_dropout=0.1, weight_decay=0.0, epochs=6)
    _, summary = fit(config, files, str(tmp_path / "run"), verbose=0)
    assert summary["test"]["mrr"] > 0.8 and summary["data"]["users"] == 40


def test_steps_per_epoch_caps_each_epoch_and_repeats_the_data(split_and_files, tmp_path):
    split, files = split_and_files
    # 50 batches are more than one pass over 40 users.
    config = FameConfig(num_items=split.num_items, seed=SEED, hidden_size=16, num_heads=2, max_len=MAX_LEN, batch_size=16,
                        weight_decay=0.0, epochs=2, steps_per_epoch=50)
    model, summary = fit(config, files, str(tmp_path / "run"), verbose=0)
    assert int(model.optimizer.iterations) == 100
    assert len(summary["validation_history"]) == 2
