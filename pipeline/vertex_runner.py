"""Vertex AI Pipelines: compile the pipeline with KubeflowV2DagRunner into a pipeline JSON (offline,
no credentials) for a container image built from the project's Dockerfile, and submit it with
``google.cloud.aiplatform.PipelineJob``.

Every step runs in that image (``/fame-tf`` holds the project, so the curated schemas are read from
``CONTAINER_SCHEMA_DIR``). With ``dataflow_beam_args`` the Beam steps (statistics, leave-one-out
split, Transform) run on Dataflow instead of inside the step's container; with ``VertexTraining``
the Trainer runs as a Vertex AI Training custom job (TFX's Google Cloud extension) on the machines
it names: machine type, GPUs, and several workers under MultiWorkerMirroredStrategy.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any, Dict, List, Optional

from tfx import v1 as tfx
from tfx.orchestration.kubeflow.v2.kubeflow_v2_dag_runner import KubeflowV2DagRunner, KubeflowV2DagRunnerConfig

from fame_tf.contract import MODEL_NAME
from pipeline.leave_one_out import EVAL
from pipeline.local_runner import PIPELINE_NAME
from pipeline.pipeline import create_pipeline
from pipeline.trainer import TrainerSettings

CONTAINER_SCHEMA_DIR = "/fame-tf/pipeline/schemas"


def bucket_paths(bucket: str, pipeline_name: str = PIPELINE_NAME, model_name: str = MODEL_NAME) -> Dict[str, str]:
    """The pipeline's locations in a Cloud Storage bucket (``gs://name`` or ``name``)."""
    base = f"{bucket if bucket.startswith('gs://') else 'gs://' + bucket}/{pipeline_name}"
    return {"pipeline_root": f"{base}/pipeline_root", "data_root": f"{base}/data",
            "serving": f"{base}/serving_model/{model_name}", "temp": f"{base}/tmp"}


def dataflow_beam_args(project: str, region: str, temp_location: str, image: str) -> List[str]:
    """Beam arguments that move the Beam steps to Dataflow, with workers running ``image``."""
    return ["--runner=DataflowRunner", f"--project={project}", f"--region={region}",
            f"--temp_location={temp_location}", f"--sdk_container_image={image}", "--experiments=use_runner_v2"]


@dataclasses.dataclass(frozen=True)
class VertexTraining:
    """The Trainer's Vertex AI Training job: ``workers`` replicas (the first is the chief; Vertex AI
    sets TF_CONFIG on each, and ``distribution="auto"`` then trains with
    MultiWorkerMirroredStrategy) of ``machine_type``, each with ``accelerator_count`` GPUs of
    ``accelerator_type`` (e.g. ``NVIDIA_TESLA_T4``) if one is named."""

    project: str
    region: str
    machine_type: str = "n1-standard-8"
    accelerator_type: Optional[str] = None
    accelerator_count: int = 1
    workers: int = 1

    def __post_init__(self):
        if self.workers < 1 or self.accelerator_count < 1:
            raise ValueError(f"workers={self.workers} and accelerator_count={self.accelerator_count} must be >= 1")

    def trainer_config(self, image: str) -> Dict[str, Any]:
        """The extension's keys of the Trainer's ``custom_config``."""
        machine = {"machine_type": self.machine_type}
        if self.accelerator_type:
            machine.update(accelerator_type=self.accelerator_type, accelerator_count=self.accelerator_count)
        pools = [{"machine_spec": machine, "replica_count": count, "container_spec": {"image_uri": image}}
                 for count in ([1, self.workers - 1] if self.workers > 1 else [1])]
        extension = tfx.extensions.google_cloud_ai_platform
        return {extension.ENABLE_VERTEX_KEY: True, extension.VERTEX_REGION_KEY: self.region,
                extension.TRAINING_ARGS_KEY: {"project": self.project, "worker_pool_specs": pools}}


def compile_vertex(output_file: str, image: str, bucket: str, settings: TrainerSettings,
                   data_root: Optional[str] = None, min_ndcg_at_10: float = 0.0,
                   beam_pipeline_args: Optional[List[str]] = None, pipeline_name: str = PIPELINE_NAME,
                   vertex_training: Optional[VertexTraining] = None, blessing_split: str = EVAL) -> str:
    """Writes the Vertex AI pipeline JSON to ``output_file``; returns its path. ``data_root``
    (default ``gs://<bucket>/<pipeline_name>/data``) holds the interaction CSVs."""
    if vertex_training and vertex_training.workers > 1 and settings.distribution not in ("auto", "multi_worker"):
        raise ValueError(f"{vertex_training.workers} workers train with distribution auto or multi_worker, "
                         f"not {settings.distribution}")
    where = bucket_paths(bucket, pipeline_name)
    pipeline = create_pipeline(
        pipeline_name=pipeline_name, pipeline_root=where["pipeline_root"], data_root=data_root or where["data_root"],
        serving_model_dir=where["serving"], trainer_settings=settings, min_ndcg_at_10=min_ndcg_at_10,
        schema_dir=CONTAINER_SCHEMA_DIR, beam_pipeline_args=beam_pipeline_args,
        trainer_platform_config=vertex_training.trainer_config(image) if vertex_training else None,
        blessing_split=blessing_split,
    )
    output_file = os.path.abspath(output_file)
    # Imported from its module: tfx.v1's re-export also needs the whole kfp SDK, which conflicts
    # with the pinned protobuf; the compiler only needs kfp-pipeline-spec.
    runner = KubeflowV2DagRunner(
        config=KubeflowV2DagRunnerConfig(default_image=image),
        output_dir=os.path.dirname(output_file), output_filename=os.path.basename(output_file))
    runner.run(pipeline)
    return output_file


def submit_vertex(pipeline_json: str, project: str, region: str, bucket: str, service_account: Optional[str] = None,
                  enable_caching: bool = True, pipeline_name: str = PIPELINE_NAME):
    """Submits a compiled pipeline JSON as a Vertex AI PipelineJob; returns the job (not waited for)."""
    from google.cloud import aiplatform

    aiplatform.init(project=project, location=region, staging_bucket=bucket_paths(bucket, pipeline_name)["temp"])
    job = aiplatform.PipelineJob(display_name=pipeline_name, template_path=pipeline_json,
                                 pipeline_root=bucket_paths(bucket, pipeline_name)["pipeline_root"],
                                 enable_caching=enable_caching)
    job.submit(service_account=service_account)
    return job
