"""Item attributes: the reader's matching and its errors, the concentration measure, the attribute
loss, and FAME's heads recovering planted facets."""

import json

import numpy as np
import pytest

from fame_tf import FameConfig, FameModel
from fame_tf.attributes import concentration, dominant_attributes, read_item_attributes
from fame_tf.data import DataError, Vocabulary, leave_one_out
from fame_tf.readers import DataOptions
from fame_tf.explain import attribute_concentration, top_items_per_view
from fame_tf.synthetic import planted_facets
from fame_tf.inputs import ArrayData, train_dataset
from fame_tf.training import build_model

from conftest import SEED


def _write(tmp_path, content, name="attrs.json"):
    path = tmp_path / name
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


def test_reader_matches_the_catalogue_and_counts_what_does_not_match(tmp_path):
    path = _write(tmp_path, {"a": ["brand1", "cat"], "b": [7, "cat", 7], "z": ["other"]})
    attributes = read_item_attributes(path, Vocabulary(["b", "a", "c"]))
    assert attributes.names == ["7", "cat", "brand1"]  # ids 1.. in order of first use, duplicates once
    np.testing.assert_array_equal(attributes.ids, [[0, 0], [1, 2], [3, 2], [0, 0]])  # row 0: padding, "c": none
    assert attributes.report == {"attributes": 3, "items_with_attributes": 2, "items_without_attributes": 1,
                                 "listed_items_not_in_catalogue": 1}
    hot = attributes.multi_hot
    assert hot.shape == (4, 4) and not hot[:, 0].any() and hot[2].tolist() == [False, False, True, True]
    shuffled = attributes.shuffled(seed=3)
    assert sorted(map(tuple, shuffled.ids[1:])) == sorted(map(tuple, attributes.ids[1:]))
    assert shuffled.ids[0].tolist() == [0, 0]


@pytest.mark.parametrize("content, message", [
    ("{not json", "not JSON"),
    ([["a", 1]], "expected a JSON object"),
    ({"a": "brand"}, "item 'a': expected a list"),
    ({"a": [1.5]}, "item 'a': expected a list"),
    ({"x": [1], "y": [2]}, "none of the catalogue's 2 items"),
])
def test_reader_rejects_bad_files_naming_what_is_wrong(tmp_path, content, message):
    with pytest.raises(DataError, match=message):
        read_item_attributes(_write(tmp_path, content), Vocabulary(["a", "b"]))


def test_missing_attribute_file_is_a_data_error(tmp_path):
    with pytest.raises(DataError, match="no such attribute file"):
        read_item_attributes(str(tmp_path / "missing.json"), Vocabulary(["a"]))


def test_data_options_attach_the_attributes_and_report_the_matching(tmp_path):
    data = tmp_path / "seqs.txt"
    data.write_text("u1 a b c d\nu2 b c d e\n")
    path = _write(tmp_path, {"a": [1], "b": [2], "c": [1, 2]})
    split = DataOptions(str(data), attributes=path).split(max_len=5)
    assert split.item_attributes.num_attributes == 2
    assert split.report.attributes["items_without_attributes"] == 2  # d and e
    assert DataOptions(str(data), attributes="rel.json").absolute().attributes == str(tmp_path.cwd() / "rel.json")
    assert DataOptions(str(data)).split(max_len=5).item_attributes is None


def test_concentration_is_the_dominant_attribute_share(tmp_path):
    path = _write(tmp_path, {"a": ["x"], "b": ["x", "y"], "c": ["y"], "d": []})
    attributes = read_item_attributes(path, Vocabulary(["a", "b", "c", "d"]))
    rows = np.array([[1, 2, 2], [3, 3, 4], [4, 4, 4]])  # ids: a=1, b=2, c=3, d=4
    dominant = dominant_attributes(rows, attributes)
    np.testing.assert_allclose(dominant["share"], [1.0, 2 / 3, 0.0])
    measured = concentration(rows, attributes)
    assert measured["share"] == pytest.approx((1 + 2 / 3) / 3)
    assert measured["top_attributes"] == [{"attribute": "x", "rows": pytest.approx(1 / 3)},
                                          {"attribute": "y", "rows": pytest.approx(1 / 3)}]


@pytest.mark.parametrize("variant", ["fame", "sasrec"])
def test_attribute_loss_equals_a_hand_computation(tiny_config, rng, variant, tmp_path):
    """Each view of a target item (FAME: every head's e-slice of c_v, SASRec: the whole item vector)
    scores every attribute with its slice of the attribute table; the loss is the softmax
    cross-entropy against the item's attributes as a uniform distribution, 0 without attributes."""
    vocab = Vocabulary([str(i) for i in range(1, 31)])
    attributes = read_item_attributes(_write(tmp_path, {str(i): [i % 3, 10 + i % 2] for i in range(1, 29)}), vocab)
    config = tiny_config.replace(variant=variant, attribute_loss_weight=0.7, num_attributes=attributes.num_attributes)
    model = FameModel(config)
    model.build()
    model.set_item_attributes(attributes.ids)
    inputs = rng.integers(1, 31, size=(4, 12)).astype(np.int32)
    targets = np.array([3, 8, 29, 30], np.int32)  # 29 and 30 have no attributes
    table = model.attribute_embeddings.numpy()
    views = config.num_heads if variant == "fame" else 1
    expected = []
    for target in targets:
        wanted = attributes.ids[target][attributes.ids[target] > 0]
        if not len(wanted):
            expected.append(0.0)
            continue
        item = model.candidates([target]).numpy()[0].reshape(views, -1)
        logits = np.einsum("he,ahe->ha", item, table.reshape(len(table), views, -1))[:, 1:]
        log_probs = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
        expected.append(-log_probs[:, wanted - 1].mean())
    plain = FameModel(config.replace(attribute_loss_weight=0.0, num_attributes=0))
    plain.build()
    plain.set_weights([w for w in model.get_weights() if w.shape != table.shape])
    batch = {"inputs": inputs, "targets": targets}
    np.testing.assert_allclose(model.compute_loss(batch).numpy() - plain.compute_loss(batch).numpy(),
                               0.7 * np.mean(expected), rtol=1e-4)


def test_attribute_loss_needs_the_attributes(tiny_config):
    with pytest.raises(ValueError, match="needs the data's item attributes"):
        FameModel(tiny_config.replace(attribute_loss_weight=0.5))
    model = FameModel(tiny_config.replace(attribute_loss_weight=0.5, num_attributes=3))
    model.build()
    with pytest.raises(ValueError, match="do not fit"):
        model.set_item_attributes(np.full((31, 2), 4))


def test_fame_heads_recover_planted_facets(tmp_path):
    """Half of the users follow a colour, half a shape: trained with the attribute loss and each head
    predicting on its own, every head's own top-10 is dominated by the user's planted attribute,
    far above the same lists with the attributes dealt to other items."""
    sequences, attributes = planted_facets(400, seed=0)
    split = leave_one_out(sequences, max_len=12)
    split.item_attributes = read_item_attributes(_write(tmp_path, attributes), split.vocab)
    config = FameConfig(num_items=split.num_items, hidden_size=16, num_heads=2, num_experts=2, num_layers=2,
                        max_len=12, dropout=0.1, attention_dropout=0.1, batch_size=32, weight_decay=0.0,
                        learning_rate=1e-2, seed=SEED, attribute_loss_weight=0.5, head_loss_weight=0.5,
                        num_attributes=split.item_attributes.num_attributes)
    model = build_model(config, ArrayData(split))
    facet = np.array([int(user[1:]) % 2 for user in split.users])  # 0: colour users, 1: shape users
    planted = np.array([attributes[sequences[user][0]][f] for user, f in zip(split.users, facet)])
    dataset = train_dataset(ArrayData(split), config)
    for epoch in range(1, 31):  # until every head recovers both facets; 15 epochs were enough on AMD EPYC
        model.fit(dataset, epochs=1, verbose=0)
        if epoch % 3:
            continue
        recovered = {}
        for view, items in top_items_per_view(model, split.test_history).items():
            dominant = np.array(split.item_attributes.names)[dominant_attributes(items, split.item_attributes)["attribute"] - 1]
            recovered[view] = [float((dominant == planted)[facet == f].mean()) for f in (0, 1)]
        if min(min(r) for r in recovered.values()) > 0.9:
            break
    assert set(recovered) == {"fused", "head 1", "head 2"}
    assert min(min(r) for r in recovered.values()) > 0.9, (recovered, epoch)
    measured = attribute_concentration(model, split.test_history, split.item_attributes)
    for view in measured.values():
        assert view["share"] > 0.9 and view["shuffled_share"] < 0.7, measured


def test_train_with_attributes_and_report_their_concentration(tmp_path):
    from click.testing import CliRunner

    from fame_cli import main
    from conftest import TINY_TRAIN, write_rule_data

    data = write_rule_data(tmp_path)
    attributes = _write(tmp_path, {str(i): [f"a{i % 3}"] for i in range(1, 20)})  # item 20: none
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["train", "--data", data, "--attributes", attributes, "--attribute-loss-weight",
                                       "0.5", "--output", str(out), "--epochs", "2", "--quiet", *TINY_TRAIN])
    assert result.exit_code == 0, result.output
    assert '"items_without_attributes": 1' in result.output  # counted, not dropped
    assert json.loads((out / "config.json").read_text())["num_attributes"] == 3
    report = CliRunner().invoke(main, ["report", str(out), "--output", str(tmp_path / "report")])
    assert report.exit_code == 0, report.output
    measured = json.loads((tmp_path / "report" / "run-attributes.json").read_text())
    assert set(measured) == {"fused", "head 1", "head 2"}
    assert (tmp_path / "report" / "run-attributes.md").read_text().startswith("| view |")
    assert (tmp_path / "report" / "run-attributes.png").read_bytes()[:4] == b"\x89PNG"

    unrelated = _write(tmp_path, {"sku-1": ["x"]}, "other.json")
    wrong = CliRunner().invoke(main, ["train", "--data", data, "--attributes", unrelated, "--attribute-loss-weight",
                                      "0.5", "--output", str(tmp_path / "r2"), *TINY_TRAIN])
    assert wrong.exit_code == 1 and "lists attributes for none of the catalogue's 20 items" in wrong.output
    missing = CliRunner().invoke(main, ["train", "--data", data, "--attribute-loss-weight", "0.5",
                                        "--output", str(tmp_path / "r3"), *TINY_TRAIN])
    assert missing.exit_code == 1 and "--attributes FILE" in missing.output
