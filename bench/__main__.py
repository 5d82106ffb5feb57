"""``python -m bench NAME [OPTIONS]``: every benchmark by name (``python -m bench --help`` lists
them by suite). A benchmark's module is imported only when it runs, so the list costs nothing."""

from __future__ import annotations

import importlib

import click

# name -> module (bench.<suite>.<module>), whose ``main`` is a click command.
BENCHMARKS = {
    "reproduce": "quality.reproduce",
    "tune": "quality.tune",
    "movielens": "quality.movielens",
    "recbole-peer": "quality.recbole_peer",
    "train-step": "performance.train_step",
    "cli-startup": "performance.cli_startup",
    "pipeline-beauty": "performance.pipeline_beauty",
    "evaluator-beauty": "performance.evaluator_beauty",
    "scale": "performance.scale",
    "large-catalogue": "performance.large_catalogue",
    "multi-worker": "performance.multi_worker",
    "serving-inprocess": "performance.serving_inprocess",
    "serving-rest": "performance.serving_rest",
    "serving-soak": "performance.serving_soak",
    "knockouts": "analysis.knockouts",
    "facet-weights": "analysis.facet_weights",
    "seen-items": "analysis.seen_items",
    "attribute-concentration": "analysis.attribute_concentration",
    "planted-facets": "analysis.planted_facets",
    "tables": "report.tables",
    "plots": "report.plots",
}


class Benchmarks(click.Group):
    def list_commands(self, ctx):
        return list(BENCHMARKS)

    def get_command(self, ctx, name):
        if name not in BENCHMARKS:
            return None
        return importlib.import_module(f"bench.{BENCHMARKS[name]}").main

    def format_commands(self, ctx, formatter):
        for suite in dict.fromkeys(module.split(".")[0] for module in BENCHMARKS.values()):
            with formatter.section(suite.capitalize()):
                formatter.write_dl([(name, module.split(".")[1] + ".py") for name, module in BENCHMARKS.items()
                                    if module.startswith(suite + ".")])


@click.command(cls=Benchmarks)
def main():
    """Run a benchmark of fame-tf (python -m bench NAME --help for its options)."""


if __name__ == "__main__":
    main()
