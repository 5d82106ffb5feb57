"""The TFX pipeline of fame-tf: an interaction log in, a blessed FAME model pushed into a TF Serving
model directory out. ``create_pipeline`` (pipeline.py) is the topology; local_runner.py and
vertex_runner.py run it; the other modules are its custom steps, referenced by dotted path so the
same code runs locally, in the Vertex AI container and on Dataflow workers."""

import fame_tf  # noqa: F401  (sets TF_USE_LEGACY_KERAS=1 before TensorFlow/TFT load)
