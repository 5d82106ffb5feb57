"""Names of the serving contract that the export, the server, the client, the pipeline and the
command line share; a module without TensorFlow, so the command line can show them as defaults at
once and an app's client needs nothing else."""

MODEL_NAME = "fame"  # the model name in TF Serving's URLs and the base path's last directory
DEFAULT_K = 100  # items returned per history
KERAS_FILE = "keras/fame.keras"  # the Keras 3 model inside an export's version directory

# Signatures of the SavedModel (fame_tf.export) and their inputs.
SERVING_DEFAULT = "serving_default"  # history -> top-K
SERVING_EXCLUDE_HISTORY = "serving_exclude_history"  # the same, never recommending the history's items
SERVING_EXAMPLES = "serving_examples"  # serialized tf.Example with a history feature -> top-K
SIGNATURES = (SERVING_DEFAULT, SERVING_EXCLUDE_HISTORY, SERVING_EXAMPLES)
HISTORY = "history"  # string [B, T], raw item ids oldest first, padded with ""
EXAMPLES = "examples"  # string [B]

# Outputs of every signature.
ITEM_IDS = "item_ids"  # string [B, K]
SCORES = "scores"  # float [B, K]
FACET_WEIGHTS = "facet_weights"  # float [B, H]: FAME's gate; [B, 0] for SASRec
OUTPUTS = (ITEM_IDS, SCORES, FACET_WEIGHTS)
