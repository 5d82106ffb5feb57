"""`fame-tf serve`: the local TF-Serving-compatible REST server (``serving.server``)."""

from __future__ import annotations

import click

from fame_cli.extras import require
from fame_tf.contract import MODEL_NAME


@click.command()
@click.option("--model-base-path", required=True, help="Directory of numbered versions (TF Serving layout).")
@click.option("--model-name", default=MODEL_NAME, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (0.0.0.0: every interface).")
@click.option("--port", "--rest-api-port", default=8501, show_default=True, help="0: any free port.")
@click.option("--poll-seconds", default=1.0, show_default=True, help="How often to look for new versions.")
@click.option("--policy", type=click.Choice(["latest", "all", "specific"]), default="latest", show_default=True)
@click.option("--version", "versions", type=int, multiple=True, help="Versions to serve with --policy specific.")
@click.option("--label", "labels", multiple=True, help="NAME=VERSION, e.g. stable=1700000000 (repeatable).")
@click.option("--max-batch-size", default=1024, show_default=True)
@click.option("--max-body-bytes", default=4 * 1024 * 1024, show_default=True)
@click.option("--batching/--no-batching", default=True, show_default=True,
              help="Merge requests that queue up while the model is busy into one batch.")
@click.option("--intra-op-threads", default=1, show_default=True,
              help="Threads inside one TF op (TF Serving's --tensorflow_intra_op_parallelism); 0: TF's choice.")
@click.option("--inter-op-threads", default=1, show_default=True,
              help="TF ops run in parallel (TF Serving's --tensorflow_inter_op_parallelism); 0: TF's choice.")
def serve(model_base_path, model_name, host, port, poll_seconds, policy, versions, labels, max_batch_size,
          max_body_bytes, batching, intra_op_threads, inter_op_threads):
    """Serve MODEL_BASE_PATH with TensorFlow Serving's REST API (for development and tests)."""
    require("serve")
    import logging

    from fame_tf.backend import tf
    from serving.server import serve as make_server

    tf.config.threading.set_intra_op_parallelism_threads(intra_op_threads)
    tf.config.threading.set_inter_op_parallelism_threads(inter_op_threads)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")  # loads, errors
    try:
        parsed = {name: int(number) for name, number in (label.split("=", 1) for label in labels)}
    except ValueError as error:
        raise click.BadParameter("labels are NAME=VERSION", param_hint="--label") from error
    server = make_server(model_base_path, model_name, host, port, poll_seconds, policy=policy, versions=versions,
                         labels=parsed, max_batch_size=max_batch_size, max_body_bytes=max_body_bytes,
                         batching=batching)
    click.echo(f"serving {model_name} from {model_base_path} on {server.url}")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        server.stop()
