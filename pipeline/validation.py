"""Turns ExampleValidator's anomalies into a stopped run with a readable report.

ExampleValidator only records anomalies; nothing downstream refuses bad data by itself. The first
step that reads the data calls ``assert_no_anomalies`` so a missing column, a wrong type or an
out-of-domain value stops the run, and the error names the feature and what is wrong with it.

Two type differences are not anomalies: ExampleGen infers a column of digits as INT, and integer
ids are fine (the leave-one-out step reads them as strings); timestamps are integers in the schema,
but floats and text (ISO 8601 dates) are fine too (the leave-one-out step parses each one, as
`fame-tf train` does, and stops at the first it cannot)."""

from __future__ import annotations

import os
from typing import List

from tensorflow_metadata.proto.v0 import anomalies_pb2
from tfx.types import Artifact, artifact_utils
from tfx.utils import io_utils

ANOMALIES_FILE = "SchemaDiff.pb"
ID_FEATURES = ("user_id", "item_id")
TIME_FEATURE = "timestamp"


class DataValidationError(RuntimeError):
    """The input data does not match the schema; the message lists every anomalous feature."""


def read_anomalies(anomalies: Artifact) -> List[str]:
    """One line per anomalous feature of every split: ``split: feature 'x': what is wrong``."""
    lines = []
    for split in artifact_utils.decode_split_names(anomalies.split_names):
        path = os.path.join(artifact_utils.get_split_uri([anomalies], split), ANOMALIES_FILE)
        report = anomalies_pb2.Anomalies.FromString(io_utils.read_bytes_file(path))
        for feature, info in sorted(report.anomaly_info.items()):
            reasons = [r.description or r.short_description for r in info.reason if not _tolerated(feature, r)]
            if reasons:
                lines.append(f"{split}: feature {feature!r}: {'; '.join(reasons)}")
        if report.HasField("dataset_anomaly_info"):
            info = report.dataset_anomaly_info
            lines.append(f"{split}: data set: {info.short_description} ({info.description})")
    return lines


def _tolerated(feature: str, reason) -> bool:
    if feature in ID_FEATURES:
        return (reason.type == anomalies_pb2.AnomalyInfo.UNEXPECTED_DATA_TYPE
                and reason.description.endswith("BYTES but got INT"))
    return feature == TIME_FEATURE and reason.type in _TEXT_OR_FLOAT_TIMES


# What the validator says about a timestamp column of text (dates) or floats in an INT schema.
_TEXT_OR_FLOAT_TIMES = (anomalies_pb2.AnomalyInfo.UNEXPECTED_DATA_TYPE, anomalies_pb2.AnomalyInfo.INT_TYPE_NOT_INT_STRING)


def assert_no_anomalies(anomalies: Artifact) -> None:
    lines = read_anomalies(anomalies)
    if lines:
        raise DataValidationError(
            "data validation failed: the interactions do not match the schema "
            "(pipeline/schemas/interactions.pbtxt: columns user_id, item_id and timestamp: a number >= 0 or an ISO 8601 date):\n  "
            + "\n  ".join(lines)
        )
