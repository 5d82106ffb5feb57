# The container image of the Vertex AI pipeline (and of Dataflow workers with --dataflow): the
# official TFX 1.16 image (Python 3.10, TFX, TensorFlow 2.16, Beam) plus this package, installed
# with the project's pins. The project lives in /fame-tf, where the compiled pipeline expects the
# curated schemas (pipeline/vertex_runner.py: CONTAINER_SCHEMA_DIR).
#
#   docker build -t REGION-docker.pkg.dev/PROJECT/REPO/fame-tf:TAG .
#   docker push REGION-docker.pkg.dev/PROJECT/REPO/fame-tf:TAG
FROM gcr.io/tfx-oss-public/tfx:1.16.0

WORKDIR /fame-tf
COPY constraints.txt setup.py README.md ./
COPY fame_tf/ fame_tf/
COPY pipeline/ pipeline/
COPY serving/ serving/
COPY fame_cli/ fame_cli/
RUN pip install --no-cache-dir -c constraints.txt -e ".[pipeline]" \
    && python -c "import pipeline.pipeline, pipeline.trainer, pipeline.evaluator"

ENV TF_USE_LEGACY_KERAS=1
