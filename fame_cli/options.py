"""Command-line options generated from ``FameConfig``: every model/training field is an option
(``--num-heads``, ``--num-experts``, ...), so the two never drift."""

from __future__ import annotations

import dataclasses
import json

import click

from fame_tf import config as config_module
from fame_tf.config import FameConfig

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
    ``defaults``, then to the variant's default (their help shows the last two)."""
    defaults = defaults or {}
    sasrec = config_module.variant_defaults("sasrec")
    for field in reversed(dataclasses.fields(FameConfig)):
        if field.name == "num_items":
            continue
        names = ["--" + field.name.replace("_", "-")] + ([_SHORT[field.name]] if field.name in _SHORT else [])
        if field.name in defaults or field.name not in sasrec:
            shown = f"[default: {defaults.get(field.name, field.default)}]"
        else:
            shown = f"[default: {field.default}; sasrec: {sasrec[field.name]}]"
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


def config_from(config_file, options, defaults=None) -> FameConfig:
    """The variant's defaults, then ``defaults``, then the --config file, then the options given on
    the command line."""
    values = dict(defaults or {})
    if config_file:
        with open(config_file) as handle:
            values.update(json.load(handle))
    values.update({k: v for k, v in options.items() if v is not None})
    variant = values.get("variant", FameConfig.variant)
    return FameConfig.from_dict({**config_module.variant_defaults(variant), **values})


def format_metrics(metrics):
    """One line per protocol in ``metrics``: seen kept, then seen excluded when it was measured."""
    from fame_tf.metrics import EXCLUDED, PROTOCOLS, protocol_metrics

    protocols = [p for p in PROTOCOLS if p != EXCLUDED or EXCLUDED in metrics]
    return "\n    ".join(f"{protocol}: " + " ".join(f"{k}={v:.4f}" for k, v in protocol_metrics(metrics, protocol).items())
                          for protocol in protocols)
