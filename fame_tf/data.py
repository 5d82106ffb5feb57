"""Vocabulary, k-core filtering and the leave-one-out split (reading is ``fame_tf.readers``).

Bad input never becomes a silent empty or corrupt data set: a malformed line raises ``DataError``
naming the file and line, or, with ``on_error="skip"``, is skipped and counted in the report.
"""

from __future__ import annotations

import collections
import dataclasses
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Sequence, Tuple, TypeVar

import numpy as np

if TYPE_CHECKING:
    from fame_tf.attributes import ItemAttributes

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
    item_attributes: Optional["ItemAttributes"] = None  # DataOptions.attributes (fame_tf.readers)

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
