"""Reproduction benchmark: SASRec vs FAME (and FAME's ablations) on the paper's data sets.

Each (variant, seed) trains with `fame-tf train` in its own process (so peak memory is its own)
into bench/work/<data>/<variant>-seed<k>/; runs already in the results file are kept and an
interrupted run resumes from its work directory (a finished one is read back from its metrics.json, so the file
always has the current record format). Prints and writes bench/results/quality/reproduce-<data>[-<tag>].json:
per-run test metrics of the
validation-selected model under both ranking protocols (seen items kept; seen items excluded),
training time and time to the best epoch, epochs, throughput, peak memory, and mean/std per variant.

Every variant trains with the package defaults (those of `--variant sasrec` for SASRec), which are
the winners of the tuning search (`python -m bench tune`); FAME's ablations change one switch of FAME's.

    python -m bench reproduce --data data/beauty          # bench/results/quality/reproduce-beauty.json
    python -m bench reproduce --data data/beauty --variants fame-n1 --seeds 1
    python -m bench reproduce --data data/sports --jobs 2              # two runs at once, one core each

Two runs at once, each pinned to one of 2 cores, finish sooner than one after the other
(bench/archive/parallel_runs.py measured by how much); each run records the `--jobs` it trained under (runs at once at most: the
last runs of a queue train alone) and the machine it trained on, as its timings depend on both.
"""

from __future__ import annotations

import concurrent.futures
import glob
import json
import os
import queue
import statistics
import threading

import click

from bench.quality.train_run import train
from bench.common import commit, machine, result_path, work_dir, write_result

# Variant name -> `fame-tf train` options. Everything else stays at the package defaults.
VARIANTS = {
    "sasrec": ["--variant", "sasrec"],
    "fame": [],
    "fame-n1": ["--experts", "1"],
    "fame-uniform-gate": ["--gate", "uniform"],
    "fame-identity-wf": ["--item-projection", "identity"],
    "fame-mixture": ["--fusion", "mixture"],
    "fame-no-head-residual": ["--head-residual", "none"],
    "fame-no-logit-scale": ["--logit-scale", "none"],
    "fame-logit-scale": ["--logit-scale", "heads"],  # the default now; round 1's rows (no scale then)
    "fame-head-losses": ["--head-loss-weight", "0.5"],  # each head also predicts on its own
    # Facets grounded in the items' attributes; SASRec with the same loss is the control.
    "fame-attributes": ["--attribute-loss-weight", "0.5"],
    "sasrec-attributes": ["--variant", "sasrec", "--attribute-loss-weight", "0.5"],
}
KEYS = ("hr@5", "hr@10", "hr@20", "ndcg@5", "ndcg@10", "ndcg@20", "mrr")
EXCLUDED = "seen_excluded"


def _spread(values):
    return {"mean": statistics.mean(values), "std": statistics.stdev(values) if len(values) > 1 else 0.0}


def _summarise(runs):
    """Per variant: mean and std of each test metric with seen items kept, the same under
    ``seen_excluded``, the selection metric (validation NDCG@10) and the costs."""
    out = {}
    for variant in dict.fromkeys(r["variant"] for r in runs):
        mine = [r for r in runs if r["variant"] == variant]
        row = {"runs": len(mine), "seeds": [r["seed"] for r in mine]}
        row.update({key: _spread([r["test"][key] for r in mine]) for key in KEYS})
        if all(EXCLUDED in r["test"] for r in mine):
            row[EXCLUDED] = {key: _spread([r["test"][EXCLUDED][key] for r in mine]) for key in KEYS}
        row["validation_ndcg@10"] = _spread([r["validation"]["ndcg@10"] for r in mine])
        for key in ("epochs", "best_epoch", "train_sequences_per_second", "peak_rss_mb"):
            row[key] = statistics.mean(r[key] for r in mine)
        row["seconds_per_epoch"] = statistics.mean(r["train_seconds"] / r["timed_epochs"] for r in mine)
        timed = [r["train_seconds"] for r in mine if r["timed_epochs"] == r["epochs"]]
        row["train_seconds"] = statistics.mean(timed) if timed else None
        to_best = [r["seconds_to_best_epoch"] for r in mine if r.get("seconds_to_best_epoch")]
        row["seconds_to_best_epoch"] = statistics.mean(to_best) if len(to_best) == len(mine) else None
        out[variant] = row
    return out


def _recorded(path):
    if not os.path.exists(path):
        return {}
    with open(path) as handle:
        return {(r["variant"], r["seed"]): r for r in json.load(handle)["runs"]}


def _record(variant, seed, metrics, jobs, machine):
    epochs = len(metrics["validation_history"])
    if metrics.get("train_seconds"):  # every run of a resumed training
        seconds, timed_epochs = metrics["train_seconds"], epochs
    else:  # resumed before training time was counted across runs: only its last part
        seconds, timed_epochs = metrics["train_seconds_this_run"], metrics["epochs_this_run"]
    return {
        "variant": variant, "seed": seed, "test": metrics["test"], "validation": metrics["validation"],
        "validation_ndcg@10_by_epoch": [round(h["ndcg@10"], 5) for h in metrics["validation_history"]],
        f"validation_ndcg@10_by_epoch_{EXCLUDED}": [round(h[EXCLUDED]["ndcg@10"], 5)
                                                   for h in metrics["validation_history"]],
        # wall time of training and validation up to each evaluation: the time to reach a given score
        # (only when every evaluation has it, so that it stays aligned with the curves above)
        "seconds_by_epoch": [round(h["train_seconds"], 1) for h in metrics["validation_history"]]
        if all("train_seconds" in h for h in metrics["validation_history"]) else None,
        "best_epoch": metrics["best_epoch"], "epochs": epochs,
        "train_seconds": seconds, "timed_epochs": timed_epochs,
        "seconds_to_best_epoch": metrics.get("seconds_to_best_epoch"),
        "selection_protocol": metrics.get("selection_protocol", "seen_kept"),
        "train_sequences_per_second": metrics["train_sequences_per_second"],
        "peak_rss_mb": metrics["peak_rss_mb"], "config": metrics["config"], "jobs": jobs,
        "machine": machine,
    }


def _options(variant, data):
    """The variant's `fame-tf train` options; an attribute loss reads the data directory's
    ``*_item2attributes.json``."""
    options = list(VARIANTS[variant])
    if "--attribute-loss-weight" in options:
        found = sorted(glob.glob(os.path.join(data, "*_item2attributes.json")))
        if len(found) != 1:
            raise click.UsageError(f"{variant} needs one *_item2attributes.json in {data}, found {found}")
        options += ["--attributes", found[0]]
    return options


def _cpu_slots(jobs):
    """One CPU set per concurrent run: the CPUs this process may use, dealt out in turn."""
    cpus = sorted(os.sched_getaffinity(0))
    if jobs > len(cpus):
        raise click.BadParameter(f"{jobs} runs at once on {len(cpus)} CPUs", param_hint="--jobs")
    return [set(cpus[slot::jobs]) for slot in range(jobs)] if jobs > 1 else [None]


@click.command()
@click.option("--data", default="data/beauty", show_default=True)
@click.option("--variants", default="sasrec,fame", show_default=True, help=f"Comma list of {list(VARIANTS)}")
@click.option("--seeds", default="1,2,3", show_default=True, help="Seed 0 is the one the tuning search chose by.")
@click.option("--extra", default="", help="Extra `fame-tf train` options for every run, e.g. '--epochs 50'.")
@click.option("--tag", default="", help="Suffix of the work and result names, to keep settings apart.")
@click.option("--jobs", default=1, show_default=True, type=click.IntRange(1),
              help="Runs at once, each pinned to its share of the CPUs (recorded with each run as `jobs`: "
                   "it changes the timings, not the metrics).")
def main(data, variants, seeds, extra, tag, jobs):
    name = os.path.basename(os.path.normpath(data)) + (f"-{tag}" if tag else "")
    path = result_path("quality", f"reproduce-{name}")

    def work(variant, seed):
        return work_dir(name, f"{variant}-seed{seed}")

    done = _recorded(path)  # runs of earlier invocations (the work directories are not committed)
    pending = [(int(seed), variant) for seed in seeds.split(",") for variant in variants.split(",")
               if (variant, int(seed)) not in done or os.path.exists(os.path.join(work(variant, seed), "metrics.json"))]
    jobs = max(1, min(jobs, len(pending)))
    slots, writing, stop = queue.Queue(), threading.Lock(), threading.Event()
    for cpus in _cpu_slots(jobs):
        slots.put(cpus)

    def run(seed, variant):
        if stop.is_set():  # a run failed or the benchmark was interrupted: start no other
            return
        out = work(variant, seed)
        trained = not os.path.exists(os.path.join(out, "metrics.json"))  # by this invocation, with this commit
        fresh = trained or (variant, seed) not in done  # or finished here, never recorded: this machine
        cpus = slots.get()
        try:
            metrics = train(data, out, ["--seed", str(seed), *_options(variant, data), *extra.split()], cpus)
        except BaseException:
            stop.set()
            print(f"{out} failed: no further run starts", flush=True)
            raise
        finally:
            slots.put(cpus)
        with writing:  # merged into the file as it is now: another invocation may have added runs meanwhile
            recorded = _recorded(path)
            before = recorded.get((variant, seed), {})
            ran_with = jobs if fresh else before.get("jobs", 1)
            ran_on = {**machine(), **({"commit": commit()} if trained else {})} if fresh else before.get("machine")
            runs = {**recorded, (variant, seed): _record(variant, seed, metrics, ran_with, ran_on)}.values()
            runs = sorted(runs, key=lambda r: (list(VARIANTS).index(r["variant"]), r["seed"]))
            summary = _summarise(runs)
            write_result(path, "reproduce", {"data": data, "extra": extra, "summary": summary, "runs": runs}, echo=False)
            print(json.dumps(summary, indent=1), flush=True)

    with concurrent.futures.ThreadPoolExecutor(jobs) as pool:
        futures = [pool.submit(run, seed, variant) for seed, variant in pending]
        try:
            for future in concurrent.futures.as_completed(futures):
                future.result()  # a failed run stops the benchmark with its error (a running one finishes)
        finally:
            stop.set()
            pool.shutdown(cancel_futures=True)


if __name__ == "__main__":
    main()
