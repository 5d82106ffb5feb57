"""The ``fame-tf`` command line, on top of the packages it drives: ``fame_tf`` (train, export),
``serving`` (serve) and ``pipeline`` (the TFX pipeline)."""

import click

from fame_cli.model_commands import export, train
from fame_cli.pipeline_commands import pipeline_group
from fame_cli.serve import serve


@click.group()
def main():
    """FAME sequential recommendation: train, evaluate, export, serve and run pipelines."""


for command in (train, export, serve, pipeline_group):
    main.add_command(command)

__all__ = ["main"]
