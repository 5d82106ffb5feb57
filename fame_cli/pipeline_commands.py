"""`fame-tf pipeline ...`: run the TFX pipeline here, or compile and submit it to Vertex AI."""

from __future__ import annotations

import os

import click

from fame_cli.extras import require
from fame_cli.options import DATA_PARAMETERS, config_from, config_options, data_from, data_options, format_metrics
from fame_tf.config import ConfigError
from fame_tf.contract import DEFAULT_K
from fame_tf.distribute import DISTRIBUTIONS


@click.group(name="pipeline")
def pipeline_group():
    """The TFX pipeline: run it locally, or compile and submit it to Vertex AI.

    Unlike `fame-tf train`, training stops after 10 epochs (the pipeline's time box; early stopping
    still applies) with settings that learn fast in such a budget (the `pipeline` preset of
    fame_tf.presets: 4 heads x 4 experts, batch 256, dropout 0.5, learning rate 1e-3); the options
    or --config override them."""


def pipeline_options(command):
    """Options shared by every pipeline command: the Trainer's settings, the blessing threshold and
    Beam arguments; plus every config field (the epoch default is the pipeline's training budget)."""
    from fame_tf.presets import PIPELINE

    command = config_options(command, PIPELINE.changes, exclude=("attribute_loss_weight",))  # it reads no attributes
    for option in reversed([
        click.option("--min-ndcg-at-10", default=0.01, show_default=True,
                     help="Bless only models whose NDCG@10 on the blessing split reaches this (and does not regress)."),
        click.option("--blessing-split", type=click.Choice(["eval", "test"]), default="eval", show_default=True,
                     help="Split the evaluator measures and blesses on: eval (the validation users) or test."),
        click.option("--top-k", default=DEFAULT_K, show_default=True, help="Items the served model returns."),
        click.option("--distribution", type=click.Choice(DISTRIBUTIONS), default="auto",
                     show_default=True, help="tf.distribute strategy of the Trainer (auto: MultiWorkerMirroredStrategy when "
                          "TF_CONFIG names a cluster, MirroredStrategy with several GPUs)."),
        click.option("--beam-arg", "beam_args", multiple=True,
                     help="A Beam pipeline argument, repeatable; after the DirectRunner defaults "
                          "(--direct_running_mode=in_memory --direct_num_workers=1), so it can override them."),
    ]):
        command = option(command)
    return command


def _trainer_settings(config_file, top_k, distribution, options):
    from fame_tf.presets import PIPELINE
    from pipeline.trainer import TrainerSettings

    try:
        config = config_from(config_file, options, defaults=PIPELINE.changes)
        return TrainerSettings(model=config, top_k=top_k, distribution=distribution)
    except ConfigError as error:
        raise click.ClickException(str(error)) from error


def _quiet_library_warnings():
    import warnings

    warnings.filterwarnings("ignore", category=FutureWarning)  # google-cloud's Python 3.10 notices


@pipeline_group.command(name="run")
@data_options(attributes=False)
@click.option("--output", default="runs/pipeline", show_default=True,
              help="Pipeline root, ML Metadata, converted input and serving_model/<model>/<version>/.")
@click.option("--no-cache", is_flag=True, help="Run every component even if its inputs are unchanged.")
@pipeline_options
def pipeline_run(output, no_cache, min_ndcg_at_10, blessing_split, top_k, distribution, beam_args, config_file,
                 **options):
    """Run the pipeline here (LocalDagRunner, SQLite ML Metadata, caching); prints each component's
    time, the metrics of the blessing split, the blessing decision and the pushed model's path."""
    require("pipeline")
    _quiet_library_warnings()
    data = data_from(options)
    settings = _trainer_settings(config_file, top_k, distribution, options)
    from fame_tf.data import DataError
    from fame_tf.data import MIN_ITEMS
    from pipeline.local_runner import run_local
    from pipeline.validation import DataValidationError

    try:
        report = run_local(data, output, settings, min_ndcg_at_10, list(beam_args), enable_cache=not no_cache,
                           blessing_split=blessing_split)
    except (DataError, DataValidationError) as error:
        raise click.ClickException(str(error)) from error
    for name, node in report["components"].items():
        click.echo(f"  {name:28s} {node['state']:9s} {node['seconds']:7.1f} s")
    click.echo(f"pipeline finished in {report['seconds']:.0f} s")
    click.echo(f"users:    {report['users']['users']} split, {report['users']['users_too_short']} dropped "
               f"(fewer than {MIN_ITEMS} interactions)")
    evaluation = report["evaluation"]
    click.echo(f"{evaluation['split'] + ':':<9} " + format_metrics(evaluation["metrics"]))
    click.echo(f"blessing: {'BLESSED' if report['blessed'] else 'NOT BLESSED'}: {report['reason']}")
    click.echo(f"pushed:   {report['pushed_to'] or 'nothing'} (model base path {report['serving_model_base_path']})")


def vertex_training_options(command):
    """Where the Trainer runs on Vertex AI: inside its pipeline step, or as a Vertex AI Training job."""
    for option in reversed([
        click.option("--vertex-training", is_flag=True,
                     help="Run the Trainer as a Vertex AI Training job (needs --project and --region)."),
        click.option("--machine-type", default="n1-standard-8", show_default=True, help="Vertex AI Training machine."),
        click.option("--accelerator-type", default=None, help="GPU type per machine, e.g. NVIDIA_TESLA_T4 [default: none]."),
        click.option("--accelerator-count", default=1, show_default=True, help="GPUs per machine (with --accelerator-type)."),
        click.option("--workers", default=1, show_default=True,
                     help="Training machines: 1 chief + N-1 workers, MultiWorkerMirroredStrategy when N > 1."),
    ]):
        command = option(command)
    return command


def _given(names):
    """The options among the parameter ``names`` of the running command that the command line set."""
    context = click.get_current_context()
    return [f"--{name.replace('_', '-')}" for name in names  # None: not an option of this command
            if context.get_parameter_source(name) not in (None, click.core.ParameterSource.DEFAULT)]


def _vertex_training(vertex_training, project, region, machine_type, accelerator_type, accelerator_count, workers):
    from pipeline.vertex_runner import VertexTraining

    if not vertex_training:
        given = _given(["machine_type", "accelerator_type", "accelerator_count", "workers"])
        if given:
            raise click.UsageError(f"{', '.join(given)} need --vertex-training")
        return None
    if not (project and region):
        raise click.UsageError("--vertex-training needs --project and --region")
    try:
        return VertexTraining(project, region, machine_type, accelerator_type, accelerator_count, workers)
    except ValueError as error:
        raise click.UsageError(str(error)) from error


@pipeline_group.command(name="compile")
@click.option("--target", type=click.Choice(["vertex"]), default="vertex", show_default=True)
@click.option("--image", required=True, help="Container image built from the Dockerfile, e.g. REGION-docker.pkg.dev/P/R/fame-tf:TAG.")
@click.option("--bucket", required=True, help="Cloud Storage bucket for the pipeline root, data and serving model.")
@click.option("--data-root", default=None, help="Directory of interaction CSVs [default: gs://BUCKET/fame/data].")
@data_options(optional=True, attributes=False)
@click.option("--output-file", default="fame_pipeline.json", show_default=True)
@click.option("--dataflow", is_flag=True, help="Run the Beam steps on Dataflow (needs --project and --region).")
@click.option("--project", default=None, help="Google Cloud project (for --dataflow, --vertex-training).")
@click.option("--region", default=None, help="Google Cloud region (for --dataflow, --vertex-training).")
@vertex_training_options
@pipeline_options
def pipeline_compile(target, image, bucket, data_root, output_file, dataflow, project, region, vertex_training,
                     machine_type, accelerator_type, accelerator_count, workers, min_ndcg_at_10, blessing_split, top_k,
                     distribution, beam_args, config_file, **options):
    """Compile the pipeline for Vertex AI Pipelines (offline: no credentials needed, unless --data
    must be converted into a gs:// DATA_ROOT)."""
    require("pipeline")
    _quiet_library_warnings()
    data = _data_to_convert(options)
    settings = _trainer_settings(config_file, top_k, distribution, options)
    training = _vertex_training(vertex_training, project, region, machine_type, accelerator_type, accelerator_count,
                                workers)
    data_root = _data_root(data, data_root, bucket)
    path = _compile_vertex(output_file, image, bucket, data_root, dataflow, project, region, settings,
                           min_ndcg_at_10, beam_args, training, blessing_split)
    click.echo(f"wrote {path}")


def _compile_vertex(output_file, image, bucket, data_root, dataflow, project, region, settings, min_ndcg_at_10,
                    beam_args, training, blessing_split):
    from pipeline.vertex_runner import bucket_paths, compile_vertex, dataflow_beam_args

    beam_args = list(beam_args)
    if dataflow:
        if not (project and region):
            raise click.UsageError("--dataflow needs --project and --region")
        beam_args = dataflow_beam_args(project, region, bucket_paths(bucket)["temp"], image) + beam_args
    try:
        return compile_vertex(output_file, image, bucket, settings, data_root, min_ndcg_at_10, beam_args,
                              vertex_training=training, blessing_split=blessing_split)
    except ValueError as error:
        raise click.UsageError(str(error)) from error


@pipeline_group.command(name="submit")
@click.option("--project", required=True, help="Google Cloud project.")
@click.option("--region", required=True, help="Vertex AI region, e.g. europe-west4.")
@click.option("--bucket", required=True, help="Cloud Storage bucket of the pipeline root.")
@click.option("--pipeline-json", default=None, type=click.Path(exists=True, dir_okay=False),
              help="A compiled pipeline; without it the pipeline is compiled first (needs --image).")
@click.option("--image", default=None, help="Container image (when compiling).")
@click.option("--data-root", default=None, help="Directory of interaction CSVs [default: gs://BUCKET/fame/data].")
@data_options(optional=True, attributes=False)
@click.option("--dataflow", is_flag=True, help="Run the Beam steps on Dataflow.")
@click.option("--service-account", default=None)
@vertex_training_options
@pipeline_options
def pipeline_submit(project, region, bucket, pipeline_json, image, data_root, dataflow, service_account,
                    vertex_training, machine_type, accelerator_type, accelerator_count, workers,
                    min_ndcg_at_10, blessing_split, top_k, distribution, beam_args, config_file, **options):
    """Submit the pipeline to Vertex AI Pipelines (google.cloud.aiplatform.PipelineJob)."""
    require("pipeline")
    _quiet_library_warnings()
    from pipeline.vertex_runner import submit_vertex

    context = click.get_current_context()
    submit_only = {"project", "region", "bucket", "pipeline_json", "service_account"}
    compile_options = _given([name for name in context.params if name not in submit_only])
    if pipeline_json and compile_options:
        raise click.UsageError(f"{', '.join(compile_options)} only apply when submit compiles the pipeline: "
                               "give them to `fame-tf pipeline compile`, or drop --pipeline-json")
    if pipeline_json is None:
        if not image:
            raise click.UsageError("give --pipeline-json, or --image to compile the pipeline first")
        data = _data_to_convert(options)
        settings = _trainer_settings(config_file, top_k, distribution, options)
        training = _vertex_training(vertex_training, project, region, machine_type, accelerator_type,
                                    accelerator_count, workers)
        data_root = _data_root(data, data_root, bucket)
        pipeline_json = _compile_vertex("fame_pipeline.json", image, bucket, data_root, dataflow, project, region,
                                        settings, min_ndcg_at_10, beam_args, training, blessing_split)
    job = submit_vertex(pipeline_json, project, region, bucket, service_account)
    click.echo(f"submitted {job.resource_name}")


@pipeline_group.command(name="convert")
@data_options(attributes=False)
@click.option("--output", required=True, help="Directory (local or gs://) to write <name>/interactions.csv into.")
def pipeline_convert(output, **options):
    """Write DATA as the pipeline's interactions CSV, read as `fame-tf train` reads it."""
    require("pipeline")
    from fame_tf.data import DataError
    from pipeline.convert import convert

    try:
        click.echo(f"wrote {convert(data_from(options), output)}")
    except DataError as error:
        raise click.ClickException(str(error)) from error


def _data_to_convert(options):
    """The ``--data`` options of compile/submit, taken out of ``options``; None without ``--data``."""
    given, source = _given(DATA_PARAMETERS), options.get("data")
    data = data_from(options)
    if source is None:
        if given:
            raise click.UsageError(f"{', '.join(given)} describe --data: give --data too")
        return None
    return data


def _data_root(data, data_root, bucket):
    """Where the compiled pipeline reads its CSVs: with ``--data``, the directory DATA_ROOT/<name>/
    it is converted into (read as `fame-tf train` reads it); else DATA_ROOT as it is."""
    if data is None:
        return data_root
    from fame_tf.data import DataError
    from pipeline.convert import convert
    from pipeline.vertex_runner import bucket_paths

    try:
        return os.path.dirname(convert(data, data_root or bucket_paths(bucket)["data_root"]))
    except DataError as error:
        raise click.ClickException(str(error)) from error
