"""Readers of interaction data: sequence text (``user item item ...``) and CSV/TSV interaction
logs, local or behind a URL (``tf.io.gfile``), and ``DataOptions``, the one description of how a
data set is read that every command takes and a run records.

Bad input never becomes a silent empty or corrupt data set: a malformed line raises ``DataError``
naming the file and line, or, with ``on_error="skip"``, is skipped and counted in the report.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import datetime
import os
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from fame_tf.data import (DataError, DataReport, SplitData, _bad, _check_on_error, _finish, k_core, leave_one_out,
                          time_ordered)

def read_sequences(path: str, on_error: str = "raise", report: Optional[DataReport] = None):
    """Reads ``user item item ...`` lines (items oldest first, whitespace separated)."""
    _check_on_error(on_error)
    report = report if report is not None else DataReport(source=path)
    sequences: Dict[str, List[str]] = {}
    with open_text(path) as handle:
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
    with open_text(path, newline="") as handle:
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


def open_text(path: str, newline: Optional[str] = None):
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
            from fame_tf.attributes import read_item_attributes  # here: it imports this module

            split.item_attributes = read_item_attributes(self.attributes, split.vocab)
            report.attributes = split.item_attributes.report
        return split


def load_split(path: str, max_len: int, **options) -> SplitData:
    """``DataOptions(path, **options).split(max_len)``."""
    return DataOptions(path, **options).split(max_len)
