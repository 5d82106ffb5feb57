"""The optimizer of a config: Adam, or AdamW with decoupled weight decay, with an optional linear
learning-rate warm-up."""

from __future__ import annotations

from fame_tf.backend import keras, tf
from fame_tf.config import FameConfig
from fame_tf.layers import PACKAGE


@keras.utils.register_keras_serializable(package=PACKAGE)
class LinearWarmup(keras.optimizers.schedules.LearningRateSchedule):
    """The learning rate rises linearly over ``warmup_steps`` steps, then stays constant."""

    def __init__(self, learning_rate: float, warmup_steps: int):
        self.learning_rate, self.warmup_steps = learning_rate, warmup_steps

    def __call__(self, step):
        fraction = tf.minimum((tf.cast(step, tf.float32) + 1.0) / float(self.warmup_steps), 1.0)
        return self.learning_rate * fraction

    def get_config(self):
        return {"learning_rate": self.learning_rate, "warmup_steps": self.warmup_steps}


def make_optimizer(config: FameConfig) -> keras.optimizers.Optimizer:
    """Adam, or AdamW when ``weight_decay`` > 0; with ``warmup_steps`` a linear warm-up."""
    rate = LinearWarmup(config.learning_rate, config.warmup_steps) if config.warmup_steps else config.learning_rate
    if config.weight_decay:
        return keras.optimizers.AdamW(rate, weight_decay=config.weight_decay)
    return keras.optimizers.Adam(rate)
