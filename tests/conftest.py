import numpy as np
import pytest

from fame_tf import FameConfig


@pytest.fixture
def tiny_config():
    return FameConfig(num_items=30, hidden_size=16, num_heads=4, num_experts=3, num_layers=2, max_len=12,
                      dropout=0.0, attention_dropout=0.0, batch_size=32)


@pytest.fixture
def rng():
    return np.random.default_rng(0)


def rule_sequences(num_users=300, num_items=20, min_len=6, max_len=12, seed=0):
    """Sequences that follow a deterministic next-item rule: next = prev % num_items + 1."""
    gen = np.random.default_rng(seed)
    out = {}
    for user in range(num_users):
        start, length = gen.integers(1, num_items + 1), gen.integers(min_len, max_len + 1)
        out[str(user)] = [str((start - 1 + step) % num_items + 1) for step in range(length)]
    return out
