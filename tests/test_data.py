import re

import numpy as np
import pytest

from fame_tf import FameConfig
from fame_tf.data import DataError, k_core, leave_one_out
from fame_tf.readers import DataOptions, load_split, read_interactions, read_sequences
from fame_tf.inputs import ArrayData, examples


def _examples(train_sequences, scheme, max_len):
    """The training examples of ``scheme`` (fame_tf.inputs) of these training sequences, as arrays."""
    split = leave_one_out({"u": ["x", "y", "z"]}, max_len)  # any split; its training sequences are replaced
    split.train_sequences = [np.asarray(s, np.int32) for s in train_sequences]
    config = FameConfig(num_items=20, max_len=max_len, training_scheme=scheme)
    rows = list(examples(ArrayData(split).train_sequences(), config).as_numpy_iterator())
    return {name: np.stack([row[name] for row in rows]) for name in ("inputs", "targets")}


def _write(path, text):
    path.write_text(text)
    return str(path)


def test_sequence_reader_and_leave_one_out(tmp_path):
    path = _write(tmp_path / "d.txt", "u1 a b c d e\nu2 b c a\nu3 a b\n")
    split = load_split(path, max_len=3)
    assert split.report.users_too_short == 1 and split.report.users == 2
    a, b, c, d, e = split.vocab.lookup(list("abcde"))
    assert split.test_targets.tolist() == [e, a] and split.valid_targets.tolist() == [d, c]
    assert split.test_history[0].tolist() == [b, c, d]  # most recent max_len items
    assert split.valid_history[1].tolist() == [0, 0, b]
    assert [s.tolist() for s in split.train_sequences] == [[a, b, c], [b]]
    assert split.valid_seen[0].tolist() == sorted([a, b, c]) and split.test_seen[1].tolist() == sorted([b, c]) + [0, 0]
    every = _examples(split.train_sequences, "every_position", max_len=3)  # u2 has no training pair
    assert every["inputs"].tolist() == [[0, a, b]] and every["targets"].tolist() == [[0, b, c]]


def test_prefix_examples_cover_every_prefix_within_the_window():
    sequences = [np.array([1, 2, 3, 4, 5]), np.array([6]), np.array([7, 8])]
    prefixes = _examples(sequences, "prefix", max_len=3)
    assert prefixes["targets"].tolist() == [2, 3, 4, 5, 8]
    assert prefixes["inputs"].tolist() == [[0, 0, 1], [0, 1, 2], [1, 2, 3], [2, 3, 4], [0, 0, 7]]


def test_seen_items_cover_the_whole_history_beyond_max_len():
    split = leave_one_out({"u": [str(i) for i in range(10)] + ["0"]}, max_len=2)
    assert split.test_history[0].tolist() == split.vocab.lookup(["8", "9"])
    assert split.test_seen[0].tolist() == sorted(split.vocab.lookup([str(i) for i in range(10)]))
    assert split.test_targets[0] in split.test_seen[0]  # a repeat: still ranked (see test_metrics)


def test_csv_groups_per_user_and_orders_by_time_ties_by_item_id(tmp_path):
    path = _write(tmp_path / "log.csv",
                  "user_id,item_id,timestamp\nu,x,3\nu,y,1\nu,z,2\nu,w,2\nv,x,2020-01-02\nv,y,2020-01-01T10:00:00Z\n")
    sequences, report = read_interactions(path)
    assert sequences == {"u": ["y", "w", "z", "x"], "v": ["y", "x"]}  # w and z share a time: w < z
    assert report.lines_read == 6


def test_tsv_with_custom_columns(tmp_path):
    path = _write(tmp_path / "log.tsv", "item\tts\tuser\na\t1\tu\nb\t0\tu\n")
    sequences, _ = read_interactions(path, user_col="user", item_col="item", time_col="ts")
    assert sequences == {"u": ["b", "a"]}


@pytest.mark.parametrize(
    "name, text, message",
    [
        ("e.csv", "", "e.csv:1: the file is empty"),
        ("m.csv", "user_id,item_id\nu,a\n", "missing column(s) ['timestamp']"),
        ("d.csv", "user_id;item_id;timestamp\nu;a;1\n", "check --delimiter"),
        ("t.csv", "user_id,item_id,timestamp\nu,a,1\nu,b,yesterday\n", "t.csv:3: unparsable timestamp 'yesterday'"),
        ("f.csv", "user_id,item_id,timestamp\nu,a\n", "f.csv:2: expected 3 fields, got 2"),
        ("s.txt", "u1 a b c\nu2\n", "s.txt:2: expected 'user item"),
        ("empty.txt", "", "no usable interactions"),
    ],
)
def test_bad_input_names_file_and_line(tmp_path, name, text, message):
    path = _write(tmp_path / name, text)
    with pytest.raises(DataError) as error:
        load_split(path, max_len=5)
    assert message in str(error.value)


def test_skip_policy_counts_what_it_skips(tmp_path):
    path = _write(tmp_path / "t.csv", "user_id,item_id,timestamp\nu,a,1\nu,b,oops\nu,c,3\nu,d,4\nu,e\n")
    split = load_split(path, max_len=5, on_error="skip")
    assert split.report.malformed_skipped == 2 and split.report.interactions == 3
    with pytest.raises(DataError, match="every line malformed"):
        read_sequences(_write(tmp_path / "bad.txt", "x\ny\n"), on_error="skip")


def test_no_splittable_user_is_an_error(tmp_path):
    with pytest.raises(DataError, match="3 interactions"):
        load_split(_write(tmp_path / "short.txt", "u a b\n"), max_len=5)


def test_k_core_is_applied_until_stable():
    sequences = {"u1": ["a", "b", "c"], "u2": ["a", "b"], "u3": ["a", "d"]}
    # c and d occur once and go; u3 is left with one item and goes; a and b keep 2 each.
    assert k_core(sequences, 2) == {"u1": ["a", "b"], "u2": ["a", "b"]}


def test_bundled_beauty_matches_its_documented_size():
    split = load_split("data/beauty", max_len=50)
    assert (split.report.users, split.report.items, split.report.interactions) == (22363, 12101, 198502)
    assert np.all(split.test_targets > 0) and split.num_items == 12101


def test_data_options_read_a_directory_of_log_parts_as_one_log(tmp_path):
    """A user's events spread over parts (as a warehouse export splits them) are ordered as one log."""
    (tmp_path / "log").mkdir()
    _write(tmp_path / "log" / "part-0.tsv", "who\twhat\twhen\nu\tc\t03/01/2024\nv\ta\t01/01/2024\n")
    _write(tmp_path / "log" / "part-1.tsv", "who\twhat\twhen\nu\ta\t01/01/2024\nu\tb\t02/01/2024\n")
    data = DataOptions(str(tmp_path / "log"), user_col="who", item_col="what", time_col="when", time_format="%d/%m/%Y")
    sequences, report = data.read()
    assert sequences == {"u": ["a", "b", "c"], "v": ["a"]} and report.lines_read == 4
    assert data.files() == ("tsv", [str(tmp_path / "log" / "part-0.tsv"), str(tmp_path / "log" / "part-1.tsv")])
    with pytest.raises(DataError, match=r"part-1.tsv:2: unparsable when '2024-01-01' \(expected format '%d/%m/%Y'\)"):
        _write(tmp_path / "log" / "part-1.tsv", "who\twhat\twhen\nu\ta\t2024-01-01\n")
        data.read()


def test_data_options_k_core_counts_what_it_removes_and_round_trip_through_a_dict(tmp_path):
    path = _write(tmp_path / "d.txt", "u1 a b c\nu2 a b d\nu3 a b c\n")
    data = DataOptions(path, k_core=2)
    sequences, report = data.read()
    assert sequences == {"u1": ["a", "b", "c"], "u2": ["a", "b"], "u3": ["a", "b", "c"]}
    assert report.removed_by_k_core == 1
    assert DataOptions.from_dict(data.to_dict()) == data


@pytest.mark.parametrize("options, message", [
    ({"format": "xml"}, "format='xml' is not allowed"),
    ({"delimiter": ";;"}, "must be one character"),
    ({"k_core": -1}, "k_core=-1 must be >= 0"),
    ({"on_error": "ignore"}, "on_error='ignore' is not allowed"),
])
def test_data_options_reject_bad_values_naming_them(options, message):
    with pytest.raises((DataError, ValueError), match=re.escape(message)):
        DataOptions("x.csv", **options)
    with pytest.raises(DataError, match="unknown data option"):
        DataOptions.from_dict({"source": "x.csv", "sep": ";"})


def test_data_options_read_urls_through_tensorflow_file_systems(tmp_path):
    """A file:// URL takes the path gs:// takes (tf.io.gfile), with Windows line endings kept for csv."""
    (tmp_path / "log").mkdir()
    _write(tmp_path / "log" / "part.csv", "uid;sku;ts\r\nu;a;2024-01-02\r\nu;b;2024-01-01\r\nv;c;5\r\n")
    data = DataOptions(f"file://{tmp_path}/log", delimiter=";", user_col="uid", item_col="sku", time_col="ts")
    assert data.read()[0] == {"u": ["b", "a"], "v": ["c"]}
    assert data.absolute() == data  # URLs stay as they are
