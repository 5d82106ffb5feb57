"""`fame-tf report`: pictures of finished runs (``fame_tf.plots``): how validation went, how FAME
uses its heads and experts, and why it recommends what it does for one user."""

from __future__ import annotations

import json
import os

import click

from fame_cli.extras import require
from fame_cli.options import data_from, data_options


def _run_name(run_dir: str, taken: set) -> str:
    parts = os.path.normpath(os.path.abspath(run_dir)).split(os.sep)
    for depth in range(1, len(parts) + 1):  # the shortest path suffix that no other run has
        name = "-".join(parts[-depth:])
        if name not in taken:
            return name
    raise click.ClickException(f"{run_dir} was given twice")


def _metrics(run_dir: str) -> dict:
    path = os.path.join(run_dir, "metrics.json")
    if not os.path.exists(path):
        raise click.ClickException(f"{path} is missing: has `fame-tf train --output {run_dir}` finished?")
    with open(path) as handle:
        return json.load(handle)


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--output", required=True, type=click.Path(file_okay=False), help="Directory for the PNG files.")
@click.option("--users", default=5000, show_default=True, help="Test users in the gate and router charts.")
@click.option("--user", "user_index", default=0, show_default=True, help="Test user (row) whose top items are explained.")
@click.option("--top", default=10, show_default=True, help="Items in the explanation.")
@data_options(recorded=True, source_help="Data of the runs' test users [default: what each run was trained on, "
              "read as it was; the data options given here override the recorded ones].")
def report(runs, output, users, user_index, top, **data_given):
    """Draw PNGs of finished runs into OUTPUT: validation NDCG@10 per epoch of every run; for each
    FAME run, its gate and router weights over test users and one user's explanation; for runs
    whose data has item attributes (--attributes), which attributes the model's and each head's
    own top-10 lists concentrate on (a table and a chart)."""
    require("train", "plots")
    from fame_tf import plots

    os.makedirs(output, exist_ok=True)
    names, metrics = {}, {}
    for run in runs:
        name = _run_name(run, set(names.values()))
        names[run], metrics[run] = name, _metrics(run)
    path = plots.validation_curves({names[r]: metrics[r]["validation_history"] for r in runs},
                                   os.path.join(output, "validation_ndcg10.png"),
                                   selected={names[r]: metrics[r]["best_epoch"] for r in runs})
    click.echo(f"wrote {path}")
    for run in runs:
        facets = metrics[run]["config"]["variant"] == "fame"
        data = _run_data(run, dict(data_given))
        if not facets and not data.attributes:
            click.echo(f"{run}: a {metrics[run]['config']['variant']} run without item attributes has no facets "
                       "or attribute concentration to draw")
            continue
        split, model, vocabulary = _load(run, metrics[run], data)
        charts = _facet_charts(split, model, vocabulary, names[run], output, users, user_index, top) if facets else []
        if split.item_attributes is not None:
            charts = [*charts, *_attribute_outputs(split, model, names[run], output, users)]
        for path in charts:
            click.echo(f"wrote {path}")


def _run_data(run, data_given):
    from fame_tf import runs

    try:
        return data_from(data_given, runs.recorded_data(run))
    except OSError as error:
        raise click.ClickException(f"{run}: its test users: {error} (give --data and its options)") from error


def _load(run, metrics, data):
    """The run's test users (with the items' attributes when the data has them), model and vocabulary."""
    from fame_tf import runs
    from fame_tf.data import DataError

    try:
        split = data.split(metrics["config"]["max_len"])
    except (DataError, OSError) as error:
        raise click.ClickException(f"{run}: its test users: {error} (give --data and its options)") from error
    model, vocabulary = runs.load(run)
    if list(split.vocab.items) != list(vocabulary):
        raise click.ClickException(f"{data.source} is not the data {run} was trained on (its item vocabulary differs)")
    return split, model, vocabulary


def _attribute_outputs(split, model, name, output, users):
    """Which attributes the model's and each head's own top-10 lists concentrate on: a table
    (Markdown and JSON) and a chart."""
    from fame_tf import explain, plots

    measured = explain.attribute_concentration(model, split.test_history[:users], split.item_attributes)
    path = os.path.join(output, f"{name}-attributes")
    with open(path + ".json", "w", encoding="utf-8") as handle:
        json.dump(measured, handle, indent=2)
    with open(path + ".md", "w", encoding="utf-8") as handle:
        handle.write(plots.attribute_table(measured))
    yield path + ".json"
    yield path + ".md"
    yield plots.attribute_concentration(measured, path + ".png", f"{name}: top-10 lists of {len(split.test_history[:users])} "
                                        "test users")


def _facet_charts(split, model, vocabulary, name, output, users, user_index, top):
    from fame_tf import explain, plots

    if not 0 <= user_index < len(split.test_targets):
        raise click.ClickException(f"--user {user_index} is not a test user (0..{len(split.test_targets) - 1})")
    weights = explain.facet_weights(model, split.test_history[:users])
    yield plots.facet_distributions(weights["gate"], explain.normalised_entropy(weights["router"]),
                                    os.path.join(output, f"{name}-facets.png"), name)
    history = split.test_history[user_index]
    items, parts, gate = explain.head_contributions(model, history, top)
    recent = [vocabulary[i - 1] for i in history[history > 0][-3:]]
    yield plots.explanation([vocabulary[i - 1] for i in items], parts, gate,
                            os.path.join(output, f"{name}-explanation.png"),
                            f"{name}: test user {user_index}, last items {', '.join(recent)}")
