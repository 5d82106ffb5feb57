"""Brings any supported data set into the pipeline's input form: a directory of interaction CSVs
with the header ``user_id,item_id,timestamp``.

Sequence text (``user item item ...`` per line, oldest first; the bundled data) has no timestamps:
an item's position in its user's sequence is its timestamp, which keeps the order. The CSV is
rewritten only when its content changes, so ExampleGen's input fingerprint (which includes file
modification times) stays the same and a re-run is served from the cache.
"""

from __future__ import annotations

import glob
import io
import os
from typing import Dict, List, Tuple

from fame_tf.data import INTERACTION_COLUMNS, DataError, read_dataset, write_interactions


def sequences_to_csv(sequences: Dict[str, List[str]]) -> str:
    out = io.StringIO()
    write_interactions(out, sequences.items())
    return out.getvalue()


def write_if_changed(path: str, text: str) -> bool:
    """Writes ``text`` to ``path`` unless it already holds exactly that; returns whether it wrote."""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as handle:
            if handle.read() == text:
                return False
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path + ".tmp", "w", encoding="utf-8") as handle:
        handle.write(text)
    os.replace(path + ".tmp", path)
    return True


def prepare_input(data: str, work_dir: str) -> Tuple[str, str]:
    """``data`` (a CSV file, a directory of CSVs, a sequence .txt or a directory holding one) ->
    (ExampleGen ``input_base``, file pattern). Sequence text is converted into ``work_dir``."""
    data = os.path.abspath(data)
    if os.path.isdir(data) and glob.glob(os.path.join(data, "*.csv")):
        return data, "*.csv"
    if os.path.isfile(data) and data.endswith(".csv"):
        return os.path.dirname(data), os.path.basename(data)
    if data.endswith(".tsv"):
        raise DataError(f"{data}: the pipeline reads comma-separated CSV with the header {','.join(INTERACTION_COLUMNS)}")
    sequences, report = read_dataset(data)
    name = os.path.splitext(os.path.basename(data.rstrip("/")))[0]
    target = os.path.join(os.path.abspath(work_dir), name, "interactions.csv")
    wrote = write_if_changed(target, sequences_to_csv(sequences))
    print(f"input: {report.users_read} users, {report.interactions_read} interactions from {report.source} "
          f"{'converted to' if wrote else 'already converted in'} {target}", flush=True)
    return os.path.dirname(target), os.path.basename(target)
