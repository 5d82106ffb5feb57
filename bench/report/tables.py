"""Prints the docs' result tables (Markdown) from bench/results/<suite>/*.json, so the docs quote the
measured files rather than numbers typed by hand.

    python -m bench tables reproduce beauty sports --variants sasrec,fame
    python -m bench tables versus beauty --seed 1
    python -m bench tables versus beauty-every-position --seed 1 --against beauty
    python -m bench tables targets beauty sports
    python -m bench tables curves beauty
    python -m bench tables tuning beauty
    python -m bench tables knockouts
    python -m bench tables serving
    python -m bench tables soak
    python -m bench tables pipeline
    python -m bench tables large
    python -m bench tables scale
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import shlex
import statistics

import click

from bench.common import RESULTS, ROOT, SUITES

METRICS = ("hr@5", "hr@10", "hr@20", "ndcg@5", "ndcg@10", "ndcg@20", "mrr")


ARCHIVE = os.path.join(os.path.dirname(RESULTS), "archive", "results")


def _load(name: str) -> dict:
    """bench/results/<suite>/<name>.json, whichever suite holds it, else bench/archive/results/<name>.json."""
    for path in [os.path.join(RESULTS, suite, f"{name}.json") for suite in SUITES] + [os.path.join(ARCHIVE, f"{name}.json")]:
        if os.path.exists(path):
            with open(path) as handle:
                return json.load(handle)
    raise click.ClickException(f"no results file {name}.json in bench/results/{{{','.join(SUITES)}}}/ or bench/archive/results/")


def _reproduction(name: str) -> dict:
    """The reproduction results of a data set (and tag), e.g. ``beauty``, ``beauty-every-position``;
    archived ones by their path, e.g. ``round1/beauty``."""
    return _load(name if "/" in name else f"reproduce-{name}")


def _row(cells) -> str:
    return "| " + " | ".join(str(c) for c in cells) + " |"


def _command(name: str, result: dict, variant: str) -> str:
    """The `python -m bench reproduce` options that produce this row."""
    seeds = ",".join(str(r["seed"]) for r in result["runs"] if r["variant"] == variant)
    options = f"--data {result['data']} --variants {variant} --seeds {seeds}"
    tag = os.path.basename(name)[len(os.path.basename(os.path.normpath(result["data"]))) + 1:]
    if tag:
        options += f" --tag {tag}"
    if result["extra"]:
        options += f" --extra '{result['extra']}'"
    jobs = max(r.get("jobs", 1) for r in result["runs"] if r["variant"] == variant)
    if jobs > 1:
        options += f" --jobs {jobs}"
    return f"`{options}`"


def _validation(result: dict, variant: str) -> str:
    """Validation NDCG@10 of the selected model under the protocol it was selected by (named)."""
    runs = [r for r in result["runs"] if r["variant"] == variant]
    protocols = {r.get("selection_protocol", "seen_kept") for r in runs}
    if len(protocols) > 1:
        raise click.ClickException(f"{variant} runs of {result['data']} were selected by different protocols: {protocols}")
    protocol = protocols.pop()
    values = [r["validation"]["ndcg@10"] if protocol == "seen_kept" else r["validation"][protocol]["ndcg@10"]
              for r in runs]
    spread = f"{statistics.mean(values):.4f}" + (f" ± {statistics.stdev(values):.4f}" if len(values) > 1 else "")
    return f"{spread} ({protocol.split('_')[1]})"


def _spread(value: dict, runs: int) -> str:
    return f"{value['mean']:.4f} ± {value['std']:.4f}" if runs > 1 else f"{value['mean']:.4f}"


def reproduce_table(names, variants=None) -> str:
    """Two rows per variant (all, or those in ``variants``): test metrics with seen items kept and
    with seen items excluded (runs from before the excluded protocol existed have only the first)."""
    header = ["data", "variant", "seeds", "protocol", *(m.upper() for m in METRICS), "selected on val NDCG@10",
              "best epoch", "min to best", "s/epoch", "`python -m bench reproduce` options"]
    lines, notes = [_row(header), _row(["---"] * len(header))], []
    results = {name: _reproduction(name) for name in names}
    unknown = set(variants or ()) - {variant for result in results.values() for variant in result["summary"]}
    if unknown:
        raise click.ClickException(f"no runs of {', '.join(sorted(unknown))} in {', '.join(names)}")
    for name, result in results.items():
        for variant, row in result["summary"].items():
            if variants and variant not in variants:
                continue
            runs = [r for r in result["runs"] if r["variant"] == variant]
            seeds = ",".join(str(r["seed"]) for r in runs)
            to_best = row.get("seconds_to_best_epoch")
            costs = [f"{row['best_epoch']:.0f}" if "best_epoch" in row else "—",
                     "—" if to_best is None else f"{to_best / 60:.0f}", f"{row['seconds_per_epoch']:.0f}"]
            machines = _machines(runs)
            if len(machines) > 1:  # timings of different machines are not averaged
                costs[1:] = [", ".join(_minutes_to_best(r) for r in runs), ", ".join(_seconds_per_epoch(r) for r in runs)]
                notes.append(f"{os.path.basename(name)} `{variant}` trained on {len(machines)} machines ("
                             + "; ".join(f"seed{'s' * (len(group) > 1)} {','.join(group)}: {machine}" for machine, group in machines.items())
                             + "): its minutes to best and seconds per epoch are per seed.")
            for protocol, metrics in (("kept", row), ("excluded", row.get("seen_excluded"))):
                if metrics is None:
                    continue
                first = protocol == "kept"
                lines.append(_row([os.path.basename(name), f"`{variant}`", seeds, protocol,
                                   *(_spread(metrics[m], row["runs"]) for m in METRICS),
                                   *([_validation(result, variant), *costs, _command(name, result, variant)]
                                     if first else [""] * 5)]))
    return "\n".join(lines + [""] * bool(notes) + notes)


def headline_table(names, variants=("sasrec", "fame")) -> str:
    """The README's result: test NDCG@10 and HR@10 of each variant under both protocols (mean ± std
    over its seeds), and its mean best epoch."""
    header = ["data", "model", "seeds", "NDCG@10, seen kept", "HR@10, seen kept", "NDCG@10, seen excluded",
              "HR@10, seen excluded", "best epoch"]
    lines = [_row(header), _row(["---"] * len(header))]
    for name in names:
        summary = _reproduction(name)["summary"]
        for variant in variants:
            row = summary[variant]
            excluded = row["seen_excluded"]
            lines.append(_row([name.capitalize(), "FAME" if variant == "fame" else "SASRec", row["runs"],
                               *(_spread(metrics[key], row["runs"]) for metrics in (row, excluded)
                                 for key in ("ndcg@10", "hr@10")), f"{row['best_epoch']:.0f}"]))
    return "\n".join(lines)


def _machine(run) -> str:
    """The hardware a run trained on: CPU model and cores (what a run did not record is said)."""
    machine = run.get("machine")
    if not machine:
        return "machine not recorded"
    cores = f", {machine['cpus']} cores" if machine.get("cpus") else ""
    return machine.get("cpu_model", "CPU not recorded") + cores


def _machines(runs) -> dict:
    """Machine -> seeds that trained on it."""
    out = {}
    for run in runs:
        out.setdefault(_machine(run), []).append(str(run["seed"]))
    return out


def _minutes_to_best(run) -> str:
    return "—" if run.get("seconds_to_best_epoch") is None else f"{run['seconds_to_best_epoch'] / 60:.0f}"


def _seconds_per_epoch(run) -> str:
    return f"{run['train_seconds'] / run['timed_epochs']:.0f}"


def _protocols(metrics: dict) -> str:
    return f"{metrics['ndcg@10']:.4f} / {metrics['seen_excluded']['ndcg@10']:.4f}"


def tuning_table(name: str) -> str:
    """One row per trial of bench/results/quality/tune-<name>.json: the drawn values, each variant's
    validation NDCG@10 under both protocols (of the epoch selected with seen items kept), the ratio
    of the selection metric, test NDCG@10 under both protocols, the best epochs and the minutes to
    them."""
    result = _load(f"tune-{name}")
    knobs = list(result["trials"][0]["values"]) if result["trials"] else []
    header = ["trial", *knobs, "SASRec val (kept / excl.)", "FAME val (kept / excl.)", "FAME / SASRec (val kept)",
              "SASRec test (kept / excl.)",
              "FAME test (kept / excl.)", "best epochs (S, F)", "min to best (S, F)"]
    lines = [_row(header), _row(["---"] * len(header))]
    def cell(trial, variant, text):
        return text(trial[variant]) if variant in trial else "(training)"

    for trial in sorted(result["trials"], key=lambda t: t["trial"]):
        ratio = trial.get("fame_over_sasrec_val_ndcg@10")
        lines.append(_row([trial["trial"], *(trial["values"][k] for k in knobs),
                           *(cell(trial, v, lambda r: _protocols(r["validation"])) for v in ("sasrec", "fame")),
                           "—" if ratio is None else f"{ratio:.3f}",
                           *(cell(trial, v, lambda r: _protocols(r["test"])) for v in ("sasrec", "fame")),
                           ", ".join(cell(trial, v, lambda r: str(r["best_epoch"])) for v in ("sasrec", "fame")),
                           ", ".join(cell(trial, v, _minutes_to_best)
                                     for v in ("sasrec", "fame"))]))
    return "\n".join(lines)


# Published anchors on the bundled Beauty split (test NDCG@10): a RecBole CE SASRec report (seen kept),
# the published full-softmax SASRec (mean of 5 runs) and BSARec (seen excluded). Stock RecBole's
# validation score is measured here: bench/results/quality/recbole_peer-beauty.json.
BEAUTY_ANCHORS = {"sasrec_kept": 0.043, "sasrec_excluded": 0.0597, "bsarec_excluded": 0.0611}
FAME_OVER_SASREC = 1.05


def _stat(metrics: dict, protocol: str):
    """NDCG@10 of one protocol ("kept" or "excluded") from a run's metrics or a summary (mean and std)."""
    return (metrics if protocol == "kept" else metrics["seen_excluded"])["ndcg@10"]


def _mark(met: bool) -> str:
    return "met" if met else "**not met**"


def targets_table(names) -> str:
    """Each target of the quality issue against bench/results/quality/reproduce-<name>.json (mean ± std over the
    seeds of the validation-selected models): SASRec against the Beauty anchors, and FAME against
    1.05x SASRec under both protocols beyond the seed spread (FAME's mean - std above 1.05x
    SASRec's mean + std; it takes at least two seeds of each)."""
    lines = [_row(["data", "seeds", "target", "measured (NDCG@10, mean ± std)", "verdict"]), _row(["---"] * 5)]
    for name in names:
        summary = _reproduction(name)["summary"]
        sasrec, fame = summary.get("sasrec"), summary.get("fame")
        if not (sasrec and fame and "seen_excluded" in sasrec and "seen_excluded" in fame):
            lines.append(_row([name, "", "needs SASRec and FAME runs with both protocols",
                               f"has: {', '.join(summary)}", "—"]))
            continue
        seeds = ",".join(map(str, sasrec["seeds"]))
        if fame["seeds"] != sasrec["seeds"]:
            seeds = f"SASRec {seeds}, FAME {','.join(map(str, fame['seeds']))}"
        beauty = os.path.basename(name) == "beauty"  # the anchors are measured on the bundled Beauty split
        if beauty:
            validation = sasrec["validation_ndcg@10"]
            try:
                recbole = _load("recbole_peer-beauty")["best_validation_ndcg@10"]
            except click.ClickException:
                lines.append(_row([name, seeds, "SASRec validation (kept) above stock RecBole's best",
                                   _spread(validation, sasrec["runs"]), "needs `python -m bench recbole-peer`"]))
            else:
                lines.append(_row([name, seeds, f"SASRec validation (kept) above stock RecBole's best {recbole:.4f}",
                                   _spread(validation, sasrec["runs"]), _mark(validation["mean"] > recbole)]))
            for protocol, anchor in (("kept", "sasrec_kept"), ("excluded", "sasrec_excluded")):
                test = _stat(sasrec, protocol)
                lines.append(_row([name, seeds, f"SASRec test ({protocol}) ≥ {BEAUTY_ANCHORS[anchor]}",
                                   _spread(test, sasrec["runs"]), _mark(test["mean"] >= BEAUTY_ANCHORS[anchor])]))
        for protocol in ("kept", "excluded"):
            ours, theirs = _stat(fame, protocol), _stat(sasrec, protocol)
            beyond = ours["mean"] - ours["std"] > FAME_OVER_SASREC * (theirs["mean"] + theirs["std"])
            verdict = _mark(beyond) if min(fame["runs"], sasrec["runs"]) > 1 else "needs 2 seeds or more"
            lines.append(_row([name, seeds, f"FAME ≥ {FAME_OVER_SASREC}x SASRec ({protocol}), beyond the seed spread",
                               f"{_spread(ours, fame['runs'])} / {_spread(theirs, sasrec['runs'])} "
                               f"= x{ours['mean'] / theirs['mean']:.3f}", verdict]))
        if beauty:
            test = _stat(fame, "excluded")
            lines.append(_row([name, seeds, f"stretch: FAME test (excluded) above BSARec's {BEAUTY_ANCHORS['bsarec_excluded']}",
                               _spread(test, fame["runs"]), _mark(test["mean"] > BEAUTY_ANCHORS["bsarec_excluded"])]))
    return "\n".join(lines)


def _epochs_above(ours, theirs, eval_every: int) -> str:
    """At how many common evaluations `ours` is above `theirs`, and at which epochs (as ranges)."""
    epochs = [(i + 1) * eval_every for i, (a, b) in enumerate(zip(ours, theirs)) if a > b]
    ranges = []
    for epoch in epochs:
        if ranges and epoch == ranges[-1][1] + eval_every:
            ranges[-1][1] = epoch
        else:
            ranges.append([epoch, epoch])
    where = ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in ranges) or "none"
    return f"{len(epochs)} of {min(len(ours), len(theirs))} (epochs {where})"


def curves_table(name: str) -> str:
    """FAME against SASRec of the same seed along training (bench/results/quality/reproduce-<name>.json): at how many
    common evaluations FAME's validation NDCG@10 is above under each protocol, and both protocols'
    validation and test NDCG@10 at each run's selected epoch."""
    result = _reproduction(name)
    runs = {(r["variant"], r["seed"]): r for r in result["runs"]}
    header = ["seed", "FAME above SASRec (val, kept)", "FAME above SASRec (val, excluded)",
              "best epochs (S, F)", "val excluded at the selected epoch (S, F)", "test excluded (S, F)"]
    lines = [_row(header), _row(["---"] * len(header))]
    for seed in sorted({seed for variant, seed in runs if variant == "fame" and ("sasrec", seed) in runs}):
        sasrec, fame = runs[("sasrec", seed)], runs[("fame", seed)]
        if not all("validation_ndcg@10_by_epoch_seen_excluded" in r for r in (sasrec, fame)):
            raise click.ClickException(f"seed {seed} of {name}: the runs have no validation curve with seen items "
                                       "excluded (written before the reproduction benchmark recorded it)")
        every = {r["config"]["eval_every"] for r in (sasrec, fame)}
        if len(every) > 1:
            raise click.ClickException(f"seed {seed}: the runs evaluate at different intervals {every}")
        every = every.pop()
        pair = (sasrec, fame)
        lines.append(_row([seed, *(_epochs_above(fame[key], sasrec[key], every)
                                   for key in ("validation_ndcg@10_by_epoch",
                                               "validation_ndcg@10_by_epoch_seen_excluded")),
                           ", ".join(str(r["best_epoch"]) for r in pair),
                           ", ".join(f"{r['validation']['seen_excluded']['ndcg@10']:.4f}" for r in pair),
                           ", ".join(f"{r['test']['seen_excluded']['ndcg@10']:.4f}" for r in pair)]))
    return "\n".join(lines)


def versus_table(name: str, seed: int, reference: str = "fame", against=None, suffix: str = "") -> str:
    """One row per run of bench/results/quality/reproduce-<name>.json with ``seed``, beside a reference run of the same
    seed: the ``reference`` variant of the same file (an ablation against the model it ablates), or,
    with ``against``, the same variant in bench/results/quality/reproduce-<against>.json (a changed setting against the
    runs without it; ``suffix``: the reference variant is the run's without it, e.g. ``fame`` for
    ``fame-attributes``). Test NDCG@10 of the selected model under both protocols with their ratios, and
    what each run cost."""
    runs = [r for r in _reproduction(name)["runs"] if r["seed"] == seed]
    pool = _reproduction(against)["runs"] if against else runs
    references = {r["variant"]: r for r in pool if r["seed"] == seed}
    def base(variant):
        return variant[:-len(suffix)] if suffix and variant.endswith(suffix) else variant

    rows = [(run, references.get(base(run["variant"]) if against else reference)) for run in runs
            if against or run["variant"] != reference]
    if not rows:
        raise click.ClickException(f"bench/results/quality/reproduce-{name}.json has no run of seed {seed} to compare")
    missing = sorted({base(run["variant"]) if against else reference for run, ref in rows if ref is None})
    if missing:
        raise click.ClickException(f"bench/results/quality/reproduce-{against or name}.json has no run of seed {seed} "
                                   f"of {', '.join(missing)} to compare with")
    kept_only = sorted({r["variant"] for pair in rows for r in pair if "seen_excluded" not in r["test"]})
    if kept_only:
        raise click.ClickException(f"seed {seed}: the runs of {', '.join(kept_only)} have no test metrics with "
                                   "seen items excluded (written before the reproduction benchmark recorded them)")
    header = ["run", "reference", "val NDCG@10 kept (run / ref.)", "test NDCG@10 kept (run / ref., ratio)",
              "test NDCG@10 excluded (run / ref., ratio)", "best epoch / epochs (run; ref.)",
              "min to best (run / ref.)", "s/epoch (run / ref.)"]
    lines = [_row(header), _row(["---"] * len(header))]

    def test(run, ref, protocol):
        ours, theirs = (_stat(r["test"], protocol) for r in (run, ref))
        return f"{ours:.4f} / {theirs:.4f}, x{ours / theirs:.3f}"

    notes = []
    for run, ref in rows:
        if _machine(run) != _machine(ref):
            notes.append(f"`{run['variant']}` trained on {_machine(run)}, its reference on {_machine(ref)}: "
                         "their minutes and seconds per epoch are not comparable.")
        label = (f"`{ref['variant']}` ({against})" if against else f"`{ref['variant']}`")
        lines.append(_row([f"`{run['variant']}`", label,
                           f"{run['validation']['ndcg@10']:.4f} / {ref['validation']['ndcg@10']:.4f}",
                           test(run, ref, "kept"), test(run, ref, "excluded"),
                           "; ".join(f"{r['best_epoch']} / {r['epochs']}" for r in (run, ref)),
                           " / ".join(_minutes_to_best(r) for r in (run, ref)),
                           " / ".join(_seconds_per_epoch(r) for r in (run, ref))]))
    return "\n".join(lines + [""] * bool(notes) + notes)


PEER_TIME_SHARE = 1 / 3  # the target: ours reaches the peer's best validation score in at most this share of its time


def peer_table(name: str, ours: str, seed: int = 1) -> str:
    """Stock RecBole SASRec (bench/results/quality/recbole_peer-<name>.json) beside our SASRec of ``seed``
    trained alone on the same machine (reproduce-<ours>.json): best validation NDCG@10 with seen items
    kept (RecBole's protocol) and the time to it, test NDCG@10 under both protocols, and the time our
    SASRec takes to first reach RecBole's best validation score against RecBole's own time to it."""
    peer = _load(f"recbole_peer-{name}")
    runs = [r for r in _reproduction(ours)["runs"] if r["variant"] == "sasrec" and r["seed"] == seed]
    if not runs or not runs[0].get("seconds_by_epoch"):
        raise click.ClickException(f"reproduce-{ours}.json has no SASRec run of seed {seed} with its time per epoch")
    run = runs[0]
    header = ["system", "machine", "best val NDCG@10 (kept)", "best epoch / epochs", "min to best", "s/epoch",
              "test NDCG@10 kept / excluded"]
    rows = [("stock RecBole 1.2.1 SASRec (CE, seed %d)" % peer["seed"], _machine(peer),
             peer["best_validation_ndcg@10"], peer["best_epoch"], peer["epochs"], peer["seconds_to_best_epoch"],
             peer["train_seconds"] / peer["epochs"], peer["test"]),
            (f"fame-tf SASRec (seed {seed}, trained alone)", _machine(run), run["validation"]["ndcg@10"],
             run["best_epoch"], run["epochs"], run["seconds_to_best_epoch"], run["train_seconds"] / run["timed_epochs"],
             run["test"])]
    lines = [_row(header), _row(["---"] * len(header))]
    for label, where, best, epoch, epochs, to_best, per_epoch, test in rows:
        lines.append(_row([label, where, f"{best:.4f}", f"{epoch} / {epochs}", f"{to_best / 60:.0f}",
                           f"{per_epoch:.0f}", _protocols(test)]))
    target = peer["best_validation_ndcg@10"]
    every = run["config"]["eval_every"]
    reached = [(i * every, seconds) for i, (score, seconds) in
               enumerate(zip(run["validation_ndcg@10_by_epoch"], run["seconds_by_epoch"]), 1) if score >= target]
    lines.append("")
    if _machine(run) != _machine(peer):
        lines.append(f"The runs trained on different machines ({_machine(peer)}; {_machine(run)}): their times are "
                     "not comparable.")
    elif not reached:
        lines.append(f"Our SASRec never reached RecBole's best validation NDCG@10 ({target:.4f}): target **not met**.")
    else:
        epoch, seconds = reached[0]
        share = seconds / peer["seconds_to_best_epoch"]
        lines.append(f"Our SASRec first reached RecBole's best validation NDCG@10 ({target:.4f}) at epoch {epoch}, "
                     f"after {seconds / 60:.1f} min: x{share:.2f} of RecBole's {peer['seconds_to_best_epoch'] / 60:.1f} "
                     f"min to it (target ≤ x{PEER_TIME_SHARE:.2f}: {_mark(share <= PEER_TIME_SHARE)}).")
    return "\n".join(lines)


KNOCKOUTS = ("router uniform", "experts identical", "last attention uniform", "every attention uniform", "gate uniform")


def knockouts_table() -> str:
    """One row per run of bench/results/analysis/knockouts.json: validation NDCG@10 (seen kept) and test
    NDCG@10 (seen excluded) of the trained model and after each knock-out (— where it does not apply),
    and the normalised entropy of each layer's attention at the last position (1: uniform)."""
    result = _load("knockouts")
    header = ["run", "variant", "heads x experts", "expert query cosine", "attention entropy per layer", "trained",
              *KNOCKOUTS]
    lines = [_row(header), _row(["---"] * len(header))]

    def cell(measured):
        if measured is None:
            return "—"
        return f"{measured['validation']['seen_kept']:.4f} / {measured['test']['seen_excluded']:.4f}"

    for run, row in sorted(result.items()):
        variant = row.get("variant", "fame")
        if variant == "fame":
            shape = f"{row['heads']} x {row['experts']}"
        else:
            shape = f"{row['heads']} head" + "s" * (row["heads"] > 1)
        cosines = [c for c in row.get("expert_query_cosine_per_head") or [] if c is not None]
        entropy = ", ".join(f"{layer['normalised_entropy']:.2f}" for layer in row.get("attention_per_layer", []))
        lines.append(_row([f"`{run}`", variant, shape, ", ".join(f"{c:.2f}" for c in cosines) or "—", entropy or "—",
                           cell(row["trained"]), *(cell(row.get(name)) for name in KNOCKOUTS)]))
    return "\n".join(lines)


def attributes_table() -> str:
    """One row per view (fused score, each FAME head) of each run in
    bench/results/analysis/attribute_concentration.json: the mean share of a top-10 list's dominant
    attribute, the same with shuffled attributes, their ratio, and the most often dominant attributes."""
    result = _load("attribute_concentration")
    lines = [_row(["run", "variant", "attribute loss", "head loss", "view", "dominant attribute's share", "shuffled",
                   "ratio", "most often dominant (share of users)"]), _row(["---"] * 9)]
    for run, row in sorted(result.items()):
        for view, measured in row["views"].items():
            top = ", ".join(f"{a['attribute']} ({a['rows']:.2f})" for a in measured["top_attributes"][:3])
            lines.append(_row([f"`{run}`", row["variant"], row["attribute_loss_weight"], row["head_loss_weight"], view,
                               f"{measured['share']:.3f}", f"{measured['shuffled_share']:.3f}",
                               f"{measured['share'] / measured['shuffled_share']:.2f}", top]))
    return "\n".join(lines)


def planted_table() -> str:
    """One row per view of each setting and seed of bench/results/analysis/planted_facets.json: the
    share of colour users and of shape users whose top-10 list is dominated by their planted
    attribute (chance: about 1 in 8), and the dominant attribute's share against shuffled attributes."""
    result = _load("planted_facets")
    lines = [_row(["setting", "seed", "view", "colour users recovered", "shape users recovered",
                   "dominant attribute's share / shuffled"]), _row(["---"] * 6)]
    for run in result["runs"]:
        for view, recovered in run["recovered"].items():
            share = run["share"][view]
            lines.append(_row([run["setting"], run["seed"], view, f"{recovered['colour_users']:.2f}",
                               f"{recovered['shape_users']:.2f}", f"{share['share']:.2f} / {share['shuffled']:.2f}"]))
    return "\n".join(lines)


def _run_label(path: str) -> str:
    """A trained run by its directory under bench/work/."""
    return f"`{path.split('bench/work/', 1)[-1]}`"


def facet_weights_table() -> str:
    """Gate and router statistics of trained FAME runs: bench/results/analysis/facet_weights.json."""
    result = _load("facet_weights")
    lines = [_row(["run", "heads x experts", "mean gate weight per head", "largest gate weight (mean)",
                   "gate entropy", "router entropy", "test users"]), _row(["---"] * 7)]
    for path, row in sorted(result.items()):
        router = "— (one expert)" if row["experts"] == 1 else f"{row['router_normalised_entropy']:.3f}"
        lines.append(_row([_run_label(path), f"{row['heads']} x {row['experts']}",
                           ", ".join(f"{w:.2f}" for w in row["gate_mean_per_head"]),
                           f"{row['gate_largest_weight_mean']:.3f}", f"{row['gate_normalised_entropy']:.3f}",
                           router, f"{row['users']:,}"]))
    return "\n".join(lines)


def seen_items_table() -> str:
    """How many of the user's own items each run ranks above the test target:
    bench/results/analysis/seen_items.json."""
    result = _load("seen_items")
    header = ["run", "test users", "targets the user already has", "test NDCG@10, seen kept",
              "test NDCG@10, seen excluded", "NDCG@10 lost to seen items", "seen items above the target (mean)",
              "users with a seen item above the target"]
    lines = [_row(header), _row(["---"] * len(header))]
    for path, row in sorted(result.items()):
        kept, excluded = row["ndcg@10_seen_kept"], row["ndcg@10_seen_excluded"]
        lines.append(_row([_run_label(path), f"{row['users']:,}", f"{row['repeat_targets']:.0%}", f"{kept:.4f}",
                           f"{excluded:.4f}", f"{1 - kept / excluded:.0%}", f"{row['seen_items_above_target_mean']:.2f}",
                           f"{row['users_with_a_seen_item_above_target']:.1%}"]))
    return "\n".join(lines)


def startup_table() -> str:
    """Whole-process start-up of each command's ``--help``: bench/results/performance/cli_startup.json."""
    result = _load("cli_startup")
    ratio = "ratio_to_python -c 'import tensorflow'"
    lines = [_row(["command", "median wall", "min–max", "bytes on stderr",
                   "ratio to `python -c 'import tensorflow'`"]), _row(["---"] * 5)]
    for name, row in result["commands"].items():
        lines.append(_row([f"`{name}`", f"{row['median_seconds']:.3f} s",
                           f"{row['min_seconds']:.3f}–{row['max_seconds']:.3f} s", row["stderr_bytes"],
                           f"{row[ratio]:.3f}"]))
    return "\n".join(lines)


def multi_worker_table() -> str:
    """One process against two workers on 127.0.0.1: bench/results/performance/multi_worker.json."""
    result = _load("multi_worker")
    one, two = result["single_process"], result["two_workers_loopback"]
    key = "validation_ndcg@10_after_two_epochs"
    steps = 2 * result["steps_per_epoch"]
    return "\n".join([
        _row(["", "training examples/s", f"validation NDCG@10 after {steps} steps (seen kept)"]), _row(["---"] * 3),
        _row(["one process", f"{one['examples_per_second']:,.0f}", f"{one[key]:.4f}"]),
        _row(["two workers on 127.0.0.1", f"{two['examples_per_second']:,.0f} ({result['two_over_one_throughput']:.2f}x)",
              f"{two[key]:.4f}"])])


SERVING_LABELS = {"train": "`fame-tf train` default", "pipeline": "pipeline default"}


def _settings(result: dict) -> str:
    shape = result["model_settings"]
    return (f"d={shape['hidden_size']}, {shape['num_layers']} layers, H={shape['num_heads']} x N={shape['num_experts']}, "
            f"FFN x{shape['ffn_multiplier']}, {result['catalogue_items']:,} items, top {result['k']}")


def _serving_machine(result: dict) -> str:
    machine = result["machine_before"]
    return f"{machine.get('cpu_model') or machine.get('cpu', 'CPU unrecorded')}, {machine['cpus']} cores"


def serving_table() -> str:
    """One column per default model: in-process and REST latency, measured by `python -m bench
    serving-inprocess` and `serving-rest` with ``--model train`` and ``--model pipeline``."""
    models = [(name, label, _load(f"serving_inprocess-{name}"), _load(f"serving_rest-{name}"))
              for name, label in SERVING_LABELS.items()]
    lines = [_row(["measurement"] + [label for _, label, _, _ in models]), _row(["---"] * (1 + len(models))),
             _row(["model"] + [_settings(local) for _, _, local, _ in models]),
             _row(["in-process, 1 request (p50 / p99)"] + [
                 f"{local['single_request']['p50_ms']:.1f} / {local['single_request']['p99_ms']:.1f} ms"
                 for _, _, local, _ in models]),
             _row(["in-process, batch 256"] + [
                 f"{local['batch_256']['ms_per_batch']:.0f} ms/batch, {local['batch_256']['histories_per_second']:.0f} "
                 "histories/s" for _, _, local, _ in models])]
    for key, label in (("concurrency_1", "REST, concurrency 1"), ("concurrency_8", "REST, concurrency 8"),
                       ("concurrency_8_with_version_push", "REST, concurrency 8, new version pushed mid-run")):
        cells = []
        for _, _, _, rest in models:
            phase = rest[key]
            cell = (f"{phase['p50_ms']:.1f} / {phase['p99_ms']:.1f} ms, {phase['requests_per_second']:.0f} req/s, "
                    f"{phase['errors']} errors")
            if "new_version_served_after_seconds" in phase:
                cell += f" (served {phase['new_version_served_after_seconds']:.1f} s after the push)"
            cells.append(cell)
        lines.append(_row([f"{label} (p50 / p99)"] + cells))
    lines.append(_row(["machine"] + [_serving_machine(rest) for _, _, _, rest in models]))
    loads = [f"{run[key]['load_average_1_5_15'][0]:.1f}" for _, _, local, rest in models for run in (local, rest)
             for key in ("machine_before", "machine_after")]
    lines.append("")
    lines.append(f"1-minute load average before/after each run: {', '.join(loads)}.")
    return "\n".join(lines)


def soak_table() -> str:
    """One row per default model: the soak of `python -m bench serving-soak` ``--model train`` / ``--model pipeline``."""
    lines = [_row(["model", "settings", "phases", "requests", "errors", "p50 (median over phases)", "worst phase p99",
                   "corrupt version", "server RSS after warm-up / at end", "machine"]), _row(["---"] * 10)]
    for name, label in SERVING_LABELS.items():
        result = _load(f"serving_soak-{name}")
        phases = result["phases"]
        p50 = sorted(p["p50_ms"] for p in phases)[len(phases) // 2]
        lines.append(_row([label, _settings(result), f"{len(phases)} x {result['phase_seconds']:.0f} s",
                           result["requests"], result["errors"], f"{p50:.1f} ms",
                           f"{max(p['p99_ms'] for p in phases):.1f} ms", result["corrupt_version_state"],
                           f"{result['rss_after_warm_up_mib']:.0f} / {result['rss_at_end_mib']:.0f} MiB "
                           f"({100 * result['rss_growth_after_warm_up']:+.1f}%)", _serving_machine(result)]))
    return "\n".join(lines)


def pipeline_table() -> str:
    result = _load("pipeline_beauty")
    lines = [_row(["component", "wall time (s)"]), _row(["---"] * 2)]
    lines += [_row([name, f"{node['seconds']:.1f}"]) for name, node in result["components"].items()]
    seconds = result["command_seconds"]
    lines.append(_row(["**whole command**", f"**{seconds:.0f} ({seconds / 60:.1f} min)**"]))
    measured = result["evaluation"]["metrics"]
    split = {"test": "Test", "eval": "Validation"}[result["evaluation"].get("split", "test")]  # test: before the split was named
    lines.append("")
    lines.append(f"{split} HR@10 {measured['hr@10']:.4f}, NDCG@10 {measured['ndcg@10']:.4f}; "
                 f"{'BLESSED' if result['blessed'] else 'not blessed'}, pushed: {result['pushed']}; "
                 f"1-minute load average at the end {_load_average(result['machine']):.1f}.")
    return "\n".join(lines)


def _load_average(machine: dict) -> float:
    """The 1-minute load average a result recorded (``bench.common.machine``, or older results' own)."""
    return (machine.get("load_average_1_5_15") or machine["load_average_at_end"])[0]


def _timing(measured: dict) -> str:
    return f"{measured['p50_ms']:.2f} / {measured['p99_ms']:.2f}"


def large_catalogue_table() -> str:
    result = _load("large_catalogue")
    lines = [_row(["items", "full / sampled softmax step", "sampled step (s)", "test HR@10 before / after",
                   "TF Serving export p50 / p99 (ms)", "brute-force index p50 / p99 (ms)",
                   "ScaNN (default) recall@10", "ScaNN p50 / p99 (ms)", "ScaNN end to end p50 / p99 (ms)"]),
             _row(["---"] * 9)]
    for size, phases in sorted(result.items(), key=lambda kv: int(kv[0])):
        train, measured = phases.get("train"), phases.get("measure")
        if not train or not measured:
            continue
        scann = next(row for row in measured["scann"] if row["default"])
        lines.append(_row([
            f"{int(size):,}", f"{train['full_over_sampled_step']:.1f}x",
            f"{train['step_seconds_side_by_side']['sampled_softmax']:.3f}",
            f"{train['test_seen_kept_before_training']['hr@10']:.4f} / {train['test_seen_kept_after_training']['hr@10']:.4f}",
            _timing(measured["tf_serving_export_in_process"]), _timing(measured["brute_force_index"]),
            f"{scann['recall@10']:.3f}", _timing(scann), _timing(measured["scann_default_end_to_end"])]))
    return "\n".join(lines)


def timed_components(sizes) -> list:
    """Components of the scale benchmark's sizes that took at least a second at some size (the others
    are bookkeeping)."""
    return [name for name in sizes[0]["components"] if max(s["components"][name]["seconds"] for s in sizes) >= 1]


def scale_table() -> str:
    result = _load("scale")
    sizes = sorted(result["sizes"].values(), key=lambda s: s["interactions"])
    lines = [_row(["component", *(f"{s['factor']}x: s / peak MiB (driver + workers)" for s in sizes), "s per 1M interactions",
                   "ML-20M estimate (s)"]), _row(["---"] * (len(sizes) + 3))]
    fit = result.get("extrapolation_to_ml20m", {})
    timed = timed_components(sizes)
    quick = [name for name in sizes[0]["components"] if name not in timed]
    for name in timed:
        cells = []
        for s in sizes:
            node = s["components"][name]
            peak = f"{node['peak_rss_mib']:.0f}" if node["peak_rss_mib"] is not None else "–"
            if node.get("peak_driver_mib") is not None:
                peak += f" ({node['peak_driver_mib']:.0f} + {node['peak_workers_mib']:.0f})"
            cells.append(f"{node['seconds']:.1f} / {peak}")
        line = fit.get(name, {})
        lines.append(_row([name, *cells, f"{line.get('seconds_per_million_interactions', 0):.1f}",
                           f"{line.get('ml20m_seconds', 0):.0f}"]))
    whole = fit.get("whole command", {})
    lines.append(_row(["**whole command**", *(f"**{s['command_seconds']:.0f} / {s['peak_rss_mib']:.0f}**" for s in sizes),
                       f"{whole.get('seconds_per_million_interactions', 0):.1f}", f"{whole.get('ml20m_seconds', 0):.0f}"]))
    lines.append("")
    lines.append("Sizes: " + "; ".join(f"{s['factor']}x = {s['users']:,} users, {s['interactions']:,} interactions"
                                       for s in sizes) + f"; {sizes[0]['items']:,} items, {sizes[0]['training_steps']} training steps. "
                 f"Under a second at every size: {', '.join(quick)}.")
    return "\n".join(lines)


@click.group()
def main():
    """Result tables of the docs, from the committed results files."""


@main.command()
@click.argument("names", nargs=-1, required=True)
@click.option("--variants", default="", help="Comma-separated variants to show (default: all).")
def reproduce(names, variants):
    """Reproduction table of bench/results/quality/reproduce-<NAME>.json files (e.g. beauty sports)."""
    click.echo(reproduce_table(names, [v for v in variants.split(",") if v]))


@main.command()
@click.argument("names", nargs=-1, required=True)
def headline(names):
    """SASRec and FAME under both protocols, mean ± std over seeds, from reproduce-<NAME>.json files."""
    click.echo(headline_table(names))


@main.command()
@click.argument("name")
@click.option("--seed", type=int, required=True, help="The seed whose runs are compared.")
@click.option("--reference", default="fame", show_default=True,
              help="The variant of NAME each other run of the seed is set against.")
@click.option("--against", default=None,
              help="Set each run against the same variant and seed in bench/results/quality/reproduce-<AGAINST>.json instead.")
@click.option("--suffix", default="", help="With --against: the reference variant is the run's without this suffix.")
def versus(name, seed, reference, against, suffix):
    """Runs of one seed of bench/results/quality/reproduce-<NAME>.json against a reference run (ablations, changed settings)."""
    click.echo(versus_table(name, seed, reference, against, suffix))


@main.command()
@click.argument("names", nargs=-1, required=True)
def targets(names):
    """The quality targets, met or not, from bench/results/quality/reproduce-<NAME>.json files (e.g. beauty sports)."""
    click.echo(targets_table(names))


@main.command()
@click.argument("name")
def curves(name):
    """FAME against SASRec of the same seed along training, from bench/results/quality/reproduce-<NAME>.json."""
    click.echo(curves_table(name))


@main.command()
@click.argument("name")
def tuning(name):
    """Trials of the search in bench/results/quality/tune-<NAME>.json (e.g. beauty)."""
    click.echo(tuning_table(name))


@main.command()
@click.argument("name")
@click.option("--ours", required=True, help="The reproduction results with our SASRec trained alone, e.g. beauty-alone.")
@click.option("--seed", default=1, show_default=True, help="The seed of our SASRec run.")
def peer(name, ours, seed):
    """Stock RecBole SASRec (bench/results/quality/recbole_peer-<NAME>.json) against our SASRec trained alone."""
    click.echo(peer_table(name, ours, seed))


# Tables of one results file that take no arguments: command -> (what it shows, its renderer).
FIXED_TABLES = {
    "knockouts": ("Knock-outs of trained models in bench/results/analysis/knockouts.json.", knockouts_table),
    "attributes": ("Attribute concentration of trained models' top-10 lists: "
                   "bench/results/analysis/attribute_concentration.json.", attributes_table),
    "planted": ("Planted-facet recovery per loss setting and view: bench/results/analysis/planted_facets.json.",
                planted_table),
    "facet-weights": ("Gate and router statistics of trained FAME runs: bench/results/analysis/facet_weights.json.",
                      facet_weights_table),
    "seen-items": ("The user's own items ranked above the test target: bench/results/analysis/seen_items.json.",
                   seen_items_table),
    "startup": ("Start-up of each command's --help as a whole process: bench/results/performance/cli_startup.json.",
                startup_table),
    "multi-worker": ("One process against two workers on 127.0.0.1: bench/results/performance/multi_worker.json.",
                     multi_worker_table),
    "serving": ("Latency of each default model: bench/results/performance/serving_inprocess-*.json and "
                "serving_rest-*.json.", serving_table),
    "soak": ("The serving soak of each default model: bench/results/performance/serving_soak-*.json.", soak_table),
    "pipeline": ("Component times and outcome of bench/results/performance/pipeline_beauty.json.", pipeline_table),
    "large": ("Large-catalogue training, serving and index table of bench/results/performance/large_catalogue.json.",
              large_catalogue_table),
    "scale": ("Per-component time and memory against data size from bench/results/performance/scale.json.",
              scale_table),
}
for _name, (_help, _render) in FIXED_TABLES.items():
    main.command(name=_name, help=_help)(lambda render=_render: click.echo(render()))


def options_table(command: str) -> str:
    """Every option of ``fame-tf COMMAND`` (e.g. ``train``, ``pipeline run``) as the command line
    declares it (generated from ``FameConfig`` and ``DataOptions``): names, values, default, help."""
    from fame_cli import main as cli

    found = cli
    for word in command.split():
        found = found.commands.get(word) if isinstance(found, click.Group) else None
        if found is None:
            raise click.ClickException(f"fame-tf has no command {command!r}")
    lines = [_row(["option", "values", "default", "meaning"]), _row(["---"] * 4)]
    for param in found.params:
        if not isinstance(param, click.Option) or param.hidden:
            continue
        names = " / ".join(f"`{name}`" for name in param.opts + param.secondary_opts)
        if param.is_flag and not param.secondary_opts:
            values = "flag"
        elif isinstance(param.type, click.Choice):
            values = ", ".join(f"`{choice}`" for choice in param.type.choices)
        else:
            values = param.type.name
        meaning = " ".join((param.help or "").split())
        shown = re.search(r"\s*\[default: ([^\]]*)\]\s*$", meaning)  # options generated from the config say theirs
        if param.required:
            default = "required"
        elif shown:
            default, meaning = shown.group(1), meaning[:shown.start()]
        elif isinstance(param.default, (str, int, float)) and not param.is_flag:
            default = f"`{param.default}`"
        else:
            default = ""
        meaning = meaning.replace("|", "\\|")
        lines.append(_row([names, values, default, meaning]))
    return "\n".join(lines)


# A generated table in a Markdown file: the command between the markers renders its body.
BLOCK = re.compile(r"(<!-- table: python -m bench tables (?P<args>[^>]*?) -->\n)(?P<body>.*?)(<!-- end table -->)", re.S)


def render(args: str) -> str:
    """What ``python -m bench tables ARGS`` prints."""
    output = io.StringIO()
    with contextlib.redirect_stdout(output):
        main.main(shlex.split(args), standalone_mode=False)
    return output.getvalue()


def stale_blocks(path: str, write: bool = False) -> list:
    """The generated tables of a Markdown file that differ from what their command prints now (their
    commands); with ``write``, the file is rewritten with every table re-rendered."""
    with open(path, encoding="utf-8") as handle:
        text = handle.read()
    stale = []

    def refresh(match):
        body = render(match["args"])
        if body != match["body"]:
            stale.append(match["args"])
        return match.group(1) + body + match.group(4)

    updated = BLOCK.sub(refresh, text)
    if write and updated != text:
        with open(path, "w", encoding="utf-8") as handle:
            handle.write(updated)
    return stale


def markdown_files() -> list:
    docs = os.path.join(ROOT, "docs")
    found = [os.path.join(ROOT, "README.md")]
    for directory, _, names in os.walk(docs):
        found += sorted(os.path.join(directory, n) for n in names if n.endswith(".md"))
    return found


@main.command()
@click.argument("command", nargs=-1, required=True)
def options(command):
    """Every option of `fame-tf COMMAND` (e.g. train; pipeline run) as a Markdown table."""
    click.echo(options_table(" ".join(command)))


@main.command()
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False))
@click.option("--check", is_flag=True, help="Change nothing; exit 1 if a table differs from its results.")
def sync(files, check):
    """Re-render every table marked `<!-- table: python -m bench tables ARGS -->` ... `<!-- end table -->`
    in FILES [default: README.md and docs/**/*.md] from the results files."""
    stale = {path: stale_blocks(path, write=not check) for path in files or markdown_files()}
    for path, commands in stale.items():
        for args in commands:
            click.echo(f"{os.path.relpath(path, ROOT)}: `python -m bench tables {args}` "
                       f"{'differs from its results' if check else 're-rendered'}")
    if check and any(stale.values()):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
