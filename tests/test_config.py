import json

import pytest

from fame_tf import ConfigError, FameConfig


def test_json_round_trip():
    config = FameConfig(num_items=7, num_heads=2, num_experts=3, fusion="mixture", gate="uniform", seed=5)
    assert FameConfig.from_json(config.to_json()) == config
    assert json.loads(config.to_json())["num_experts"] == 3


@pytest.mark.parametrize(
    "changes, field, allowed",
    [
        ({"hidden_size": 30, "num_heads": 4}, "hidden_size", "divisible by num_heads"),
        ({"num_experts": 0}, "num_experts", ">= 1"),
        ({"dropout": 1.0}, "dropout", "[0, 1)"),
        ({"attention_dropout": -0.1}, "attention_dropout", "[0, 1)"),
        ({"objective": "bpr"}, "objective", "'full_softmax', 'sampled_softmax'"),
        ({"variant": "bert4rec"}, "variant", "'fame', 'sasrec'"),
        ({"fusion": "mixture", "objective": "sampled_softmax"}, "fusion", "full_softmax"),
        ({"num_heads": 2.5}, "num_heads", "integer"),
        ({"train_negatives": "unseen"}, "train_negatives", "'all', 'exclude_history'"),
        ({"train_negatives": "exclude_history", "training_scheme": "every_position"}, "train_negatives", "prefix"),
        ({"train_negatives": "exclude_history", "fusion": "mixture"}, "train_negatives", "fusion='logit'"),
        ({"head_loss_weight": -0.5}, "head_loss_weight", ">= 0"),
        ({"attribute_loss_weight": -1.0}, "attribute_loss_weight", ">= 0"),
        ({"num_attributes": -1}, "num_attributes", ">= 0"),
        ({"head_loss_weight": 0.5, "variant": "sasrec"}, "head_loss_weight", "variant='fame'"),
    ],
)
def test_bad_values_name_field_and_allowed_values(changes, field, allowed):
    with pytest.raises(ConfigError) as error:
        FameConfig(**changes)
    assert field in str(error.value) and allowed in str(error.value)


def test_unknown_field_is_rejected():
    with pytest.raises(ConfigError, match="num_expert"):
        FameConfig.from_dict({"num_expert": 4})


def test_each_variant_starts_from_its_own_defaults_and_explicit_values_win():
    from fame_tf.presets import SASREC
    SASREC_DEFAULTS = SASREC.changes

    sasrec = FameConfig.for_variant("sasrec", dropout=0.1)
    assert sasrec.variant == "sasrec" and sasrec.dropout == 0.1
    assert all(getattr(sasrec, name) == value for name, value in SASREC_DEFAULTS.items() if name != "dropout")
    assert any(getattr(FameConfig(), name) != value for name, value in SASREC_DEFAULTS.items())
    assert FameConfig.for_variant("fame") == FameConfig()
    with pytest.raises(ConfigError, match="variant"):
        FameConfig.for_variant("bert4rec")


def test_command_line_layers_variant_defaults_under_file_and_options(tmp_path):
    from fame_cli.options import config_from
    from fame_tf.presets import SASREC
    SASREC_DEFAULTS = SASREC.changes

    path = tmp_path / "config.json"
    path.write_text(json.dumps({"variant": "sasrec", "batch_size": 64}))
    config = config_from(str(path), {"dropout": 0.3, "variant": None}, defaults={"epochs": 3, "warmup_steps": 7})
    assert (config.variant, config.batch_size, config.dropout, config.epochs, config.warmup_steps) == ("sasrec", 64, 0.3, 3, 7)
    assert config.weight_decay == SASREC_DEFAULTS["weight_decay"]
    assert config_from(None, {"variant": "fame"}) == FameConfig()


def test_every_config_field_says_what_it_does():
    import dataclasses

    from fame_tf.config import HELP

    assert set(HELP) == {f.name for f in dataclasses.fields(FameConfig)}
    assert all(text.strip() for text in HELP.values())


def test_every_preset_names_its_reason_and_an_evidence_file_that_exists():
    import os

    from fame_tf.presets import PRESETS

    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    for preset in PRESETS.values():
        assert preset.reason and os.path.exists(os.path.join(root, preset.evidence)), preset
        FameConfig(**preset.changes)  # valid fields and values
