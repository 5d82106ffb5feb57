"""PNG charts of runs and benchmarks (matplotlib, drawn off-screen). Each function takes plain
numbers, writes one file and returns its path, so the command line and the benchmarks share them."""

from __future__ import annotations

from typing import Dict, List, Mapping, Optional, Sequence, Tuple

import numpy as np

from fame_tf.protocols import EXCLUDED, KEPT

PROTOCOL_TITLES = {KEPT: "seen items kept", EXCLUDED: "seen items excluded"}
LINE_STYLES = ("-", "--", ":", "-.")


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")  # no display; also safe in servers and CI
    import matplotlib.pyplot as plt

    return plt


def _save(figure, path: str) -> str:
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    _pyplot().close(figure)
    return path


def run_styles(names: Sequence[str], groups: Optional[Mapping[str, str]] = None) -> Dict[str, Tuple[int, str]]:
    """(colour index, line style) per run: one colour per group in order of first appearance, the
    line styles cycling within a group; without groups every run is its own group."""
    groups = groups or {name: name for name in names}
    colours: Dict[str, int] = {}
    members: Dict[str, int] = {}
    styles = {}
    for name in names:
        group = groups[name]
        colours.setdefault(group, len(colours))
        styles[name] = (colours[group], LINE_STYLES[members.get(group, 0) % len(LINE_STYLES)])
        members[group] = members.get(group, 0) + 1
    return styles


def validation_curves(histories: Mapping[str, List[dict]], path: str, metric: str = "ndcg@10",
                      groups: Optional[Mapping[str, str]] = None, selected: Optional[Mapping[str, int]] = None) -> str:
    """``metric`` per epoch for each run (``metrics.json``'s ``validation_history``), one panel per
    protocol. A marker on each run's ``selected`` epoch (its ``best_epoch``: the same epoch in both
    panels, since one protocol selects it), else on each curve's maximum. Runs given the same
    ``groups`` entry (a variant's seeds) share a colour and differ in line style, so many runs still
    read as a few variants."""
    plt = _pyplot()
    styles = run_styles(list(histories), groups)
    figure, axes = plt.subplots(1, 2, figsize=(11, 4), sharex=True)
    for axis, protocol in zip(axes, PROTOCOL_TITLES):
        for name, history in histories.items():
            epochs = [row["epoch"] for row in history]
            values = [row[metric] if protocol == KEPT else row[EXCLUDED][metric] for row in history]
            colour_index, style = styles[name]
            colour = plt.get_cmap("tab10").colors[colour_index % 10]
            axis.plot(epochs, values, label=name, linewidth=1.5, color=colour, linestyle=style)
            best = epochs.index(selected[name]) if selected else int(np.argmax(values))
            axis.plot(epochs[best], values[best], "o", color=colour)
        axis.set(title=f"validation {metric.upper()}, {PROTOCOL_TITLES[protocol]}", xlabel="epoch", ylabel=metric)
        axis.grid(alpha=0.3)
    axes[0].legend(fontsize=8)
    return _save(figure, path)


def facet_distributions(gate: np.ndarray, router_entropy: np.ndarray, path: str, title: str) -> str:
    """Left: the gate weight of each head over users [U, H] (1/H drawn for reference). Right: the
    normalised entropy of each head's router over users [U, H] (1 = uniform over experts)."""
    plt = _pyplot()
    heads = gate.shape[1]
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    left.violinplot([gate[:, h] for h in range(heads)], showmedians=True)
    left.axhline(1.0 / heads, color="grey", linestyle="--", linewidth=1, label="uniform 1/H")
    left.set(title=f"gate weight per head ({len(gate)} test users)", xlabel="head", ylabel="gate weight",
             xticks=range(1, heads + 1))
    left.legend(fontsize=8)
    if np.any(router_entropy):
        right.hist([router_entropy[:, h] for h in range(heads)], bins=30, range=(0, 1),
                   label=[f"head {h + 1}" for h in range(heads)], histtype="step", linewidth=1.5)
        right.legend(fontsize=8)
    else:
        right.text(0.5, 0.5, "one expert per head: no router", ha="center", va="center")
    right.set(title="router entropy per head (1 = uniform over experts)", xlabel="normalised entropy",
              ylabel="users")
    figure.suptitle(title)
    return _save(figure, path)


def explanation(items: Sequence[str], parts: np.ndarray, gate: np.ndarray, path: str, title: str) -> str:
    """One user's top items: each head's part of the item's score, stacked ([k, H]; parts can be
    negative), and the user's gate over heads."""
    plt = _pyplot()
    k, heads = parts.shape
    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 0.5 * k + 2.5), gridspec_kw={"width_ratios": [3, 1]})
    rows = np.arange(k)[::-1]  # the best item on top
    positive, negative = np.zeros(k), np.zeros(k)
    colours = plt.get_cmap("tab10").colors
    for h in range(heads):
        values = parts[:, h]
        starts = np.where(values >= 0, positive, negative)
        left.barh(rows, values, left=starts, color=colours[h % 10], label=f"head {h + 1}")
        positive += np.maximum(values, 0)
        negative += np.minimum(values, 0)
    left.plot(parts.sum(1), rows, "k|", markersize=14, label="score")
    left.set(yticks=rows, yticklabels=list(items), xlabel="part of the score", title="why these items")
    left.axvline(0, color="grey", linewidth=0.8)
    left.legend(fontsize=8, loc="lower right")
    right.bar(np.arange(1, heads + 1), gate, color=[colours[h % 10] for h in range(heads)])
    right.set(title="gate", xlabel="head", ylabel="weight", xticks=range(1, heads + 1), ylim=(0, 1))
    figure.suptitle(title)
    return _save(figure, path)


def lines(series: Mapping[str, Dict[float, float]], path: str, title: str, xlabel: str, ylabel: str,
          log_x: bool = False) -> str:
    """Curves of y over x, one per series (cost vs size, latency percentiles)."""
    plt = _pyplot()
    figure, axis = plt.subplots(figsize=(6.5, 4))
    for name, points in series.items():
        xs = sorted(points)
        axis.plot(xs, [points[x] for x in xs], "o-", label=name)
    if log_x:
        axis.set_xscale("log")
    axis.set(title=title, xlabel=xlabel, ylabel=ylabel)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    return _save(figure, path)


def attribute_concentration(measured: Mapping[str, Mapping], path: str, title: str) -> str:
    """Per view (fused score, each head; ``explain.attribute_concentration``): the mean share of its
    top-K lists' dominant attribute, beside the same with the attributes dealt to other items."""
    plt = _pyplot()
    views = list(measured)
    x = np.arange(len(views))
    figure, axis = plt.subplots(figsize=(1.4 * len(views) + 3, 4))
    axis.bar(x - 0.2, [measured[v]["share"] for v in views], 0.4, label="attributes")
    axis.bar(x + 0.2, [measured[v]["shuffled_share"] for v in views], 0.4, color="grey", label="shuffled attributes")
    axis.set(xticks=x, xticklabels=views, ylim=(0, 1), ylabel="dominant attribute's share of a top list",
             title=title)
    axis.legend(fontsize=8)
    return _save(figure, path)


def attribute_table(measured: Mapping[str, Mapping]) -> str:
    """A Markdown table of ``explain.attribute_concentration``: per view, the dominant attribute's
    share, its shuffled baseline and the attributes that dominate most users' lists."""
    rows = ["| view | dominant attribute's share | shuffled attributes | most often dominant (share of users) |",
            "|---|---|---|---|"]
    for view, values in measured.items():
        top = ", ".join(f"{a['attribute']} ({a['rows']:.2f})" for a in values["top_attributes"])
        rows.append(f"| {view} | {values['share']:.3f} | {values['shuffled_share']:.3f} | {top} |")
    return "\n".join(rows) + "\n"
