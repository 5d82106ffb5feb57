"""PNG charts of the benchmark results where a curve says more than a table, written to
bench/results/report/plots/ (shown in the docs), or to ``--output``:

- ``tuning-<data>.png``: validation NDCG@10 per epoch of every tuning run, SASRec and FAME side by
  side per trial (quality/tune-<data>.json);
- ``reproduce-<data>.png``: validation NDCG@10 per epoch of every SASRec and FAME run of the
  reproduction benchmark, one colour per variant and one line style per seed, with seen items kept
  and excluded (quality/reproduce-<data>.json for beauty and sports); ``reproduce-<data>-ablations.png``
  the same for FAME's ablations beside SASRec and FAME of the ablations' seeds;
  ``reproduce-<data>-every-position.png`` the runs of quality/reproduce-<data>-every-position.json
  beside the same variants and seeds of the final table (prefix training);
- ``soak-latency.png``, ``soak-memory.png``: the server's p50/p99 latency and resident memory per
  phase of the soak of each default model (performance/serving_soak-<model>.json).

    python -m bench plots
"""

from __future__ import annotations

import json
import os

import click

from bench.common import RESULTS, ROOT
from bench.performance.serving_common import MODELS
from fame_tf import plots

QUALITY, PERFORMANCE = os.path.join(RESULTS, "quality"), os.path.join(RESULTS, "performance")
PAIR = ("sasrec", "fame")  # the variants every trial and the final table compare; the others are FAME's ablations


def tuning(name: str, out: str) -> str:
    with open(os.path.join(QUALITY, f"tune-{name}.json")) as handle:
        result = json.load(handle)
    series = {f"trial {trial['trial']} {variant}": dict(enumerate(trial[variant]["validation_ndcg@10_by_epoch"], 1))
              for trial in result["trials"] for variant in PAIR if variant in trial}
    return plots.lines(series, os.path.join(out, f"tuning-{name}.png"),
                       f"{name}: validation NDCG@10 (seen kept) of each tuning run", "epoch", "NDCG@10")


def _runs(name: str) -> list:
    with open(os.path.join(QUALITY, f"reproduce-{name}.json")) as handle:
        return json.load(handle)["runs"]


def reproduce(name: str, out: str) -> list:
    runs = _runs(name)
    final = [run for run in runs if run["variant"] in PAIR]
    ablations = [run for run in runs if run["variant"] not in PAIR]
    paths = [_curves(final, os.path.join(out, f"reproduce-{name}.png"))]
    if ablations:
        seeds = {run["seed"] for run in ablations}
        beside = [run for run in final if run["seed"] in seeds]
        paths.append(_curves(beside + ablations, os.path.join(out, f"reproduce-{name}-ablations.png")))
    if os.path.exists(os.path.join(QUALITY, f"reproduce-{name}-every-position.json")):
        every = _runs(f"{name}-every-position")
        pairs = {(run["variant"], run["seed"]) for run in every}
        prefix = [run for run in final if (run["variant"], run["seed"]) in pairs]
        paths.append(_curves(prefix + every, os.path.join(out, f"reproduce-{name}-every-position.png"), schemes=True))
    return paths


def _curves(runs: list, path: str, schemes: bool = False) -> str:
    """One curve per run, named by variant and seed, and by training scheme if ``schemes``."""
    def label(run):
        scheme = f" {run['config']['training_scheme'].replace('_', '-')}" if schemes else ""
        return f"{run['variant']}{scheme} seed {run['seed']}"
    names = {label(run): run for run in runs}
    histories = {name: [
        {"epoch": evaluation * run["config"]["eval_every"], "ndcg@10": kept, "seen_excluded": {"ndcg@10": excluded}}
        for evaluation, (kept, excluded) in enumerate(zip(run["validation_ndcg@10_by_epoch"],
                                                          run["validation_ndcg@10_by_epoch_seen_excluded"]), 1)]
        for name, run in names.items()}
    return plots.validation_curves(histories, path,
                                   groups={name: run["variant"] for name, run in names.items()},
                                   selected={name: run["best_epoch"] for name, run in names.items()})


def soak(out: str) -> list:
    """p50/p99 and server memory per phase, one line per default model (serving_soak-<model>.json)."""
    results = {}
    for name in MODELS:
        path = os.path.join(PERFORMANCE, f"serving_soak-{name}.json")
        if os.path.exists(path):
            with open(path) as handle:
                results[name] = json.load(handle)["phases"]
    latency = {f"{q}, {name} default": {p["phase"]: p[f"{q}_ms"] for p in phases}
               for name, phases in results.items() for q in ("p50", "p99")}
    memory = {f"server, {name} default": {p["phase"]: p["server_rss_mib"] for p in phases} for name, phases in results.items()}
    return [plots.lines(latency, os.path.join(out, "soak-latency.png"),
                        "soak: latency per 2-minute phase (a version pushed each phase)", "phase", "ms"),
            plots.lines(memory, os.path.join(out, "soak-memory.png"),
                        "soak: server memory at the end of each phase", "phase", "MiB")] if results else []


@click.command()
@click.option("--output", default=os.path.join(RESULTS, "report", "plots"), show_default=True,
              type=click.Path(file_okay=False))
def main(output):
    """Draw the docs' plots from the committed results."""
    os.makedirs(output, exist_ok=True)
    names = sorted(f[len("tune-"):-len(".json")] for f in os.listdir(QUALITY) if f.startswith("tune-") and f.endswith(".json"))
    reproduced = [name for name in ("beauty", "sports") if os.path.exists(os.path.join(QUALITY, f"reproduce-{name}.json"))]
    curves = [path for name in reproduced for path in reproduce(name, output)]
    for path in [tuning(name, output) for name in names] + curves + soak(output):
        print(f"wrote {os.path.relpath(path, ROOT) if path.startswith(ROOT) else path}")


if __name__ == "__main__":
    main()
