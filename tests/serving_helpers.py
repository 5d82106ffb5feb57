"""A tiny trained FAME export shared by the export, serving and load_model tests (one export per
pytest process: saving takes a while). The model learns next = prev % 20 + 1 over ids "1".."20",
so its top recommendation is predictable; one extra user brings the catalogue to CONFIG's 30 items."""

import atexit
import functools
import os
import shutil
import tempfile

from fame_tf import FameConfig
from fame_tf.backend import tf
from fame_tf.data import leave_one_out
from fame_tf.export import export_version
from fame_tf.inputs import ArrayData, train_dataset
from fame_tf.training import build_model

from conftest import SEED, rule_sequences

K = 10
CONFIG = FameConfig(num_items=30, hidden_size=16, num_heads=4, num_experts=2, max_len=12, dropout=0.0,
                    attention_dropout=0.0, learning_rate=1e-2, batch_size=32, weight_decay=0.0, seed=SEED)


@functools.lru_cache(maxsize=None)
def trained():
    """(model, vocabulary) of a tiny model trained for a few seconds on the rule."""
    sequences = rule_sequences(num_users=150, num_items=20)
    sequences["rare"] = [str(i) for i in range(21, 31)]
    split = leave_one_out(sequences, max_len=CONFIG.max_len)
    model = build_model(CONFIG.replace(num_items=split.num_items))
    model.fit(train_dataset(ArrayData(split), model.config), epochs=6, verbose=0)
    return model, list(split.vocab.items)


@functools.lru_cache(maxsize=None)
def exported_base() -> str:
    """A model base path with version 1 of the tiny FAME export."""
    model, vocabulary = trained()
    base = tempfile.mkdtemp(prefix="fame-serving-")
    atexit.register(shutil.rmtree, base, True)
    export_version(model, vocabulary, base, version=1, k=K)
    return base


def signature_outputs(histories) -> dict:
    """What version 1's ``serving_default`` answers for ``histories``: ids as str, the rest NumPy."""
    signature = tf.saved_model.load(os.path.join(exported_base(), "1")).signatures["serving_default"]
    out = signature(history=tf.constant(histories))
    return {k: v.numpy().astype(str).tolist() if v.dtype == tf.string else v.numpy() for k, v in out.items()}
