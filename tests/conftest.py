import os

import numpy as np
import pytest

from fame_tf import FameConfig

# The model seed of every test that trains; bars on learned metrics must hold for others too
# (FAME_TEST_SEED=2, 3), and with oneDNN off (TF_ENABLE_ONEDNN_OPTS=0), on Intel and AMD CPUs.
SEED = int(os.environ.get("FAME_TEST_SEED", "1"))


@pytest.fixture
def tiny_config():
    return FameConfig(num_items=30, hidden_size=16, num_heads=4, num_experts=3, num_layers=2, max_len=12,
                      dropout=0.0, attention_dropout=0.0, batch_size=32, weight_decay=0.0, seed=SEED)


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


# `fame-tf train` options of a tiny model that learns the rule data in a few epochs.
TINY_TRAIN = ["--seed", str(SEED), "--hidden-size", "16", "--heads", "2", "--experts", "2", "--max-len", "12", "--batch-size", "32",
              "--dropout", "0.1", "--attention-dropout", "0.1", "--learning-rate", "0.01", "--weight-decay", "0"]


def write_rule_data(directory, users=200) -> str:
    """A sequence text file of ``rule_sequences``; returns its path."""
    path = directory / "seqs.txt"
    path.write_text("".join(f"{u} {' '.join(s)}\n" for u, s in rule_sequences(num_users=users).items()))
    return str(path)
