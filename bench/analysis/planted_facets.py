"""Whether FAME's heads recover planted facets: synthetic users who choose items by one colour or by
one shape (``fame_tf.synthetic.planted_facets``), a small FAME trained with and without the attribute
loss and each head's own loss, then, per view (fused score, each head alone), the fraction of colour
users and of shape users whose top-10 list is dominated by their planted attribute, and the
attribute concentration against shuffled attributes. Writes bench/results/analysis/planted_facets.json.

    python -m bench planted-facets [--epochs 15 --seeds 1,2,3]
"""

from __future__ import annotations

import json
import os
import tempfile

import click
import numpy as np

from bench.common import result_path, write_result

SETTINGS = {  # name -> (attribute_loss_weight, head_loss_weight)
    "plain": (0.0, 0.0),
    "attribute loss": (0.5, 0.0),
    "head losses": (0.0, 0.5),
    "attribute and head losses": (0.5, 0.5),
}


def measure(setting: str, seed: int, epochs: int) -> dict:
    from fame_tf import FameConfig
    from fame_tf.attributes import dominant_attributes, read_item_attributes
    from fame_tf.data import leave_one_out
    from fame_tf.explain import attribute_concentration, top_items_per_view
    from fame_tf.inputs import ArrayData, train_dataset
    from fame_tf.synthetic import planted_facets
    from fame_tf.training import build_model

    sequences, attributes = planted_facets(400, seed=0)
    split = leave_one_out(sequences, max_len=12)
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "attributes.json")
        with open(path, "w") as handle:  # the attribute file the reader checks, not a result
            handle.write(json.dumps(attributes))
        split.item_attributes = read_item_attributes(path, split.vocab)
    attribute_weight, head_weight = SETTINGS[setting]
    config = FameConfig(num_items=split.num_items, hidden_size=16, num_heads=2, num_experts=2, num_layers=2,
                        max_len=12, dropout=0.1, attention_dropout=0.1, batch_size=32, weight_decay=0.0,
                        learning_rate=1e-2, seed=seed, attribute_loss_weight=attribute_weight,
                        head_loss_weight=head_weight,
                        num_attributes=split.item_attributes.num_attributes if attribute_weight else 0)
    model = build_model(config, ArrayData(split))
    model.fit(train_dataset(ArrayData(split), config), epochs=epochs, verbose=0)
    facet = np.array([int(user[1:]) % 2 for user in split.users])  # 0: colour users, 1: shape users
    planted = np.array([attributes[sequences[user][0]][f] for user, f in zip(split.users, facet)])
    names = np.array(split.item_attributes.names)
    recovered = {}
    for view, items in top_items_per_view(model, split.test_history).items():
        dominant = names[dominant_attributes(items, split.item_attributes)["attribute"] - 1]
        recovered[view] = {"colour_users": float((dominant == planted)[facet == 0].mean()),
                           "shape_users": float((dominant == planted)[facet == 1].mean())}
    concentration = attribute_concentration(model, split.test_history, split.item_attributes)
    return {"setting": setting, "seed": seed, "epochs": epochs, "attribute_loss_weight": attribute_weight,
            "head_loss_weight": head_weight, "recovered": recovered,
            "share": {view: {"share": c["share"], "shuffled": c["shuffled_share"]} for view, c in concentration.items()}}


@click.command()
@click.option("--epochs", default=15, show_default=True)
@click.option("--seeds", default="1", show_default=True, help="Model seeds, comma separated.")
def main(epochs, seeds):
    """Do FAME's heads recover planted facets? Four loss settings on synthetic colour/shape users."""
    runs = [measure(setting, int(seed), epochs) for seed in seeds.split(",") for setting in SETTINGS]
    write_result(result_path("analysis", "planted_facets"), "planted-facets", {"users": 400, "runs": runs})


if __name__ == "__main__":
    main()
