"""The extra each command needs, named when it is missing: ``pip install fame-tf`` is the runtime
an app needs, without the training stack, the pipeline, the server or plots."""

from __future__ import annotations

import importlib.util

import click

MODULES = {"train": ("tf_keras", "tensorflow_recommenders"), "pipeline": ("tfx", "tensorflow_transform"),
           "serve": ("tf_keras",), "plots": ("matplotlib",)}


def require(*extras: str) -> None:
    """Raises a ClickException naming the install command when a module of ``extras`` is missing."""
    for extra in extras:
        missing = [m for m in MODULES[extra] if importlib.util.find_spec(m) is None]
        if missing:
            raise click.ClickException(f"this command needs fame-tf's {extra} extra ({', '.join(missing)} "
                                       f"not installed): pip install 'fame-tf[{extra}]'")
