"""Command-line options generated from ``FameConfig``: every model/training field is an option
(``--num-heads``, ``--num-experts``, ...), so the two never drift."""

from __future__ import annotations

import dataclasses
import functools
import json

import click

from fame_tf import config as config_module
from fame_tf import presets
from fame_tf.config import FameConfig
from fame_tf.data import DataError, ON_ERROR
from fame_tf.readers import DataOptions, FORMATS

_DATA_HELP = {
    "format": "How to read DATA [default: auto: a directory's one .txt or .csv/.tsv parts; .csv, .tsv; else "
              "sequence text].",
    "user_col": "User id column of a CSV/TSV log.",
    "item_col": "Item id column of a CSV/TSV log.",
    "time_col": "Time column of a CSV/TSV log.",
    "time_format": "Time column format: auto (numbers, or ISO 8601 dates; UTC when no zone is given) or a "
                   "strptime format such as '%d/%m/%Y %H:%M'.",
    "delimiter": "CSV/TSV delimiter [default: ',' for CSV, tab for TSV].",
    "k_core": "Drop users and items with fewer interactions, repeatedly (0: off).",
    "on_error": "Malformed input lines: stop with an error naming the line, or skip and count them.",
    "attributes": "JSON file {\"item_id\": [attribute_id, ...]} of the items' attributes (brand, category, ...), "
                  "for --attribute-loss-weight and the report's attribute concentration.",
}

_SHORT = {"num_heads": "--heads", "num_experts": "--experts", "num_layers": "--layers"}


def config_options(command, defaults=None, exclude=()):
    """Adds one option per config field (but those in ``exclude``); unset options fall back to the
    --config file, then to ``defaults``, then to the variant's default (their help shows the last two)."""
    defaults = defaults or {}
    sasrec = presets.variant_defaults("sasrec")
    for field in reversed(dataclasses.fields(FameConfig)):
        if field.name in ("num_items", "num_attributes") or field.name in exclude:  # the first two: from the data
            continue
        names = ["--" + field.name.replace("_", "-")] + ([_SHORT[field.name]] if field.name in _SHORT else [])
        if field.name in defaults or field.name not in sasrec:
            shown = f"{config_module.HELP[field.name]} [default: {defaults.get(field.name, field.default)}]"
        else:
            shown = f"{config_module.HELP[field.name]} [default: {field.default}; sasrec: {sasrec[field.name]}]"
        if field.type == "bool":
            option = click.option(names[0] + "/--no-" + names[0][2:], field.name, default=None,
                                  help=shown)
        else:
            kind = click.Choice(config_module.CHOICES[field.name]) if field.name in config_module.CHOICES else {
                "int": int, "float": float, "str": str}[field.type]
            option = click.option(*names, field.name, type=kind, default=None, help=shown)
        command = option(command)
    return click.option("--config", "config_file", type=click.Path(exists=True, dir_okay=False),
                        help="JSON file with config fields; options given on the command line win.")(command)


def config_from(config_file, options, defaults=None) -> FameConfig:
    """The variant's defaults, then ``defaults``, then the --config file, then the options given on
    the command line."""
    values = dict(defaults or {})
    if config_file:
        with open(config_file) as handle:
            values.update(json.load(handle))
    values.update({k: v for k, v in options.items() if v is not None})
    variant = values.get("variant", FameConfig.variant)
    return FameConfig.from_dict({**presets.variant_defaults(variant), **values})


def format_metrics(metrics):
    """One line per protocol in ``metrics``: seen kept, then seen excluded when it was measured."""
    from fame_tf.metrics import EXCLUDED, PROTOCOLS, protocol_metrics

    protocols = [p for p in PROTOCOLS if p != EXCLUDED or EXCLUDED in metrics]
    return "\n    ".join(f"{protocol}: " + " ".join(f"{k}={v:.4f}" for k, v in protocol_metrics(metrics, protocol).items())
                          for protocol in protocols)


DATA_PARAMETERS = tuple(f.name for f in dataclasses.fields(DataOptions) if f.name != "source")


def data_options(command=None, *, source_help=None, recorded=False, optional=False, attributes=True):
    """Adds ``--data`` and one option per ``DataOptions`` field (``@data_options`` or
    ``@data_options(...)``). ``recorded``: the options default to what a run recorded (no defaults
    shown; only options given on the command line count, see ``data_from``). ``optional``: no
    ``--data`` by default. ``attributes=False``: no ``--attributes`` (the pipeline reads none)."""
    if command is None:
        return functools.partial(data_options, source_help=source_help, recorded=recorded, optional=optional,
                                 attributes=attributes)
    defaults = DataOptions()
    for field in reversed(dataclasses.fields(DataOptions)):
        if field.name == "source" or (field.name == "attributes" and not attributes):
            continue
        name = "--" + field.name.replace("_", "-")
        kind = {"format": click.Choice(FORMATS), "on_error": click.Choice(ON_ERROR), "k_core": int}.get(field.name, str)
        shown = "" if recorded or field.name in ("format", "delimiter") else f" [default: {getattr(defaults, field.name)}]"
        command = click.option(name, field.name, type=kind, default=None, help=_DATA_HELP[field.name] + shown)(command)
    if optional:
        source_help = source_help or ("Data set to read as `fame-tf train` reads it and write into DATA_ROOT as "
                                      "the pipeline's CSV (local or gs://) [default: DATA_ROOT is used as it is].")
    return click.option("--data", "data", default=None if recorded or optional else defaults.source,
                        show_default=not (recorded or optional), help=source_help or "Data set: sequence text, a "
                        "CSV/TSV interaction log, or a directory holding one .txt or the .csv/.tsv parts of one "
                        "log (local or gs://).")(command)


def data_from(options: dict, base: DataOptions = None) -> DataOptions:
    """Takes ``data`` and the ``DataOptions`` fields out of a command's ``options``; the ones given on
    the command line override ``base`` (the defaults, or what a run recorded)."""
    values = {name: options.pop(name, None) for name in DATA_PARAMETERS}
    source = options.pop("data")
    changes = {k: v for k, v in values.items() if v is not None}
    if source is not None:
        changes["source"] = source
    try:
        return (base or DataOptions()).replace(**changes)
    except DataError as error:
        raise click.UsageError(str(error)) from error
