"""Where a model's two protocols part: how many items the user already has it ranks above the
test target. The gap between the seen-kept and the seen-excluded rank of a target is exactly that
number, so a model whose lead exists only with seen items kept is one that ranks history items
lower, not one that finds new items better. Also split by whether the target itself is a repeat
(an item already in the history). Prints and merges into bench/results/analysis/seen_items.json.

    python -m bench seen-items bench/work/tune/beauty/trial_0/sasrec bench/work/tune/beauty/trial_0/fame
"""

from __future__ import annotations

import click

from bench.analysis.runs import finished_run, measure_runs


def measure(run_dir: str, batch_size: int = 512) -> dict:
    from fame_tf import runs
    from fame_tf.metrics import array_batches, batch_ranks, metrics_from_ranks

    metrics, split = finished_run(run_dir)
    model, _ = runs.load(run_dir)
    kept, excluded = batch_ranks(model, array_batches(split.test_history, split.test_targets, split.test_seen,
                                                      batch_size))
    repeat = (split.test_seen == split.test_targets[:, None]).any(axis=1)
    above = kept - excluded  # seen items (other than the target) ranked above the target
    ndcg = {name: metrics_from_ranks(ranks, (10,))["ndcg@10"] for name, ranks in (("kept", kept), ("excluded", excluded))}
    return {
        "variant": metrics["config"]["variant"], "users": int(len(kept)),
        "repeat_targets": float(repeat.mean()),
        "ndcg@10_seen_kept": ndcg["kept"], "ndcg@10_seen_excluded": ndcg["excluded"],
        "seen_items_above_target_mean": float(above.mean()),
        "users_with_a_seen_item_above_target": float((above > 0).mean()),
        "ndcg@10_seen_kept_new_targets": metrics_from_ranks(kept[~repeat], (10,))["ndcg@10"],
        "ndcg@10_seen_kept_repeat_targets": metrics_from_ranks(kept[repeat], (10,))["ndcg@10"] if repeat.any() else None,
    }


@click.command()
@click.argument("runs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
def main(runs):
    measure_runs(runs, measure, "seen_items")


if __name__ == "__main__":
    main()
