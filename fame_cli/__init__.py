"""The ``fame-tf`` command line, on top of the packages it drives: ``fame_tf`` (train, export),
``serving`` (serve) and ``pipeline`` (the TFX pipeline). Commands import TensorFlow only when
they run, so ``--help`` answers at once."""

import os
import warnings

try:
    import click
except ModuleNotFoundError:  # the runtime install (an app's): no command line
    raise SystemExit("fame-tf's command line comes with its extras: pip install 'fame-tf[train]' "
                     "(or [pipeline], [serve], [all])") from None

from fame_cli.model_commands import export, train
from fame_cli.pipeline_commands import pipeline_group
from fame_cli.report import report
from fame_cli.serve import serve

# Known third-party warnings that say nothing about the user's run.
KNOWN_WARNINGS = (
    (FutureWarning, "You are using a non-supported Python version"),  # google.api_core on Python 3.10
)


def quiet() -> None:
    """TensorFlow's C++ log (CUDA plug-in registration, oneDNN notes) and known warnings off; set
    before TensorFlow loads, and inherited by the processes a command starts (Beam workers)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    for category, message in KNOWN_WARNINGS:
        warnings.filterwarnings("ignore", message=message, category=category)
    # The same filters for child processes; PYTHONWARNINGS matches a message's start literally.
    children = [f"ignore:{message}:{category.__name__}" for category, message in KNOWN_WARNINGS]
    os.environ["PYTHONWARNINGS"] = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), *children]))


@click.group()
@click.option("--verbose", is_flag=True, help="Also show TensorFlow's C++ log and known third-party warnings.")
def main(verbose):
    """FAME sequential recommendation: train, evaluate, export, serve, report and run pipelines."""
    if not verbose:
        quiet()


for command in (train, export, serve, report, pipeline_group):
    main.add_command(command)

__all__ = ["main"]
