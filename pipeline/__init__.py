"""The TFX pipeline of fame-tf: an interaction log in, a blessed FAME model pushed into a TF Serving
model directory out. ``create_pipeline`` (pipeline.py) is the topology; local_runner.py and
vertex_runner.py run it; the other modules are its custom steps, referenced by dotted path so the
same code runs locally, in the Vertex AI container and on Dataflow workers."""

import fame_tf.backend  # noqa: F401  (TensorFlow with tf-keras as tf.keras, before TFX and TFT load it)
