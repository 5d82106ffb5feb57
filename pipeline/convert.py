"""Brings any data set that ``fame-tf train`` reads into the pipeline's input form: a directory of
interaction CSVs with the header ``user_id,item_id,timestamp``.

A log already in that form (comma-separated, those columns, nothing to filter or skip) goes to
ExampleGen as it is, so the pipeline's own validation sees the raw file. Anything else (sequence
text, TSV, other columns or delimiter, a time format, k-core, skipped lines) is read by
``fame_tf.readers.DataOptions``, the reader of ``fame-tf train``, and written as that CSV: the same
users, items and order, hence the same split. Each user's items are written in order, an item's
position standing for its time. The CSV is rewritten only when its content changes, so ExampleGen's
input fingerprint (which includes file modification times) stays the same and a re-run is served
from the cache.
"""

from __future__ import annotations

import io
import os
from typing import Dict, List, Tuple

from fame_tf.readers import DataOptions, write_interactions

CONVERTED_FILE = "interactions.csv"


def sequences_to_csv(sequences: Dict[str, List[str]]) -> str:
    out = io.StringIO()
    write_interactions(out, sequences.items())
    return out.getvalue()


def write_if_changed(path: str, text: str) -> bool:
    """Writes ``text`` to ``path`` (a local path or a URL such as ``gs://``) unless it already holds
    exactly that; returns whether it wrote."""
    from fame_tf.backend import tf

    gfile = tf.io.gfile
    if gfile.exists(path):
        with gfile.GFile(path, "r") as handle:
            if handle.read() == text:
                return False
    gfile.makedirs(os.path.dirname(path))
    with gfile.GFile(path + ".tmp", "w") as handle:
        handle.write(text)
    gfile.rename(path + ".tmp", path, overwrite=True)
    return True


def is_pipeline_csv(data: DataOptions) -> bool:
    """Whether ``data`` is already the pipeline's input form (see the module's docstring)."""
    kind, _ = data.files()
    canonical = DataOptions(source=data.source, format=data.format)
    return kind == "csv" and (data.delimiter in (None, ",")) and data.replace(delimiter=None) == canonical


def convert(data: DataOptions, target_dir: str) -> str:
    """Reads ``data`` and writes it as ``target_dir/<name>/interactions.csv``; returns that path."""
    sequences, report = data.read()
    name = os.path.splitext(os.path.basename(data.source.rstrip("/")))[0]
    target = "/".join([target_dir.rstrip("/"), name, CONVERTED_FILE])
    wrote = write_if_changed(target, sequences_to_csv(sequences))
    print(f"input: {report.users_read} users, {report.interactions_read} interactions from {report.source} "
          f"({report.malformed_skipped} malformed lines skipped, {report.removed_by_k_core} interactions removed by "
          f"k-core) {'converted to' if wrote else 'already converted in'} {target}", flush=True)
    return target


def prepare_input(data: DataOptions, work_dir: str) -> Tuple[str, str]:
    """``data`` -> (ExampleGen ``input_base``, file pattern); converted into ``work_dir`` unless it is
    already the pipeline's CSV."""
    data = data.absolute()
    if is_pipeline_csv(data):
        _, files = data.files()
        if len(files) > 1 or files[0] != data.source:  # a directory of parts
            return data.source, "*.csv"
        return os.path.dirname(data.source), os.path.basename(data.source)
    target = convert(data, os.path.abspath(work_dir))
    return os.path.dirname(target), os.path.basename(target)

