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
    ],
)
def test_bad_values_name_field_and_allowed_values(changes, field, allowed):
    with pytest.raises(ConfigError) as error:
        FameConfig(**changes)
    assert field in str(error.value) and allowed in str(error.value)


def test_unknown_field_is_rejected():
    with pytest.raises(ConfigError, match="num_expert"):
        FameConfig.from_dict({"num_expert": 4})
