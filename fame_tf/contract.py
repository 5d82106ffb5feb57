"""Names of the serving contract that the export, the server, the pipeline and the command line
share; a module without TensorFlow, so the command line can show them as defaults at once."""

MODEL_NAME = "fame"  # the model name in TF Serving's URLs and the base path's last directory
DEFAULT_K = 100  # items returned per history
KERAS_FILE = "keras/fame.keras"  # the Keras 3 model inside an export's version directory
