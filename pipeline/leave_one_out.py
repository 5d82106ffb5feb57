"""The Beam step that turns interactions into leave-one-out sequences, as a TFX component.

Interactions are grouped per user (the most recent ``MAX_ITEMS_PER_USER`` of each, by a combiner
with bounded memory) and split by ``fame_tf.data``'s functions,
the ones the command line uses (ordered by time, ties by item id, so the output depends neither on
file order nor on the runner); nothing is collected on the driver, so the step runs unchanged on
Dataflow. Each user of at least ``fame_tf.data.MIN_ITEMS`` items gives one ``tf.Example`` per split with
``user_id`` and ``items`` (oldest first):

- ``train``: every item but the last two (its next-item pairs train the model; users whose train
  sequence has fewer than 2 items have no pair and are left out of this split),
- ``eval``: every item but the last (the last of them is the validation target),
- ``test``: every item (the last one is the test target).

So each split's last item is its target and the rest its history.
"""

import os

import apache_beam as beam
from apache_beam.metrics.metric import MetricsFilter
from fame_tf.backend import tf
from tfx import v1 as tfx
from tfx.components.util import examples_utils
from tfx.proto import example_gen_pb2
from tfx.types import artifact_utils

from fame_tf.data import DataError, leave_one_out_parts, time_ordered
from fame_tf.readers import parse_time
from pipeline.validation import assert_no_anomalies

USER, ITEM, TIME = "user_id", "item_id", "timestamp"
ITEMS = "items"
TRAIN, EVAL, TEST = "train", "eval", "test"
SPLITS = (TRAIN, EVAL, TEST)
_COUNTERS = "leave_one_out"
COUNTS = ("users", "users_too_short")  # Beam counters, then custom properties of the output
# Each user's most recent interactions kept (far above any real user's history; a bound on the
# memory one user can take on a worker, e.g. a crawler or a shared account).
MAX_ITEMS_PER_USER = 100_000


def _id(feature: tf.train.Feature) -> bytes:
    """Ids as strings, also when ExampleGen read a column of digits as integers."""
    if feature.WhichOneof("kind") == "int64_list":
        return str(feature.int64_list.value[0]).encode()
    return feature.bytes_list.value[0]


def _time(feature: tf.train.Feature, user: bytes, item: bytes) -> float:
    """Integer, float or text (a number or an ISO 8601 date, as `fame-tf train` reads them): the
    column's type is whatever ExampleGen inferred from the file."""
    kind = feature.WhichOneof("kind")
    if kind != "bytes_list":
        return getattr(feature, kind).value[0]
    stamp = feature.bytes_list.value[0].decode("utf-8", "replace")
    try:
        return parse_time(stamp)
    except ValueError:
        raise DataError(f"user {user.decode()!r}, item {item.decode()!r}: unparsable {TIME} {stamp!r} "
                        "(numbers or ISO 8601 dates)") from None


def _user_event(record: bytes):
    feature = tf.train.Example.FromString(record).features.feature
    user, item = _id(feature[USER]), _id(feature[ITEM])
    return user, (_time(feature[TIME], user, item), item)


def _sequence_example(user: bytes, items) -> bytes:
    return tf.train.Example(features=tf.train.Features(feature={
        USER: tf.train.Feature(bytes_list=tf.train.BytesList(value=[user])),
        ITEMS: tf.train.Feature(bytes_list=tf.train.BytesList(value=items)),
    })).SerializeToString()


def split_user(user_events):
    """(user, [(time, item), ...]) -> tagged train/eval/test examples (``fame_tf.data``'s
    ``time_ordered`` and ``leave_one_out_parts``; none for a user too short to split)."""
    user, events = user_events
    parts = leave_one_out_parts(time_ordered(events))
    if parts is None:
        beam.metrics.Metrics.counter(_COUNTERS, "users_too_short").inc()
        return
    beam.metrics.Metrics.counter(_COUNTERS, "users").inc()
    if len(parts[TRAIN]) >= 2:  # at least one training pair
        yield beam.pvalue.TaggedOutput(TRAIN, _sequence_example(user, parts[TRAIN]))
    for split in (EVAL, TEST):
        yield beam.pvalue.TaggedOutput(split, _sequence_example(user, parts[split]))


def latest_per_user(max_items: int) -> beam.PTransform:
    """(user, (time, item)) events -> (user, [its latest ``max_items`` events]): a combiner that keeps
    at most ``max_items`` events per user on any worker (partial results are merged, never a
    user's whole history), so one user with millions of events cannot exhaust a worker."""
    return beam.combiners.Top.PerKey(max_items)  # the largest (time, item) pairs: time_ordered's order


def split_files(examples, split: str) -> str:
    return os.path.join(artifact_utils.get_split_uri([examples], split), "*")


@tfx.dsl.components.component(use_beam=True)
def LeaveOneOutSplit(
    interactions: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.Examples],
    anomalies: tfx.dsl.components.InputArtifact[tfx.types.standard_artifacts.ExampleAnomalies],
    sequences: tfx.dsl.components.OutputArtifact[tfx.types.standard_artifacts.Examples],
    beam_pipeline: tfx.dsl.components.BeamComponentParameter[beam.Pipeline] = None,
    max_items_per_user: tfx.dsl.components.Parameter[int] = MAX_ITEMS_PER_USER,
):
    """Validated interactions (every split of ``interactions``) -> per-user train/eval/test
    sequences. Stops with the validator's report if the interactions have anomalies. The numbers of
    users kept and of users too short for the split become custom properties of ``sequences``
    (in ML Metadata, and in the Vertex AI console)."""
    assert_no_anomalies(anomalies)
    sequences.split_names = artifact_utils.encode_split_names(list(SPLITS))
    examples_utils.set_payload_format(sequences, example_gen_pb2.PayloadFormat.FORMAT_TF_EXAMPLE)
    p = beam_pipeline
    reads = [
        p | f"Read[{split}]" >> beam.io.ReadFromTFRecord(split_files(interactions, split))
        for split in artifact_utils.decode_split_names(interactions.split_names)
    ]
    per_split = (
        reads | "Flatten" >> beam.Flatten()
        | "ToUserEvent" >> beam.Map(_user_event)
        | "LatestPerUser" >> latest_per_user(max_items_per_user)
        | "SplitUser" >> beam.FlatMap(split_user).with_outputs(*SPLITS)
    )
    for split in SPLITS:
        prefix = os.path.join(artifact_utils.get_split_uri([sequences], split), "data_tfrecord")
        _ = per_split[split] | f"Write[{split}]" >> beam.io.WriteToTFRecord(prefix, file_name_suffix=".gz")
    result = p.run()
    result.wait_until_finish()
    counters = result.metrics().query(MetricsFilter().with_namespace(_COUNTERS))["counters"]
    counts = {counter.key.metric.name: counter.committed for counter in counters}
    for name in COUNTS:
        sequences.set_int_custom_property(name, counts.get(name, 0))
