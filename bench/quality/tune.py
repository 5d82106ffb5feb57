"""Hyper-parameter search for SASRec and FAME with one budget: the same space, trials and seed.

KerasTuner's random-search oracle draws each trial's values; every trial trains **both** variants
with the shared values (training recipe, regularisation, optimiser, SASRec's head count), FAME
adding its own knobs (heads, experts, logit scale), so each trial is also a paired comparison.
Each run is `fame-tf train` in its own process, selected on validation NDCG@10 (seen kept), and
resumes from its work directory (bench/work/tune/<data>/), so an interrupted search continues with
the trial it was running. Every finished run is written to bench/results/quality/tune-<data>.json at once
(with the best trial of each variant), and the oracle's state to bench/results/quality/tune-<data>-oracle/,
so a fresh checkout continues the same search without training the recorded runs again.

    python -m bench tune --data data/beauty --trials 4
"""

from __future__ import annotations

import json
import os
import time

import click
import keras_tuner as kt

from bench.quality.train_run import train
from bench.common import ROOT, result_path, work_dir, write_result

VARIANTS = ("sasrec", "fame")
OBJECTIVE = "val_ndcg@10"


def search_space() -> kt.HyperParameters:
    hp = kt.HyperParameters()
    # Shared by both variants.
    hp.Choice("learning_rate", [5e-4, 1e-3, 2e-3])
    hp.Choice("batch_size", [128, 256, 512])
    hp.Choice("dropout", [0.2, 0.3, 0.4, 0.5, 0.6])  # also the attention-probability dropout
    hp.Choice("weight_decay", [0.0, 0.01, 0.1])  # AdamW's decoupled decay; 0: Adam
    hp.Choice("warmup_steps", [0, 1000])
    hp.Choice("ffn_multiplier", [1, 4])
    hp.Boolean("ffn_inner_dropout")
    hp.Choice("norm_placement", ["post", "pre"])
    hp.Choice("sasrec_heads", [1, 2, 4])
    # FAME's own.
    hp.Choice("fame_heads", [2, 4, 8])
    hp.Choice("num_experts", [1, 2, 4])
    hp.Choice("logit_scale", ["none", "heads"])
    return hp


def train_options(values, variant):
    """`fame-tf train` options of one variant for a trial's values."""
    shared = ["learning_rate", "batch_size", "weight_decay", "warmup_steps", "ffn_multiplier", "norm_placement"]
    options = [f"--{name.replace('_', '-')}={values[name]}" for name in shared]
    options += [f"--dropout={values['dropout']}", f"--attention-dropout={values['dropout']}",
                "--ffn-inner-dropout" if values["ffn_inner_dropout"] else "--no-ffn-inner-dropout",
                f"--variant={variant}"]
    if variant == "sasrec":
        return options + [f"--heads={values['sasrec_heads']}"]
    return options + [f"--heads={values['fame_heads']}", f"--experts={values['num_experts']}",
                      f"--logit-scale={values['logit_scale']}"]


def summary_of(metrics):
    return {"validation": metrics["validation"], "test": metrics["test"], "best_epoch": metrics["best_epoch"],
            "epochs": len(metrics["validation_history"]), "train_seconds": metrics["train_seconds"],
            "seconds_to_best_epoch": metrics.get("seconds_to_best_epoch"),
            "validation_ndcg@10_by_epoch": [round(h["ndcg@10"], 5) for h in metrics["validation_history"]],
            "config": metrics["config"]}


def best_trials(trials):
    best = {}
    for variant in VARIANTS:
        done = [t for t in trials if variant in t]
        if done:
            top = max(done, key=lambda t: t[variant]["validation"]["ndcg@10"])
            best[variant] = {"trial": top["trial"], "values": top["values"],
                             "validation_ndcg@10": top[variant]["validation"]["ndcg@10"],
                             "test": top[variant]["test"]}
    return best


def write_results(path, data, budget, results):
    """bench/results/quality/tune-<data>.json: the budget, the space, the best trial per variant and
    every trial (a trial whose FAME run is still training has only its SASRec entry)."""
    write_result(path, "tune", {"data": data, "budget": budget, "space": search_space().get_config(),
                                "best": best_trials(results), "trials": sorted(results, key=lambda r: r["trial"])},
                 echo=False)


@click.command()
@click.option("--data", default="data/beauty", show_default=True)
@click.option("--trials", default=4, show_default=True, help="Trials of the search (each trains both variants).")
@click.option("--max-epochs", default=50, show_default=True)
@click.option("--patience", default=5, show_default=True, help="Evaluations without improvement before stopping.")
@click.option("--seed", default=0, show_default=True, help="Training seed of every run.")
@click.option("--search-seed", default=1, show_default=True,
              help="Seed of a new random search (a continued search keeps its own).")
def main(data, trials, max_epochs, patience, seed, search_seed):
    name = os.path.basename(os.path.normpath(data))
    work = work_dir("tune", name)
    path = result_path("quality", f"tune-{name}")
    if search_seed == 0:
        raise click.BadParameter("KerasTuner takes 0 for 'no seed' (a random one): use another", param_hint="--search-seed")
    oracle = kt.oracles.RandomSearchOracle(objective=kt.Objective(OBJECTIVE, "max"), max_trials=trials,
                                           hyperparameters=search_space(), seed=search_seed)
    # KerasTuner's own persistence (what a Tuner does), kept with the results so that a fresh
    # checkout continues the same search; a reloaded oracle keeps the seed it started with.
    oracle._set_project_dir(os.path.dirname(path), f"tune-{name}-oracle")
    if os.path.exists(os.path.join(os.path.dirname(path), f"tune-{name}-oracle", "oracle.json")):
        oracle.reload()
    budget = {"trials": trials, "max_epochs": max_epochs, "patience": patience, "seed": seed,
              "search_seed": oracle.seed, "selection": "validation ndcg@10, seen kept"}
    results = []
    if os.path.exists(path):
        with open(path) as handle:
            results = json.load(handle)["trials"]
    while True:
        trial = oracle.create_trial("bench")
        if trial.status == kt.engine.trial.TrialStatus.STOPPED:
            print(f"the search has its {trials} trials: {os.path.relpath(path, ROOT)}", flush=True)
            break
        values = trial.hyperparameters.values
        record = {"trial": trial.trial_id, "values": values}
        # A fresh checkout has no bench/work: runs already in the results file are taken from there
        # instead of trained again (the oracle, reloaded from bench/results, gives the same trials).
        recorded = next((r for r in results if r["trial"] == trial.trial_id and r["values"] == values), {})
        start = time.time()
        for variant in VARIANTS:  # each finished run is written at once (a trial takes about an hour)
            if variant in recorded:
                record[variant] = recorded[variant]
                continue
            out = os.path.join(work, f"trial_{trial.trial_id}", variant)
            budget_options = ["--seed", str(seed), "--epochs", str(max_epochs), "--patience", str(patience)]
            record[variant] = summary_of(train(data, out, budget_options + train_options(values, variant)))
            results = [r for r in results if r["trial"] != trial.trial_id] + [record]
            write_results(path, data, budget, results)
        sasrec = record["sasrec"]["validation"]["ndcg@10"]
        record["fame_over_sasrec_val_ndcg@10"] = record["fame"]["validation"]["ndcg@10"] / sasrec if sasrec else None
        write_results(path, data, budget, results)
        oracle.update_trial(trial.trial_id, {OBJECTIVE: record["fame"]["validation"]["ndcg@10"]})
        trial.status = kt.engine.trial.TrialStatus.COMPLETED
        oracle.end_trial(trial)
        oracle.save()  # end_trial saves before it drops the trial from the ongoing ones
        print(f"trial {trial.trial_id}: sasrec val ndcg@10 {record['sasrec']['validation']['ndcg@10']:.4f}, "
              f"fame {record['fame']['validation']['ndcg@10']:.4f} ({time.time() - start:.0f}s)", flush=True)


if __name__ == "__main__":
    main()
