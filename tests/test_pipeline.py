"""The TFX pipeline, run for real (LocalDagRunner, DirectRunner Beam, TensorFlow Transform, TF) on a
tiny generated interaction log whose next item follows a rule, so a trained model is far above
chance. The end-to-end runs share one output directory and run in order: first run, cached re-run,
worse model."""

import csv
import datetime
import glob
import json
import os
import random
import re

import numpy as np
import pytest

import pipeline  # noqa: F401  (sets TF_USE_LEGACY_KERAS first)
from conftest import SEED, rule_sequences
from fame_tf import FameConfig
from fame_tf.backend import tf
from fame_tf.config import ConfigError
from fame_tf.data import DataError
from fame_tf.readers import DataOptions
from pipeline.convert import prepare_input, sequences_to_csv
from fame_tf.presets import PIPELINE
from pipeline.evaluator import decide
from pipeline.leave_one_out import MAX_ITEMS_PER_USER, _user_event, latest_per_user, split_user
from pipeline.local_runner import paths, run_local, run_report
from pipeline.trainer import TrainerSettings
from pipeline.validation import DataValidationError
from pipeline.vertex_runner import compile_vertex

NUM_ITEMS = 40
COMPONENTS = {"CsvExampleGen", "StatisticsGen", "ImportSchemaGen", "ExampleValidator", "LeaveOneOutSplit",
              "SequenceSchemaGen", "Transform", "Trainer", "RankingEvaluator", "Pusher"}
NODES = COMPONENTS | {"LatestBlessedModelResolver"}  # a resolver has an execution, but no artifacts
UPSTREAM_OF_EVALUATOR = COMPONENTS - {"RankingEvaluator", "Pusher"}
TINY = FameConfig(seed=SEED, hidden_size=16, num_heads=2, num_experts=2, num_layers=1, max_len=10, epochs=4, patience=3,
                  batch_size=32, learning_rate=5e-3, dropout=0.1, attention_dropout=0.1, weight_decay=0.0)
THRESHOLD = 0.3
# The shared pipeline runs put every Beam step (ExampleGen, statistics, the leave-one-out split,
# Transform) on the DirectRunner's multi-processing mode with two worker processes.
MULTI_PROCESS = ["--direct_running_mode=multi_processing", "--direct_num_workers=2"]


# The shared runs read the log as a shop might export it: ';'-separated, its own column names, ISO dates;
# `fame-tf train` reads it with the same options.
LOG_OPTIONS = {"delimiter": ";", "user_col": "uid", "item_col": "sku", "time_col": "ts"}
LOG_FLAGS = ["--delimiter", ";", "--user-col", "uid", "--item-col", "sku", "--time-col", "ts"]


def write_interactions(path, rows, header=("user_id", "item_id", "timestamp"), delimiter=","):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle, delimiter=delimiter)
        writer.writerow(header)
        writer.writerows(rows)


def rule_rows(num_users=200, too_short=0):
    """Interactions in shuffled file order: only the timestamps give each user's order. The
    ``too_short`` extra users have 1 or 2 interactions, too few for the split."""
    rows = [(f"u{user}", f"item{item}", 1_000_000 + 60 * step)
            for user, items in rule_sequences(num_users, NUM_ITEMS, min_len=5, max_len=10).items()
            for step, item in enumerate(items)]
    rows += [(f"short{user}", f"item{step}", 1_000_000 + 60 * step)
             for user in range(too_short) for step in range(1 + user % 2)]
    random.Random(0).shuffle(rows)
    return rows


def chance_ndcg_at_10(num_items):
    return sum(1.0 / tf.math.log(float(rank + 2)).numpy() * tf.math.log(2.0).numpy() for rank in range(10)) / num_items


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("pipeline")
    utc = datetime.timezone.utc
    rows = [(u, i, datetime.datetime.fromtimestamp(t, utc).isoformat()) for u, i, t in rule_rows(too_short=3)]
    write_interactions(str(root / "data" / "export.csv"), rows, header=("uid", "sku", "ts"), delimiter=";")
    (root / "tiny.json").write_text(json.dumps({k: v for k, v in TINY.to_dict().items() if k != "num_items"}))
    return root


def log(workdir):
    return DataOptions(str(workdir / "data"), **LOG_OPTIONS)


@pytest.fixture(scope="module")
def first_run(workdir):
    """`fame-tf pipeline run` itself, with the log's options and TINY's config."""
    from click.testing import CliRunner

    from fame_cli import main

    result = CliRunner().invoke(main, [
        "pipeline", "run", "--data", str(workdir / "data"), *LOG_FLAGS, "--output", str(workdir / "out"),
        "--config", str(workdir / "tiny.json"), "--top-k", "20", "--min-ndcg-at-10", str(THRESHOLD),
        *[f"--beam-arg={arg}" for arg in MULTI_PROCESS]])
    assert result.exit_code == 0, result.output + repr(result.exception)
    assert "BLESSED" in result.output
    report = run_report(paths(str(workdir / "out"))["metadata"])
    report["serving_model_base_path"] = paths(str(workdir / "out"))["serving"]
    return report


def versions(workdir):
    return sorted(os.listdir(paths(str(workdir / "out"))["serving"]))


def test_first_run_trains_blesses_and_pushes_a_version(workdir, first_run):
    assert set(first_run["components"]) == NODES
    assert {node["state"] for node in first_run["components"].values()} == {"COMPLETE"}
    root = paths(str(workdir / "out"))["pipeline_root"]
    for component in COMPONENTS:  # every component wrote its output artifacts
        files = [f for _, _, names in os.walk(os.path.join(root, component)) for f in names]
        assert files, component
    metrics = first_run["evaluation"]["metrics"]
    assert first_run["evaluation"]["users"] == 200 and first_run["evaluation"]["split"] == "eval"
    assert first_run["users"] == {"users": 200, "users_too_short": 3}  # counted in ML Metadata
    assert metrics["ndcg@10"] > max(THRESHOLD, 3 * chance_ndcg_at_10(NUM_ITEMS))
    assert first_run["blessed"] and "no blessed model yet" in first_run["reason"]
    (version,) = versions(workdir)
    assert version.isdigit() and first_run["pushed_to"] == os.path.join(first_run["serving_model_base_path"], version)
    assert os.path.exists(os.path.join(first_run["pushed_to"], "saved_model.pb"))
    assert os.path.exists(os.path.join(first_run["pushed_to"], "keras", "fame.keras"))  # the Keras 3 twin too


def test_the_beam_evaluator_measures_what_one_process_measures(workdir, first_run):
    """The evaluator's Beam job (batches ranked on workers, sums combined) gives the metrics of
    ranking every validation user at once in this process through the pushed model."""
    from fame_tf.metrics import DEFAULT_KS, metrics_from_ranks

    root = paths(str(workdir / "out"))["pipeline_root"]
    records = [r.numpy() for r in tf.data.TFRecordDataset(
        glob.glob(os.path.join(root, "LeaveOneOutSplit", "sequences", "*", "Split-eval", "*")), compression_type="GZIP")]
    sequences = tf.io.parse_example(tf.constant(records), {"items": tf.io.RaggedFeature(tf.string)})["items"].to_list()
    serve = tf.saved_model.load(first_run["pushed_to"]).signatures["serving_default"]
    item_ids = serve(history=tf.ragged.constant([s[:-1] for s in sequences]).to_tensor(b""))["item_ids"].numpy()
    hits = item_ids == np.array([s[-1] for s in sequences], dtype=object)[:, None]
    expected = metrics_from_ranks(np.where(hits.any(axis=1), hits.argmax(axis=1), item_ids.shape[1]), DEFAULT_KS)
    measured = first_run["evaluation"]["metrics"]
    assert measured.pop(f"mrr@{item_ids.shape[1]}") == pytest.approx(expected.pop("mrr"))
    assert measured == pytest.approx(expected)


def test_train_report_and_pipeline_read_the_shops_log_to_the_same_split(workdir, first_run, tmp_path, monkeypatch):
    """`fame-tf train` and `fame-tf pipeline run`, given the same data options, split the log alike;
    the run records how it read the data, so `report` (from another directory) needs no options."""
    from click.testing import CliRunner

    from fame_cli import main

    monkeypatch.chdir(workdir)
    run = tmp_path / "run"
    trained = CliRunner().invoke(main, ["train", "--data", "data/export.csv", *LOG_FLAGS, "--output", str(run),
                                        "--config", "tiny.json", "--epochs", "2", "--quiet"])
    assert trained.exit_code == 0, trained.output + repr(trained.exception)
    recorded = json.loads((run / "data.json").read_text())
    assert recorded == DataOptions(str(workdir / "data" / "export.csv"), **LOG_OPTIONS).to_dict()
    monkeypatch.chdir(tmp_path)
    pictures = CliRunner().invoke(main, ["report", str(run), "--output", "pictures", "--top", "3"])
    assert pictures.exit_code == 0, pictures.output + repr(pictures.exception)
    assert (tmp_path / "pictures" / "run-explanation.png").exists()

    split = DataOptions(str(workdir / "data" / "export.csv"), **LOG_OPTIONS).split(50)
    names = [""] + split.vocab.items
    by_train = {(u, tuple(names[i] for i in np.trim_zeros(h, "f")) + (names[t],))
                for u, h, t in zip(split.users, split.test_history, split.test_targets)}
    root = paths(str(workdir / "out"))["pipeline_root"]
    records = tf.data.TFRecordDataset(glob.glob(os.path.join(root, "LeaveOneOutSplit", "sequences", "*", "Split-test",
                                                             "*")), compression_type="GZIP")
    by_pipeline = set()
    for record in records:
        feature = tf.train.Example.FromString(record.numpy()).features.feature
        by_pipeline.add((feature["user_id"].bytes_list.value[0].decode(),
                         tuple(v.decode() for v in feature["items"].bytes_list.value)))
    assert len(by_train) == 200 and by_pipeline == by_train


def test_pushed_model_takes_and_returns_raw_item_ids(first_run):
    serve = tf.saved_model.load(first_run["pushed_to"]).signatures["serving_default"]
    out = serve(history=tf.constant([["item7", "item8", "item9"], ["", "item39", "item40"]]))
    top = [[item.decode() for item in row] for row in out["item_ids"].numpy()]
    assert all(item.startswith("item") for row in top for item in row)
    assert "item10" in top[0][:3] and "item1" in top[1][:3]  # the rule's next items


def test_one_vocabulary_the_transform_maps_training_and_serving(workdir, first_run):
    """Every catalogue item has one id: the Transform's, in the Trainer's input and in the pushed
    model (which carries the Transform's vocabulary file); an unknown id is ignored."""
    import tensorflow_transform as tft

    from fame_tf.backend import keras
    from fame_tf.streams import id_sequences

    root = paths(str(workdir / "out"))["pipeline_root"]
    (graph,) = glob.glob(os.path.join(root, "Transform", "transform_graph", "*"))
    transform = tft.TFTransformOutput(graph)
    catalogue = [f"item{n}" for n in range(1, NUM_ITEMS + 1)]
    mapped = transform.transform_raw_features({"items": tf.sparse.from_dense(tf.constant([catalogue + ["unknown"]]))})
    ids = dict(zip(catalogue + ["unknown"], tf.sparse.to_dense(mapped["item_ids"]).numpy()[0].tolist()))
    assert sorted(ids[item] for item in catalogue) == list(range(1, NUM_ITEMS + 1)) and ids["unknown"] == 0

    # Training: the Trainer reads the raw sequences under exactly that mapping.
    records = tf.data.TFRecordDataset(glob.glob(os.path.join(root, "LeaveOneOutSplit", "sequences", "*", "Split-test", "*")),
                                      compression_type="GZIP")
    raw = [[item.decode() for item in tf.train.Example.FromString(r.numpy()).features.feature["items"].bytes_list.value]
           for r in records]
    trained = [s.numpy().tolist() for s in id_sequences([os.path.join(root, "Transform", "transformed_examples", "*",
                                                                      "Split-test", "*")])]
    assert sorted(trained) == sorted([ids[item] for item in sequence] for sequence in raw)

    # Serving: the pushed model maps histories and names its answers with the same ids: its scores
    # are the trained model's scores of the Transform's ids.
    pushed = first_run["pushed_to"]
    with open(os.path.join(pushed, "assets", "items"), "rb") as served_file, \
            open(transform.vocabulary_file_by_name("items"), "rb") as transform_file:
        assert served_file.read() == transform_file.read()
    serve = tf.saved_model.load(pushed).signatures["serving_default"]
    served = serve(history=tf.constant([[item, ""] for item in catalogue]))
    names = [[name.decode() for name in row] for row in served["item_ids"].numpy()]
    trained_model = keras.models.load_model(pushed).model
    scores = trained_model.score(tf.constant([[ids[item]] for item in catalogue])).numpy()
    np.testing.assert_allclose(served["scores"].numpy(),
                               np.take_along_axis(scores, np.array([[ids[n] for n in row] for row in names]), axis=1),
                               rtol=1e-5, atol=1e-6)
    with_unknown = serve(history=tf.constant([[item, "unknown"] for item in catalogue]))
    assert with_unknown["item_ids"].numpy().tolist() == served["item_ids"].numpy().tolist()


def test_second_run_with_unchanged_inputs_is_served_from_the_cache(workdir, first_run):
    again = run_local(log(workdir), str(workdir / "out"), TrainerSettings(model=TINY, top_k=20),
                      min_ndcg_at_10=THRESHOLD, beam_pipeline_args=MULTI_PROCESS)
    states = {name: node["state"] for name, node in again["components"].items()}
    assert {states[name] for name in UPSTREAM_OF_EVALUATOR} == {"CACHED"}
    assert again["users"] == first_run["users"]  # the cached split's counts
    # The evaluator sees a new baseline (the first run's model, which is this very model): it does
    # not bless it again, so the same model is not pushed twice.
    assert not again["blessed"] and "already the latest blessed model" in again["reason"]
    assert not again["pushed"] and len(versions(workdir)) == 1


def test_a_worse_model_is_not_blessed_or_pushed(workdir, first_run):
    worse = TINY.replace(epochs=1, learning_rate=1e-6)
    report = run_local(log(workdir), str(workdir / "out"), TrainerSettings(model=worse, top_k=20),
                       min_ndcg_at_10=0.0, beam_pipeline_args=MULTI_PROCESS)  # only the baseline can refuse it
    assert report["components"]["Trainer"]["state"] == "COMPLETE"
    assert report["components"]["Transform"]["state"] == "CACHED"
    assert report["evaluation"]["baseline_metrics"]["ndcg@10"] == pytest.approx(first_run["evaluation"]["metrics"]["ndcg@10"])
    assert not report["blessed"] and "regresses against the blessed model" in report["reason"]
    assert not report["pushed"] and len(versions(workdir)) == 1


def test_bad_csv_stops_the_run_at_validation_naming_the_columns(tmp_path):
    rows = [(f"u{n % 20}", f"2024-05-{1 + n % 28:02d}T10:00:00Z") for n in range(100)]
    write_interactions(str(tmp_path / "data" / "interactions.csv"), rows, header=("user_id", "timestamp"))
    with pytest.raises(DataValidationError) as error:
        run_local(DataOptions(str(tmp_path / "data")), str(tmp_path / "out"), TrainerSettings(model=TINY, top_k=20))
    message = str(error.value)
    assert "feature 'item_id'" in message and "missing" in message.lower()
    assert "feature 'timestamp'" not in message  # ISO dates are timestamps too
    assert not os.path.exists(paths(str(tmp_path / "out"))["serving"])


def test_unparsable_timestamp_stops_the_run_naming_the_row(tmp_path):
    rows = [(f"u{n % 20}", f"item{n % 7}", f"2024-05-{1 + n % 28:02d}" if n != 7 else "yesterday") for n in range(100)]
    write_interactions(str(tmp_path / "data" / "interactions.csv"), rows)
    with pytest.raises(DataError, match=r"user .u7., item .item0.: unparsable timestamp .yesterday."):
        run_local(DataOptions(str(tmp_path / "data")), str(tmp_path / "out"), TrainerSettings(model=TINY, top_k=20))
    assert not os.path.exists(paths(str(tmp_path / "out"))["serving"])


def test_vertex_pipeline_json_compiles_offline_with_the_image(tmp_path):
    image = "europe-west4-docker.pkg.dev/my-project/ml/fame-tf:1.0"
    path = compile_vertex(str(tmp_path / "fame.json"), image, "my-bucket", TrainerSettings(model=TINY, top_k=20),
                          beam_pipeline_args=["--runner=DataflowRunner"])
    spec = json.load(open(path))["pipelineSpec"]
    assert COMPONENTS <= set(spec["root"]["dag"]["tasks"])
    containers = {name: executor["container"] for name, executor in spec["deploymentSpec"]["executors"].items()
                  if "container" in executor}
    assert {name.replace("_executor", "") for name in containers} == COMPONENTS
    assert {c["image"] for c in containers.values()} == {image}
    text = json.dumps(spec)
    assert "gs://my-bucket/fame/serving_model/fame" in text and "--runner=DataflowRunner" in text
    assert "pipeline.trainer.run_fn" in text and "/fame-tf/pipeline/schemas/interactions.pbtxt" in text


def test_trainer_compiles_as_a_vertex_ai_training_job_with_gpus_and_workers(tmp_path):
    from click.testing import CliRunner

    from fame_cli import main

    image, out = "gcr.io/my-project/fame-tf:3", str(tmp_path / "p.json")
    args = ["pipeline", "compile", "--image", image, "--bucket", "gs://b", "--output-file", out, "--project", "p",
            "--region", "europe-west4", "--vertex-training", "--machine-type", "n1-standard-16",
            "--accelerator-type", "NVIDIA_TESLA_T4", "--accelerator-count", "2", "--workers", "3"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    spec = json.load(open(out))["pipelineSpec"]
    trainer_executor = json.dumps(spec["deploymentSpec"]["executors"]["Trainer_executor"])
    assert "google_cloud_ai_platform.trainer.executor" in trainer_executor  # the extension's executor runs the job
    config = trainer_custom_config(out)
    assert config["ai_platform_enable_vertex"] is True and config["ai_platform_vertex_region"] == "europe-west4"
    job = config["ai_platform_training_args"]
    assert job["project"] == "p" and [pool["replica_count"] for pool in job["worker_pool_specs"]] == [1, 2]
    for pool in job["worker_pool_specs"]:
        assert pool["container_spec"]["image_uri"] == image
        assert pool["machine_spec"] == {"machine_type": "n1-standard-16", "accelerator_type": "NVIDIA_TESLA_T4",
                                        "accelerator_count": 2}
    assert TrainerSettings.from_custom_config(config).distribution == "auto"  # the extension's keys are not ours
    refused = CliRunner().invoke(main, args + ["--distribution", "mirrored"])
    assert refused.exit_code == 2 and "3 workers" in refused.output
    needs = CliRunner().invoke(main, ["pipeline", "compile", "--image", image, "--bucket", "gs://b", "--output-file", out,
                                      "--workers", "2"])
    assert needs.exit_code == 2 and "--workers need --vertex-training" in needs.output


def trainer_custom_config(pipeline_json):
    task = json.load(open(pipeline_json))["pipelineSpec"]["root"]["dag"]["tasks"]["Trainer"]
    return json.loads(task["inputs"]["parameters"]["custom_config"]["runtimeValue"]["constantValue"]["stringValue"])


def test_cli_compiles_with_dataflow_flags_and_validated_trainer_settings(tmp_path):
    from click.testing import CliRunner

    from fame_cli import main

    image, out = "gcr.io/my-project/fame-tf:2", str(tmp_path / "p.json")
    args = ["pipeline", "compile", "--image", image, "--bucket", "gs://b", "--output-file", out, "--max-len", "20"]
    result = CliRunner().invoke(main, args + ["--dataflow", "--project", "p", "--region", "europe-west4"])
    assert result.exit_code == 0, result.output
    text = open(out).read()
    assert "--runner=DataflowRunner" in text and f"--sdk_container_image={image}" in text
    assert "--temp_location=gs://b/fame/tmp" in text
    settings = TrainerSettings.from_custom_config(trainer_custom_config(out))
    assert settings.model.max_len == 20  # the option given, and the pipeline's defaults for the rest:
    assert {name: getattr(settings.model, name) for name in PIPELINE.changes} == PIPELINE.changes
    refused = CliRunner().invoke(main, args + ["--hidden-size", "31"])
    assert refused.exit_code != 0 and "hidden_size=31" in refused.output
    assert "--dataflow needs --project" in CliRunner().invoke(main, args + ["--dataflow"]).output

    # --data in any layout `train` reads is converted into the data root the compiled pipeline reads.
    write_interactions(str(tmp_path / "raw" / "shop.tsv"), [("u", "b", "2024-01-02"), ("u", "a", "2024-01-01")],
                       header=("uid", "sku", "ts"), delimiter="\t")
    root = tmp_path / "data-root"
    with_data = CliRunner().invoke(main, args + ["--data", str(tmp_path / "raw" / "shop.tsv"), "--user-col", "uid",
                                                 "--item-col", "sku", "--time-col", "ts", "--data-root", str(root)])
    assert with_data.exit_code == 0, with_data.output
    assert (root / "shop" / "interactions.csv").read_text() == "user_id,item_id,timestamp\nu,a,0\nu,b,1\n"
    assert json.dumps(str(root / "shop")) in open(out).read()
    alone = CliRunner().invoke(main, args + ["--user-col", "uid"])
    assert alone.exit_code == 2 and "--user-col describe --data: give --data too" in alone.output

    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps({"max_len": 20}))
    assert CliRunner().invoke(main, args + ["--config", str(config_file)]).exit_code == 0
    settings = TrainerSettings.from_custom_config(trainer_custom_config(out))  # the file over the pipeline defaults
    assert {name: getattr(settings.model, name) for name in PIPELINE.changes} == PIPELINE.changes
    shown = " ".join(CliRunner().invoke(main, ["pipeline", "compile", "--help"]).output.split())  # unwrapped
    assert re.search(r"--epochs INTEGER [^[]*\[default: 10\]", shown) and "[default: heads]" in shown
    submit = ["pipeline", "submit", "--project", "p", "--region", "r", "--bucket", "gs://b", "--pipeline-json", out]
    ignored = CliRunner().invoke(main, submit + ["--dataflow", "--heads", "2"])
    assert ignored.exit_code == 2 and "only apply when submit compiles" in ignored.output
    assert "--num-heads" in ignored.output and "--dataflow" in ignored.output


def test_a_pipeline_killed_during_the_trainer_completes_when_started_again_reusing_the_cache(tmp_path):
    """SIGKILL (no clean-up at all) while the Trainer trains; the same command again finishes, with
    every component upstream of the Trainer taken from the cache."""
    import signal
    import subprocess
    import sys

    write_interactions(str(tmp_path / "data" / "interactions.csv"), rule_rows(num_users=120))
    command = [os.path.join(os.path.dirname(sys.executable), "fame-tf"), "pipeline", "run",
               "--data", str(tmp_path / "data"), "--output", str(tmp_path / "out"), "--min-ndcg-at-10", "0",
               "--hidden-size", "16", "--heads", "2", "--experts", "2", "--layers", "1", "--max-len", "10",
               "--batch-size", "32", "--epochs", "6", "--patience", "6"]
    first = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             start_new_session=True)
    seen = []
    for line in first.stdout:
        seen.append(line)
        if line.startswith("epoch 1:"):  # the Trainer is training
            os.killpg(first.pid, signal.SIGKILL)
            break
    first.wait(timeout=60)
    assert first.returncode == -signal.SIGKILL, "".join(seen[-20:])
    assert not os.path.exists(paths(str(tmp_path / "out"))["serving"]) or not os.listdir(
        paths(str(tmp_path / "out"))["serving"])

    again = subprocess.run(command, capture_output=True, text=True, timeout=900)
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    report = run_report(paths(str(tmp_path / "out"))["metadata"])
    states = {name: node["state"] for name, node in report["components"].items()}
    assert {states[name] for name in UPSTREAM_OF_EVALUATOR - {"Trainer"}} == {"CACHED"}, states
    assert states["Trainer"] == "COMPLETE" and report["pushed"], states


# -- the pieces, without a pipeline ----------------------------------------------------------------
def test_split_user_orders_by_time_and_drops_short_users():
    events = [(30, b"c"), (10, b"a"), (40, b"d"), (20, b"b")]
    out = {tagged.tag: tf.train.Example.FromString(tagged.value).features.feature["items"].bytes_list.value
           for tagged in split_user((b"u", events))}
    assert out == {"train": [b"a", b"b"], "eval": [b"a", b"b", b"c"], "test": [b"a", b"b", b"c", b"d"]}
    assert [t.tag for t in split_user((b"u", events[:3]))] == ["eval", "test"]  # no training pair
    assert list(split_user((b"u", events[:2]))) == []


@pytest.mark.parametrize("stamps", ["numbers", "iso_dates"])
def test_cli_split_and_pipeline_split_of_the_same_log_are_identical(tmp_path, stamps):
    """The same CSV (shuffled rows, timestamp ties; unix seconds or ISO 8601 dates) split by
    `fame-tf train`'s reader and by the pipeline's Beam step (a real DirectRunner pipeline, from
    records typed as ExampleGen types the column) gives the same three parts per user."""
    import apache_beam as beam
    from apache_beam.testing.util import assert_that, equal_to

    from fame_tf.readers import load_split

    rows = rule_rows(num_users=30, too_short=2)
    rows += [("tie", "item5", 7), ("tie", "item3", 7), ("tie", "item9", 5), ("tie", "item1", 9)]
    if stamps == "iso_dates":
        utc = datetime.timezone.utc
        rows = [(u, i, datetime.datetime.fromtimestamp(t, utc).isoformat()) for u, i, t in rows]
    path = str(tmp_path / "log.csv")
    write_interactions(path, rows)
    split = load_split(path, max_len=50)
    names = [""] + split.vocab.items
    def parts(histories, targets):
        return [[names[i] for i in np.trim_zeros(h, "f")] + [names[t]] for h, t in zip(histories, targets)]
    expected = {
        "train": [(u, tuple(names[i] for i in s)) for u, s in zip(split.users, split.train_sequences) if len(s) >= 2],
        "eval": [(u, tuple(p)) for u, p in zip(split.users, parts(split.valid_history, split.valid_targets))],
        "test": [(u, tuple(p)) for u, p in zip(split.users, parts(split.test_history, split.test_targets))],
    }
    assert ("tie", ("item9", "item3", "item5", "item1")) in expected["test"]

    def items_of(record):
        feature = tf.train.Example.FromString(record).features.feature
        return (feature["user_id"].bytes_list.value[0].decode(),
                tuple(v.decode() for v in feature["items"].bytes_list.value))

    def record(user, item, stamp):  # a CSV row as ExampleGen writes it: integers INT, dates BYTES
        time = (tf.train.Feature(int64_list=tf.train.Int64List(value=[stamp])) if isinstance(stamp, int)
                else tf.train.Feature(bytes_list=tf.train.BytesList(value=[stamp.encode()])))
        return tf.train.Example(features=tf.train.Features(feature={
            "user_id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[user.encode()])),
            "item_id": tf.train.Feature(bytes_list=tf.train.BytesList(value=[item.encode()])),
            "timestamp": time})).SerializeToString()

    with beam.Pipeline() as p:
        split_by_beam = (p | beam.Create([record(*row) for row in rows]) | beam.Map(_user_event)
                         | latest_per_user(MAX_ITEMS_PER_USER) | beam.FlatMap(split_user).with_outputs("train", "eval", "test"))
        for name, want in expected.items():
            assert_that(split_by_beam[name] | f"Read{name}" >> beam.Map(items_of), equal_to(want), label=f"Check{name}")


def test_a_huge_history_is_cut_to_its_latest_items_before_the_split():
    import apache_beam as beam
    from apache_beam.testing.util import assert_that, equal_to

    events = [(b"heavy", (1000 - t, f"i{t}".encode())) for t in range(300)] + [(b"light", (1, b"a")), (b"light", (2, b"b"))]
    with beam.Pipeline() as p:
        latest = p | beam.Create(events) | latest_per_user(5) | beam.MapTuple(lambda user, kept: (user, sorted(kept)))
        assert_that(latest, equal_to([(b"heavy", [(996, b"i4"), (997, b"i3"), (998, b"i2"), (999, b"i1"), (1000, b"i0")]),
                                      (b"light", [(1, b"a"), (2, b"b")])]))


def test_decide_threshold_then_no_regression():
    assert decide({"ndcg@10": 0.05}, None, 0.1, False)[0] is False
    assert decide({"ndcg@10": 0.2}, None, 0.1, False)[0] is True
    assert decide({"ndcg@10": 0.2}, {"ndcg@10": 0.3}, 0.1, False)[0] is False
    assert decide({"ndcg@10": 0.3}, {"ndcg@10": 0.3}, 0.1, False)[0] is True
    assert decide({"ndcg@10": 0.9}, {"ndcg@10": 0.9}, 0.1, True)[0] is False


def test_trainer_settings_are_validated_from_custom_config():
    settings = TrainerSettings(model=TINY, top_k=20)
    assert TrainerSettings.from_custom_config(json.loads(json.dumps(settings.to_custom_config()))) == settings
    with pytest.raises(ConfigError, match="num_heds"):
        TrainerSettings.from_custom_config({"model": {"num_heds": 2}})
    with pytest.raises(ConfigError, match="hidden_size"):
        TrainerSettings.from_custom_config({"model": {"hidden_size": 30, "num_heads": 4}})
    with pytest.raises(ConfigError, match="top_k"):
        TrainerSettings(top_k=5)


def test_sequence_text_becomes_the_same_csv_and_is_not_rewritten(tmp_path):
    text = tmp_path / "seq.txt"
    text.write_text("u1 a b c\nu2 b c d e\n")
    base, pattern = prepare_input(DataOptions(str(text)), str(tmp_path / "input"))
    csv_path = os.path.join(base, pattern)
    with open(csv_path) as handle:
        assert handle.read() == sequences_to_csv({"u1": ["a", "b", "c"], "u2": ["b", "c", "d", "e"]})
    assert open(csv_path).read().splitlines()[:2] == ["user_id,item_id,timestamp", "u1,a,0"]
    stamp = os.stat(csv_path).st_mtime_ns
    assert prepare_input(DataOptions(str(text)), str(tmp_path / "input")) == (base, pattern)
    assert os.stat(csv_path).st_mtime_ns == stamp  # unchanged input keeps ExampleGen's cache valid
