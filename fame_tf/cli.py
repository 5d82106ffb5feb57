"""The ``fame-tf`` command line. Every model/training field of ``FameConfig`` is an option
(``--num-heads``, ``--num-experts``, ...), generated from the dataclass so the two never drift."""

from __future__ import annotations

import dataclasses
import json
import os
import sys

import click

from fame_tf import config as config_module
from fame_tf.config import ConfigError, FameConfig

_CHOICES = {
    "variant": config_module.VARIANTS,
    "objective": config_module.OBJECTIVES,
    "fusion": config_module.FUSIONS,
    "gate": config_module.GATES,
    "item_projection": config_module.ITEM_PROJECTIONS,
    "head_residual": config_module.HEAD_RESIDUALS,
    "logit_scale": config_module.LOGIT_SCALES,
    "activation": config_module.ACTIVATIONS,
    "training_scheme": config_module.TRAINING_SCHEMES,
    "norm_placement": config_module.NORM_PLACEMENTS,
    "selection_protocol": config_module.SELECTION_PROTOCOLS,
}
_SHORT = {"num_heads": "--heads", "num_experts": "--experts", "num_layers": "--layers"}


def config_options(command, defaults=None):
    """Adds one option per config field; unset options fall back to the --config file, then to
    ``defaults``, then to the field's default (their help shows the last two)."""
    defaults = defaults or {}
    for field in reversed(dataclasses.fields(FameConfig)):
        if field.name == "num_items":
            continue
        names = ["--" + field.name.replace("_", "-")] + ([_SHORT[field.name]] if field.name in _SHORT else [])
        shown = f"[default: {defaults.get(field.name, field.default)}]"
        if field.type == "bool":
            option = click.option(names[0] + "/--no-" + names[0][2:], field.name, default=None,
                                  help=shown)
        else:
            kind = click.Choice(_CHOICES[field.name]) if field.name in _CHOICES else {
                "int": int, "float": float, "str": str}[field.type]
            option = click.option(*names, field.name, type=kind, default=None, help=shown)
        command = option(command)
    return click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
                        help="JSON file with config fields; options given on the command line win.")(command)


def _config_from(config_file, options, defaults=None) -> FameConfig:
    """``defaults``, then the --config file, then the options given on the command line."""
    values = dict(defaults or {})
    if config_file:
        with open(config_file) as handle:
            values.update(json.load(handle))
    values.update({k: v for k, v in options.items() if v is not None})
    return FameConfig.from_dict(values)


@click.group()
def main():
    """FAME sequential recommendation: train, evaluate, export, serve and run pipelines."""


@main.command()
@click.option("--data", default="data/beauty", show_default=True,
              help="Sequence .txt file, CSV/TSV interaction log, or a directory with one .txt file.")
@click.option("--output", required=True, help="Run directory: config, metrics, checkpoints, model.")
@click.option("--k-core", default=0, show_default=True, help="Drop users/items with fewer interactions (0: off).")
@click.option("--on-error", type=click.Choice(["raise", "skip"]), default="raise", show_default=True,
              help="Malformed input lines: stop with an error, or skip and count them.")
@click.option("--user-col", default="user_id", show_default=True)
@click.option("--item-col", default="item_id", show_default=True)
@click.option("--time-col", default="timestamp", show_default=True)
@click.option("--delimiter", default=None, help="CSV delimiter [default: ',' for .csv, tab for .tsv]")
@click.option("--quiet", is_flag=True, help="No per-epoch Keras progress lines.")
@config_options
def train(data, output, k_core, on_error, user_col, item_col, time_col, delimiter, quiet, config_file, **options):
    """Train a model on DATA into OUTPUT; prints validation and test metrics of the best epoch.

    Killing a run and starting the same command again resumes it."""
    from fame_tf.data import DataError, load_split
    from fame_tf.training import fit

    try:
        config = _config_from(config_file, options)
        csv_options = dict(user_col=user_col, item_col=item_col, time_col=time_col, delimiter=delimiter)
        if not data.endswith((".csv", ".tsv")):
            csv_options = {}
        split = load_split(data, config.max_len, k_core_min=k_core, on_error=on_error, **csv_options)
    except (ConfigError, DataError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"data: {json.dumps(split.report.to_dict())}")
    try:
        summary = fit(config.replace(num_items=split.num_items), split, output, verbose=0 if quiet else 2)
    except ValueError as error:  # a run of another config in OUTPUT
        raise click.ClickException(str(error)) from error
    model = summary.pop("model")
    served = _latest_version(output)
    if summary["epochs_this_run"] or served is None:  # a finished run re-run: already saved and exported
        model.save(os.path.join(output, "model"), save_format="tf")
        with open(os.path.join(output, VOCABULARY_FILE), "w", encoding="utf-8") as handle:
            json.dump(split.vocab.items, handle)
        served = _export(model, split.vocab.items, output)
    click.echo("validation: " + _fmt(summary["validation"]))
    click.echo("test:       " + _fmt(summary["test"]))
    click.echo(f"best epoch {summary['best_epoch']}; wrote {output}/metrics.json, {output}/model and {served}")


def _fmt(metrics):
    """One line per protocol: seen kept, then seen excluded."""
    from fame_tf.metrics import PROTOCOLS, protocol_metrics

    return "\n    ".join(f"{protocol}: " + " ".join(f"{k}={v:.4f}" for k, v in protocol_metrics(metrics, protocol).items())
                          for protocol in PROTOCOLS)


VOCABULARY_FILE = "vocabulary.json"  # raw item ids; model item i + 1 is entry i


def _latest_version(run_dir):
    """The newest serving version that `train` exported into RUN_DIR, or None."""
    from fame_tf.export import MODEL_NAME, versions

    base_path = os.path.join(run_dir, "serving", MODEL_NAME)
    existing = versions(base_path)
    return os.path.join(base_path, str(existing[-1])) if existing else None


def _export(model, vocabulary, run_dir, base_path=None, version=None, k=None):
    """Writes the serving SavedModel (TF Serving layout) and returns its version directory."""
    from fame_tf.export import DEFAULT_K, MODEL_NAME, export_version

    base_path = base_path or os.path.join(run_dir, "serving", MODEL_NAME)
    return export_version(model, vocabulary, base_path, version, k or DEFAULT_K)


@main.command()
@click.option("--run", "run_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Run directory of `fame-tf train` (with model/ and vocabulary.json).")
@click.option("--base-path", default=None, help="Model base path [default: RUN/serving/fame].")
@click.option("--version", type=int, default=None, help="Version number [default: unix seconds].")
@click.option("--k", default=100, show_default=True, help="Items returned per history.")
def export(run_dir, base_path, version, k):
    """Export a trained run for TensorFlow Serving into BASE_PATH/<version>/."""
    from fame_tf import keras

    vocabulary_path = os.path.join(run_dir, VOCABULARY_FILE)
    if not os.path.exists(vocabulary_path):
        raise click.ClickException(f"{vocabulary_path} is missing: train the run with this version of fame-tf")
    with open(vocabulary_path, encoding="utf-8") as handle:
        vocabulary = json.load(handle)
    model = keras.models.load_model(os.path.join(run_dir, "model"))
    try:
        click.echo(f"wrote {_export(model, vocabulary, run_dir, base_path, version, k)}")
    except (FileExistsError, ValueError) as error:
        raise click.ClickException(str(error)) from error


@main.command()
@click.option("--model-base-path", required=True, help="Directory of numbered versions (TF Serving layout).")
@click.option("--model-name", default="fame", show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (0.0.0.0: every interface).")
@click.option("--port", "--rest-api-port", default=8501, show_default=True, help="0: any free port.")
@click.option("--poll-seconds", default=1.0, show_default=True, help="How often to look for new versions.")
@click.option("--policy", type=click.Choice(["latest", "all", "specific"]), default="latest", show_default=True)
@click.option("--version", "versions", type=int, multiple=True, help="Versions to serve with --policy specific.")
@click.option("--label", "labels", multiple=True, help="NAME=VERSION, e.g. stable=1700000000 (repeatable).")
@click.option("--max-batch-size", default=1024, show_default=True)
@click.option("--max-body-bytes", default=4 * 1024 * 1024, show_default=True)
@click.option("--batching/--no-batching", default=True, show_default=True,
              help="Merge requests that queue up while the model is busy into one batch.")
@click.option("--intra-op-threads", default=1, show_default=True,
              help="Threads inside one TF op (TF Serving's --tensorflow_intra_op_parallelism); 0: TF's choice.")
@click.option("--inter-op-threads", default=1, show_default=True,
              help="TF ops run in parallel (TF Serving's --tensorflow_inter_op_parallelism); 0: TF's choice.")
def serve(model_base_path, model_name, host, port, poll_seconds, policy, versions, labels, max_batch_size,
          max_body_bytes, batching, intra_op_threads, inter_op_threads):
    """Serve MODEL_BASE_PATH with TensorFlow Serving's REST API (for development and tests)."""
    import logging

    from fame_tf import tf
    from serving.server import serve as make_server

    tf.config.threading.set_intra_op_parallelism_threads(intra_op_threads)
    tf.config.threading.set_inter_op_parallelism_threads(inter_op_threads)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")  # loads, errors
    try:
        parsed = {name: int(number) for name, number in (label.split("=", 1) for label in labels)}
    except ValueError as error:
        raise click.BadParameter("labels are NAME=VERSION", param_hint="--label") from error
    server = make_server(model_base_path, model_name, host, port, poll_seconds, policy=policy, versions=versions,
                         labels=parsed, max_batch_size=max_batch_size, max_body_bytes=max_body_bytes,
                         batching=batching)
    click.echo(f"serving {model_name} from {model_base_path} on {server.url}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()


# -- pipeline ---------------------------------------------------------------------------------------
@main.group(name="pipeline")
def pipeline_group():
    """The TFX pipeline: run it locally, or compile and submit it to Vertex AI.

    Unlike `fame-tf train`, training stops after 10 epochs (the pipeline's budget; early stopping
    still applies) and uses --logit-scale heads, which learns much faster in such a budget; --epochs,
    --logit-scale or --config override both."""


def pipeline_options(command):
    """Options shared by every pipeline command: the Trainer's settings, the blessing threshold and
    Beam arguments; plus every config field (the epoch default is the pipeline's training budget)."""
    from pipeline.defaults import PIPELINE_DEFAULTS

    command = config_options(command, PIPELINE_DEFAULTS)
    for option in reversed([
        click.option("--min-ndcg-at-10", default=0.01, show_default=True,
                     help="Bless only models whose test NDCG@10 reaches this (and does not regress)."),
        click.option("--top-k", default=100, show_default=True, help="Items the served model returns."),
        click.option("--distribution", type=click.Choice(["auto", "default", "mirrored"]), default="auto",
                     show_default=True, help="tf.distribute strategy (auto: MirroredStrategy with several GPUs)."),
        click.option("--beam-arg", "beam_args", multiple=True,
                     help="A Beam pipeline argument, repeatable; after the DirectRunner defaults "
                          "(--direct_running_mode=in_memory --direct_num_workers=1), so it can override them."),
    ]):
        command = option(command)
    return command


def _trainer_settings(config_file, top_k, distribution, options):
    from pipeline.defaults import PIPELINE_DEFAULTS
    from pipeline.trainer import TrainerSettings

    try:
        config = _config_from(config_file, options, defaults=PIPELINE_DEFAULTS)
        return TrainerSettings(model=config, top_k=top_k, distribution=distribution)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error


def _quiet_library_warnings():
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)  # google-cloud's Python 3.10 notices


@pipeline_group.command(name="run")
@click.option("--data", default="data/beauty", show_default=True,
              help="Interactions CSV (user_id,item_id,timestamp), a directory of them, or sequence text.")
@click.option("--output", default="runs/pipeline", show_default=True,
              help="Pipeline root, ML Metadata, converted input and serving_model/<model>/<version>/.")
@click.option("--no-cache", is_flag=True, help="Run every component even if its inputs are unchanged.")
@pipeline_options
def pipeline_run(data, output, no_cache, min_ndcg_at_10, top_k, distribution, beam_args, config_file, **options):
    """Run the pipeline here (LocalDagRunner, SQLite ML Metadata, caching); prints each component's
    time, the test metrics, the blessing decision and the pushed model's path."""
    _quiet_library_warnings()
    settings = _trainer_settings(config_file, top_k, distribution, options)
    from fame_tf.data import DataError
    from pipeline.leave_one_out import MIN_ITEMS
    from pipeline.local_runner import run_local
    from pipeline.validation import DataValidationError

    try:
        report = run_local(data, output, settings, min_ndcg_at_10, list(beam_args), enable_cache=not no_cache)
    except (DataError, DataValidationError) as error:
        raise click.ClickException(str(error)) from error
    for name, node in report["components"].items():
        click.echo(f"  {name:28s} {node['state']:9s} {node['seconds']:7.1f} s")
    click.echo(f"pipeline finished in {report['seconds']:.0f} s")
    click.echo(f"users:    {report['users']['users']} split, {report['users']['users_too_short']} dropped "
               f"(fewer than {MIN_ITEMS} interactions)")
    click.echo("test:     " + _fmt(report["evaluation"]["metrics"]))
    click.echo(f"blessing: {'BLESSED' if report['blessed'] else 'NOT BLESSED'}: {report['reason']}")
    click.echo(f"pushed:   {report['pushed_to'] or 'nothing'} (model base path {report['serving_model_base_path']})")


@pipeline_group.command(name="compile")
@click.option("--target", type=click.Choice(["vertex"]), default="vertex", show_default=True)
@click.option("--image", required=True, help="Container image built from the Dockerfile, e.g. REGION-docker.pkg.dev/P/R/fame-tf:TAG.")
@click.option("--bucket", required=True, help="Cloud Storage bucket for the pipeline root, data and serving model.")
@click.option("--data-root", default=None, help="Directory of interaction CSVs [default: gs://BUCKET/fame/data].")
@click.option("--output-file", default="fame_pipeline.json", show_default=True)
@click.option("--dataflow", is_flag=True, help="Run the Beam steps on Dataflow (needs --project and --region).")
@click.option("--project", default=None, help="Google Cloud project (for --dataflow).")
@click.option("--region", default=None, help="Google Cloud region (for --dataflow).")
@pipeline_options
def pipeline_compile(target, image, bucket, data_root, output_file, dataflow, project, region, min_ndcg_at_10, top_k,
                     distribution, beam_args, config_file, **options):
    """Compile the pipeline for Vertex AI Pipelines (offline: no credentials needed)."""
    _quiet_library_warnings()
    settings = _trainer_settings(config_file, top_k, distribution, options)
    path = _compile_vertex(output_file, image, bucket, data_root, dataflow, project, region, settings,
                           min_ndcg_at_10, beam_args)
    click.echo(f"wrote {path}")


def _compile_vertex(output_file, image, bucket, data_root, dataflow, project, region, settings, min_ndcg_at_10,
                    beam_args):
    from pipeline.vertex_runner import bucket_paths, compile_vertex, dataflow_beam_args

    beam_args = list(beam_args)
    if dataflow:
        if not (project and region):
            raise click.UsageError("--dataflow needs --project and --region")
        beam_args = dataflow_beam_args(project, region, bucket_paths(bucket)["temp"], image) + beam_args
    return compile_vertex(output_file, image, bucket, settings, data_root, min_ndcg_at_10, beam_args)


@pipeline_group.command(name="submit")
@click.option("--project", required=True, help="Google Cloud project.")
@click.option("--region", required=True, help="Vertex AI region, e.g. europe-west4.")
@click.option("--bucket", required=True, help="Cloud Storage bucket of the pipeline root.")
@click.option("--pipeline-json", default=None, type=click.Path(exists=True, dir_okay=False),
              help="A compiled pipeline; without it the pipeline is compiled first (needs --image).")
@click.option("--image", default=None, help="Container image (when compiling).")
@click.option("--data-root", default=None, help="Directory of interaction CSVs [default: gs://BUCKET/fame/data].")
@click.option("--dataflow", is_flag=True, help="Run the Beam steps on Dataflow.")
@click.option("--service-account", default=None)
@pipeline_options
def pipeline_submit(project, region, bucket, pipeline_json, image, data_root, dataflow, service_account,
                    min_ndcg_at_10, top_k, distribution, beam_args, config_file, **options):
    """Submit the pipeline to Vertex AI Pipelines (google.cloud.aiplatform.PipelineJob)."""
    _quiet_library_warnings()
    from pipeline.vertex_runner import submit_vertex

    context = click.get_current_context()
    submit_only = {"project", "region", "bucket", "pipeline_json", "service_account"}
    compile_options = [f"--{name.replace('_', '-')}" for name in context.params if name not in submit_only
                       and context.get_parameter_source(name) != click.core.ParameterSource.DEFAULT]
    if pipeline_json and compile_options:
        raise click.UsageError(f"{', '.join(compile_options)} only apply when submit compiles the pipeline: "
                               "give them to `fame-tf pipeline compile`, or drop --pipeline-json")
    if pipeline_json is None:
        if not image:
            raise click.UsageError("give --pipeline-json, or --image to compile the pipeline first")
        settings = _trainer_settings(config_file, top_k, distribution, options)
        pipeline_json = _compile_vertex("fame_pipeline.json", image, bucket, data_root, dataflow, project, region,
                                        settings, min_ndcg_at_10, beam_args)
    job = submit_vertex(pipeline_json, project, region, bucket, service_account)
    click.echo(f"submitted {job.resource_name}")


@pipeline_group.command(name="convert")
@click.option("--data", default="data/beauty", show_default=True, help="Sequence text, or a directory with one.")
@click.option("--output", required=True, help="Directory to write <name>/interactions.csv into.")
def pipeline_convert(data, output):
    """Convert sequence text to the pipeline's interactions CSV (e.g. to copy it to Cloud Storage)."""
    from fame_tf.data import DataError
    from pipeline.convert import prepare_input

    try:
        base, pattern = prepare_input(data, output)
    except DataError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"wrote {os.path.join(base, pattern)}")


if __name__ == "__main__":
    sys.exit(main())
