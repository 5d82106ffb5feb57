"""`fame-tf train` and `fame-tf export`: a run directory (``fame_tf.runs``) from data, and its
TensorFlow Serving exports."""

from __future__ import annotations

import json

import click

from fame_cli.extras import require
from fame_cli.options import config_from, config_options, data_from, data_options, format_metrics
from fame_tf.config import ConfigError
from fame_tf.contract import DEFAULT_K
from fame_tf.distribute import DISTRIBUTIONS


@click.command()
@click.option("--output", required=True, help="Run directory: config, metrics, checkpoints, model.")
@click.option("--quiet", is_flag=True, help="No per-epoch Keras progress lines.")
@click.option("--distribution", type=click.Choice(DISTRIBUTIONS), default="auto", show_default=True,
              help="tf.distribute strategy; multi_worker: one process per worker, the cluster in TF_CONFIG "
                   "(the chief writes OUTPUT, the others OUTPUT/worker-<id>).")
@data_options
@config_options
def train(output, quiet, distribution, config_file, **options):
    """Train a model on DATA into OUTPUT; prints validation and test metrics of the best epoch.

    Killing a run and starting the same command again resumes it."""
    require("train")
    from fame_tf import distribute, runs
    from fame_tf.data import DataError
    from fame_tf.inputs import ArrayData
    from fame_tf.training import fit

    data = data_from(options).absolute()
    try:
        config = config_from(config_file, options)
        split = data.split(config.max_len)
    except (ConfigError, DataError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"data: {json.dumps(split.report.to_dict())}")
    chosen = distribute.strategy(distribution)
    output = distribute.run_directory(output, chosen)
    try:
        runs.record_data(output, data)
    except ValueError as error:  # a run of other data in OUTPUT
        raise click.ClickException(str(error)) from error
    try:
        with chosen.scope():
            model, summary = fit(config.replace(num_items=split.num_items), ArrayData(split), output,
                                 verbose=0 if quiet else 2)
    except ValueError as error:  # a run of another config in OUTPUT
        raise click.ClickException(str(error)) from error
    if not distribute.is_chief(chosen):
        click.echo(f"worker done: best epoch {summary['best_epoch']}; the chief saves and exports the model")
        return
    served = runs.latest_export(output)
    if summary["epochs_this_run"] or served is None:  # a finished run re-run: already saved and exported
        click.echo(f"saving the model and exporting it for TensorFlow Serving to {runs.serving_base_path(output)}")
        served = runs.save(output, model, split.vocab.items)
    click.echo("validation: " + format_metrics(summary["validation"]))
    click.echo("test:       " + format_metrics(summary["test"]))
    click.echo(f"best epoch {summary['best_epoch']}; wrote {output}/metrics.json, {output}/model and {served}")


@click.command()
@click.option("--run", "run_dir", required=True, type=click.Path(exists=True, file_okay=False),
              help="Run directory of `fame-tf train` (with model/ and vocabulary.json).")
@click.option("--base-path", default=None, help="Model base path [default: RUN/serving/fame].")
@click.option("--version", type=int, default=None, help="Version number [default: unix seconds].")
@click.option("--k", default=DEFAULT_K, show_default=True, help="Items returned per history.")
def export(run_dir, base_path, version, k):
    """Export a trained run for TensorFlow Serving into BASE_PATH/<version>/."""
    require("train")
    from fame_tf import runs
    from fame_tf.export import export_version

    try:
        model, vocabulary = runs.load(run_dir)
        path = export_version(model, vocabulary, base_path or runs.serving_base_path(run_dir), version, k)
    except (FileNotFoundError, FileExistsError, ValueError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"wrote {path}")
