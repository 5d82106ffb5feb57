"""Readers, vocabulary, k-core filtering and the leave-one-out split.

Bad input never becomes a silent empty or corrupt data set: a malformed line raises ``DataError``
naming the file and line, or, with ``on_error="skip"``, is skipped and counted in the report.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import datetime
import os
from typing import Dict, Iterable, List, Optional, Sequence, Tuple, TypeVar

import numpy as np

ON_ERROR = ("raise", "skip")
MIN_ITEMS = 3  # a training item, the validation target and the test target
T = TypeVar("T")


class DataError(ValueError):
    """The input data is malformed; the message names the file and line."""


@dataclasses.dataclass
class DataReport:
    """What reading and splitting did to the input: nothing is dropped without being counted."""

    source: str = ""
    lines_read: int = 0
    malformed_skipped: int = 0
    users_read: int = 0
    interactions_read: int = 0
    removed_by_k_core: int = 0
    users_too_short: int = 0
    users: int = 0
    items: int = 0
    interactions: int = 0
    attributes: Optional[Dict[str, int]] = None  # what matching the attribute file did (fame_tf.attributes)

    def to_dict(self) -> Dict:
        return dataclasses.asdict(self)


def _check_on_error(on_error: str) -> None:
    if on_error not in ON_ERROR:
        raise DataError(f"on_error={on_error!r} is not allowed; choose one of {list(ON_ERROR)}")


def _bad(path, line_no, message, on_error, report) -> None:
    if on_error == "raise":
        raise DataError(f"{path}:{line_no}: {message}")
    report.malformed_skipped += 1


def _finish(path, sequences, report) -> Dict[str, List[str]]:
    if not sequences:
        raise DataError(f"{path}: no usable interactions (empty file, or every line malformed)")
    report.users_read = len(sequences)
    report.interactions_read = sum(len(s) for s in sequences.values())
    return sequences


def read_sequences(path: str, on_error: str = "raise", report: Optional[DataReport] = None):
    """Reads ``user item item ...`` lines (items oldest first, whitespace separated)."""
    _check_on_error(on_error)
    report = report if report is not None else DataReport(source=path)
    sequences: Dict[str, List[str]] = {}
    with _open(path) as handle:
        for line_no, line in enumerate(handle, 1):
            report.lines_read += 1
            tokens = line.split()
            if len(tokens) < 2:
                _bad(path, line_no, f"expected 'user item [item ...]', got {line.strip()[:80]!r}", on_error, report)
            elif tokens[0] in sequences:
                _bad(path, line_no, f"user {tokens[0]!r} appears on more than one line", on_error, report)
            else:
                sequences[tokens[0]] = tokens[1:]
    return _finish(path, sequences, report), report


def time_ordered(events: Iterable[Tuple[float, T]]) -> List[T]:
    """A user's items ordered by time; items of the same time by item id. The one tie rule of the
    package (the CLI and the pipeline's Beam step both use it): it depends neither on file order
    nor on the order in which a distributed runner delivers a user's events."""
    return [item for _, item in sorted(events)]


def leave_one_out_parts(items: Sequence[T]) -> Optional[Dict[str, Sequence[T]]]:
    """The leave-one-out split of one user's time-ordered items, or None when there are fewer than
    ``MIN_ITEMS``: ``train`` (all but the last two: the training items), ``eval`` (all but the
    last: the validation history, then its target) and ``test`` (all: the test history, then its
    target). In every part but ``train`` the last item is the target."""
    if len(items) < MIN_ITEMS:
        return None
    return {"train": items[:-2], "eval": items[:-1], "test": items}


AUTO_TIME = "auto"


def parse_time(text: str, time_format: str = AUTO_TIME) -> float:
    """A timestamp as seconds. ``auto``: a number (any unit, only the order matters) or an ISO 8601
    date (``Z`` or an offset; none: UTC); otherwise a ``strptime`` format such as ``%d/%m/%Y %H:%M``.
    ValueError if it does not parse."""
    text = text.strip()
    if time_format != AUTO_TIME:
        moment = datetime.datetime.strptime(text, time_format)
    else:
        try:
            return float(text)
        except ValueError:
            moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is None:  # the same order on every machine, whatever its time zone
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


INTERACTION_COLUMNS = ("user_id", "item_id", "timestamp")


def write_interactions(handle, sequences: Iterable[Tuple[str, Sequence[str]]]) -> Tuple[int, int]:
    """Writes ``(user, items oldest first)`` pairs to ``handle`` as interaction CSV with a header,
    one user at a time (an item's position is its timestamp); returns (users, interactions)."""
    writer = csv.writer(handle, lineterminator="\n")
    writer.writerow(INTERACTION_COLUMNS)
    users = interactions = 0
    for user, items in sequences:
        writer.writerows((user, item, position) for position, item in enumerate(items))
        users, interactions = users + bool(items), interactions + len(items)
    return users, interactions


def read_interactions(
    path: str,
    user_col: str = "user_id",
    item_col: str = "item_id",
    time_col: str = "timestamp",
    delimiter: Optional[str] = None,
    on_error: str = "raise",
    report: Optional[DataReport] = None,
    time_format: str = AUTO_TIME,
):
    """Reads a CSV/TSV interaction log with a header; groups it per user and orders each user's
    items with ``time_ordered``. Timestamps: see ``parse_time``."""
    _check_on_error(on_error)
    report = report if report is not None else DataReport(source=path)
    if delimiter is None:
        delimiter = "\t" if path.endswith((".tsv", ".tsv.txt")) else ","
    return _read_log(path, [path], (user_col, item_col, time_col), delimiter, time_format, on_error, report), report


def _read_log(source, paths, columns, delimiter, time_format, on_error, report) -> Dict[str, List[str]]:
    """The user sequences of the log whose parts are ``paths`` (one file, or a directory's parts)."""
    events = collections.defaultdict(list)
    for path in paths:
        _read_events(path, columns, delimiter, time_format, on_error, report, events)
    return _finish(source, {user: time_ordered(evs) for user, evs in events.items()}, report)


def _read_events(path, columns, delimiter, time_format, on_error, report, events) -> None:
    """Adds the (time, item) events of the log file ``path`` to ``events`` {user: [...]}."""
    user_col, item_col, time_col = columns
    with _open(path, newline="") as handle:
        reader = csv.reader(handle, delimiter=delimiter)
        header = next(reader, None)
        if header is None:
            raise DataError(f"{path}:1: the file is empty; expected a header with {user_col}, {item_col}, {time_col}")
        missing = [c for c in columns if c not in header]
        if missing:
            raise DataError(
                f"{path}:1: missing column(s) {missing}; the header has {header} "
                f"(delimiter {delimiter!r}: check --delimiter and the column options if this is wrong)"
            )
        indices = [header.index(c) for c in columns]
        for row in reader:
            line_no = reader.line_num
            report.lines_read += 1
            if not row or row == [""]:
                continue
            if len(row) != len(header):
                _bad(path, line_no, f"expected {len(header)} fields, got {len(row)}", on_error, report)
                continue
            user, item, stamp = (row[i].strip() for i in indices)
            if not user or not item:
                _bad(path, line_no, f"empty {user_col if not user else item_col}", on_error, report)
                continue
            try:
                time = parse_time(stamp, time_format)
            except ValueError:
                expected = "a number or ISO 8601 date" if time_format == AUTO_TIME else f"format {time_format!r}"
                _bad(path, line_no, f"unparsable {time_col} {stamp!r} (expected {expected})", on_error, report)
                continue
            events[user].append((time, item))


def _gfile(path: str):
    """TensorFlow's file systems (``tf.io.gfile``) for URLs such as ``gs://``; None for local paths,
    which need no TensorFlow."""
    if "://" not in path:
        return None
    from fame_tf.backend import tf

    return tf.io.gfile


def _open(path: str, newline: Optional[str] = None):
    gfile = _gfile(path)
    if gfile:
        return gfile.GFile(path, "r")  # text, line endings kept (as newline="" gives csv)
    return open(path, encoding="utf-8", newline=newline)


FORMATS = ("auto", "sequences", "csv", "tsv")


@dataclasses.dataclass(frozen=True)
class DataOptions:
    """How a data set is read: the one description that ``fame-tf train``, ``report`` and every
    ``pipeline`` command take, and that a run records (``to_dict``, with the absolute source).

    ``source``: a sequence text file (``user item item ...``, oldest first), a CSV/TSV interaction
    log with a header, or a directory holding one ``.txt`` file or the parts of one log
    (``*.csv``/``*.tsv``). ``format`` ``auto`` tells them apart by suffix. ``attributes``: a JSON
    file ``{"item_id": [attribute_id, ...]}`` of the items' attributes ("": none)."""

    source: str = "data/beauty"
    format: str = "auto"
    user_col: str = "user_id"
    item_col: str = "item_id"
    time_col: str = "timestamp"
    time_format: str = AUTO_TIME
    delimiter: Optional[str] = None  # None: "," for CSV, tab for TSV
    k_core: int = 0  # drop users and items with fewer interactions, repeatedly (0: off)
    on_error: str = "raise"
    attributes: str = ""

    def __post_init__(self):
        if self.format not in FORMATS:
            raise DataError(f"format={self.format!r} is not allowed; choose one of {list(FORMATS)}")
        _check_on_error(self.on_error)
        if self.delimiter is not None and len(self.delimiter) != 1:
            raise DataError(f"delimiter={self.delimiter!r} must be one character")
        if self.k_core < 0:
            raise DataError(f"k_core={self.k_core} must be >= 0")

    def to_dict(self) -> Dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: Dict) -> "DataOptions":
        unknown = sorted(set(values) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise DataError(f"unknown data option(s) {unknown}")
        return cls(**values)

    def replace(self, **changes) -> "DataOptions":
        return dataclasses.replace(self, **changes)

    def absolute(self) -> "DataOptions":
        """The same options with the source and attribute file as absolute paths (URLs unchanged)."""
        def absolute(path):
            return path if not path or _gfile(path) else os.path.abspath(path)

        return self.replace(source=absolute(self.source), attributes=absolute(self.attributes))

    def files(self) -> Tuple[str, List[str]]:
        """(format, the files to read): ``sequences`` with one file, or ``csv``/``tsv`` with the log's parts."""
        source = self.source.rstrip("/")
        gfile = _gfile(source)
        exists, isdir, listdir = (gfile.exists, gfile.isdir, gfile.listdir) if gfile else (
            os.path.exists, os.path.isdir, os.listdir)
        if not exists(source):
            raise DataError(f"{source}: no such file or directory")
        if not isdir(source):
            if self.format != "auto":
                return self.format, [source]
            suffix = os.path.splitext(source)[1][1:].lower()
            return (suffix if suffix in ("csv", "tsv") else "sequences"), [source]
        names = sorted(n for n in listdir(source) if not isdir(f"{source}/{n}"))
        parts = {kind: [f"{source}/{n}" for n in names if n.lower().endswith("." + kind)] for kind in ("csv", "tsv", "txt")}
        if self.format == "auto":
            logs = [kind for kind in ("csv", "tsv") if parts[kind]]
            if len(logs) > 1:
                raise DataError(f"{source}: holds both .csv and .tsv files; give --format")
            kind = logs[0] if logs else "sequences"
        else:
            kind = self.format
        if kind == "sequences":
            if len(parts["txt"]) != 1:
                raise DataError(f"{source}: expected exactly one .txt sequence file or the .csv/.tsv parts of one "
                                f"interaction log in the directory, found {names[:10]}")
            return kind, parts["txt"]
        if not parts[kind]:
            raise DataError(f"{source}: no .{kind} files in the directory (found {names[:10]})")
        return kind, parts[kind]

    def read(self):
        """(sequences {user: items oldest first}, DataReport), k-core filtered when asked."""
        kind, paths = self.files()
        report = DataReport(source=self.source)
        if kind == "sequences":
            sequences, report = read_sequences(paths[0], on_error=self.on_error, report=report)
        else:
            delimiter = self.delimiter or ("\t" if kind == "tsv" else ",")
            sequences = _read_log(self.source, paths, (self.user_col, self.item_col, self.time_col), delimiter,
                                  self.time_format, self.on_error, report)
        if self.k_core > 1:
            filtered = k_core(sequences, self.k_core)
            report.removed_by_k_core = report.interactions_read - sum(len(s) for s in filtered.values())
            sequences = filtered
        return sequences, report

    def split(self, max_len: int) -> "SplitData":
        """Reads, filters and splits the data set (``leave_one_out``), with its items' attributes."""
        sequences, report = self.read()
        split = leave_one_out(sequences, max_len, report)
        if self.attributes:
            from fame_tf.attributes import read_item_attributes  # it reads with this module's helpers

            split.item_attributes = read_item_attributes(self.attributes, split.vocab)
            report.attributes = split.item_attributes.report
        return split


def k_core(sequences: Dict[str, List[str]], k: int) -> Dict[str, List[str]]:
    """Repeatedly drops users and items with fewer than ``k`` interactions."""
    while k > 1:
        item_counts = collections.Counter(i for seq in sequences.values() for i in seq)
        kept = {
            u: [i for i in seq if item_counts[i] >= k] for u, seq in sequences.items()
        }
        kept = {u: seq for u, seq in kept.items() if len(seq) >= k}
        if kept == sequences:
            break
        sequences = kept
    return sequences


@dataclasses.dataclass
class Vocabulary:
    """Item ids as strings <-> integer ids 1..n (0 is padding), in order of first appearance."""

    items: List[str]

    @classmethod
    def build(cls, sequences: Iterable[Sequence[str]]) -> "Vocabulary":
        return cls(list(dict.fromkeys(i for seq in sequences for i in seq)))

    def __len__(self) -> int:
        return len(self.items)

    def lookup(self, items: Sequence[str]) -> List[int]:
        index = self._index()
        return [index.get(i, 0) for i in items]

    def _index(self) -> Dict[str, int]:
        if not hasattr(self, "_cache"):
            self._cache = {item: n for n, item in enumerate(self.items, 1)}
        return self._cache


def pad_left(sequences: Sequence[Sequence[int]], length: int) -> np.ndarray:
    """Keeps the most recent ``length`` ids of each sequence, left-padded with 0."""
    out = np.zeros((len(sequences), length), np.int32)
    for row, seq in enumerate(sequences):
        seq = np.asarray(seq, np.int32)[-length:]
        if len(seq):
            out[row, length - len(seq):] = seq
    return out


def seen_items(sequences: Sequence[Sequence[int]]) -> np.ndarray:
    """Each sequence's distinct items (every one, not only the last ``max_len``), padded with 0:
    what the seen-excluded ranking protocol removes from the ranking."""
    distinct = [np.unique(np.asarray(seq, np.int32)) for seq in sequences]
    out = np.zeros((len(distinct), max([len(d) for d in distinct] + [1])), np.int32)
    for row, items in enumerate(distinct):
        out[row, :len(items)] = items
    return out


@dataclasses.dataclass
class SplitData:
    """Leave-one-out split: each user's training items, and the validation and test cases as padded
    int32 arrays (left padding, most recent item last)."""

    vocab: Vocabulary
    users: List[str]
    train_sequences: List[np.ndarray]  # every training item of each user, oldest first
    valid_history: np.ndarray  # [U, L] items before the validation target
    valid_targets: np.ndarray  # [U]
    valid_seen: np.ndarray  # [U, S] distinct items of the whole validation history (0: none)
    test_history: np.ndarray  # [U, L] items before the test target (validation item included)
    test_targets: np.ndarray  # [U]
    test_seen: np.ndarray  # [U, S] distinct items of the whole test history
    report: DataReport
    item_attributes: Optional["ItemAttributes"] = None  # noqa: F821 (fame_tf.attributes; DataOptions.attributes)

    @property
    def num_items(self) -> int:
        return len(self.vocab)

    def item_counts(self) -> np.ndarray:
        """How often each id is a training target (index 0: padding)."""
        targets = np.concatenate([s[1:] for s in self.train_sequences] + [np.zeros(0, np.int32)])
        return np.bincount(targets, minlength=self.num_items + 1).astype(np.float32)


def split_data(vocab: Vocabulary, users: List[str], train: Sequence[Sequence[int]],
               evaluation: Sequence[Sequence[int]], test: Sequence[Sequence[int]], max_len: int,
               report: DataReport) -> SplitData:
    """``SplitData`` from the id sequences of ``leave_one_out_parts`` (the pipeline's Trainer
    builds it from Transform's output the same way)."""
    def history_and_targets(parts):
        return (pad_left([s[:-1] for s in parts], max_len), np.array([s[-1] for s in parts], np.int32),
                seen_items([s[:-1] for s in parts]))

    valid_history, valid_targets, valid_seen = history_and_targets(evaluation)
    test_history, test_targets, test_seen = history_and_targets(test)
    return SplitData(vocab=vocab, users=users, train_sequences=[np.asarray(s, np.int32) for s in train],
                     valid_history=valid_history, valid_targets=valid_targets, valid_seen=valid_seen,
                     test_history=test_history, test_targets=test_targets, test_seen=test_seen, report=report)


def leave_one_out(sequences: Dict[str, List[str]], max_len: int, report: Optional[DataReport] = None) -> SplitData:
    """``leave_one_out_parts`` of every user; users too short to split are dropped (and counted)."""
    report = report if report is not None else DataReport()
    parts = {u: p for u, p in ((u, leave_one_out_parts(s)) for u, s in sequences.items()) if p is not None}
    report.users_too_short = len(sequences) - len(parts)
    if not parts:
        raise DataError(f"{report.source}: no user has the {MIN_ITEMS} interactions a leave-one-out split needs")
    vocab = Vocabulary.build(sequences[u] for u in parts)
    users = list(parts)
    report.users, report.items = len(users), len(vocab)
    report.interactions = sum(len(sequences[u]) for u in users)
    ids = {name: [vocab.lookup(parts[u][name]) for u in users] for name in ("train", "eval", "test")}
    return split_data(vocab, users, ids["train"], ids["eval"], ids["test"], max_len, report)


def load_split(path: str, max_len: int, **options) -> SplitData:
    """``DataOptions(path, **options).split(max_len)``."""
    return DataOptions(path, **options).split(max_len)
