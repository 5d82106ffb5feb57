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
    "activation": config_module.ACTIVATIONS,
}
_SHORT = {"num_heads": "--heads", "num_experts": "--experts", "num_layers": "--layers"}


def config_options(command):
    """Adds one option per config field (default: the field's default, or the --config file's)."""
    for field in reversed(dataclasses.fields(FameConfig)):
        if field.name == "num_items":
            continue
        names = ["--" + field.name.replace("_", "-")] + ([_SHORT[field.name]] if field.name in _SHORT else [])
        if field.type == "bool":
            option = click.option(names[0] + "/--no-" + names[0][2:], field.name, default=None,
                                  help=f"[default: {field.default}]")
        else:
            kind = click.Choice(_CHOICES[field.name]) if field.name in _CHOICES else {
                "int": int, "float": float, "str": str}[field.type]
            option = click.option(*names, field.name, type=kind, default=None, help=f"[default: {field.default}]")
        command = option(command)
    return click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
                        help="JSON file with config fields; options given on the command line win.")(command)


def _config_from(config_file, options) -> FameConfig:
    values = {}
    if config_file:
        with open(config_file) as handle:
            values = json.load(handle)
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
    summary = fit(config.replace(num_items=split.num_items), split, output, verbose=0 if quiet else 2)
    model = summary.pop("model")
    model.save(os.path.join(output, "model"), save_format="tf")
    click.echo("validation: " + _fmt(summary["validation"]))
    click.echo("test:       " + _fmt(summary["test"]))
    click.echo(f"best epoch {summary['best_epoch']}; wrote {output}/metrics.json and {output}/model")


def _fmt(metrics):
    return " ".join(f"{k}={v:.4f}" for k, v in metrics.items())


if __name__ == "__main__":
    sys.exit(main())
