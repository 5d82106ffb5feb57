"""How trained FAME models use their heads and experts: gate and router weights on test histories.

For each run directory (of `fame-tf train` or `python -m bench reproduce`) this measures the mean gate weight
of each head, the mean largest gate weight, and the normalised entropy (1 = uniform, 0 = one-hot) of
the gate and of the routers; prints them and merges them into bench/results/analysis/facet_weights.json.

    python -m bench facet-weights bench/work/beauty/fame-seed0 bench/work/sports/fame-seed0
"""

from __future__ import annotations

import click

from bench.analysis.runs import finished_run, measure_runs


def measure(run_dir: str, users: int, batch_size: int = 500) -> dict:
    from fame_tf import explain, runs

    metrics, split = finished_run(run_dir)
    config = metrics["config"]
    model, _ = runs.load(run_dir)
    history = split.test_history[:users]
    try:
        weights = explain.facet_weights(model, history, batch_size)
    except ValueError as error:  # not a FAME run
        raise click.ClickException(f"{run_dir}: {error}") from error
    gate, router = weights["gate"], weights["router"]
    return {
        "users": len(history), "heads": config["num_heads"], "experts": config["num_experts"],
        "gate_mean_per_head": [round(float(w), 4) for w in gate.mean(0)],
        "gate_largest_weight_mean": float(gate.max(-1).mean()),
        "gate_normalised_entropy": float(explain.normalised_entropy(gate).mean()),
        "router_largest_weight_mean": float(router.max(-1).mean()),
        "router_normalised_entropy": float(explain.normalised_entropy(router).mean()),
    }


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
@click.option("--users", default=5000, show_default=True, help="Test histories measured per run.")
def main(runs, users):
    measure_runs(runs, lambda run: measure(run, users), "facet_weights")


if __name__ == "__main__":
    main()
