"""Which item attributes the top-10 lists of trained models concentrate on: the fused score's and,
for FAME, each head's own (``fame_tf.explain.attribute_concentration``), against the same lists with
the attribute lists dealt to other items. Merges into bench/results/analysis/attribute_concentration.json.

    python -m bench attribute-concentration bench/work/beauty-attributes/fame-attributes-seed1 \\
        bench/work/verify/fame-seed1 --attributes data/beauty/Beauty_item2attributes.json
"""

from __future__ import annotations

import click

from bench.analysis.runs import finished_run, measure_runs


def measure(run_dir: str, attributes: str, users: int) -> dict:
    from fame_tf import explain, runs
    from fame_tf.attributes import read_item_attributes

    metrics, split = finished_run(run_dir)
    if attributes:
        split.item_attributes = read_item_attributes(attributes, split.vocab)
    if split.item_attributes is None:
        raise click.ClickException(f"{run_dir} read no attributes: give --attributes FILE")
    model, _ = runs.load(run_dir)
    config = metrics["config"]
    measured = explain.attribute_concentration(model, split.test_history[:users], split.item_attributes)
    return {"variant": config["variant"], "attribute_loss_weight": config.get("attribute_loss_weight", 0.0),
            "head_loss_weight": config.get("head_loss_weight", 0.0), "seed": config["seed"],
            "users": min(users, len(split.test_history)), "views": measured}


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--attributes", default="", help="Attribute file for runs whose data read none [default: the run's].")
@click.option("--users", default=5000, show_default=True, help="Test histories measured per run.")
def main(runs, attributes, users):
    """Attribute concentration of each view's top-10 lists, against shuffled attributes."""
    measure_runs(runs, lambda run: measure(run, attributes, users), "attribute_concentration")


if __name__ == "__main__":
    main()
