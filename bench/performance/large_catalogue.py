"""Large catalogues: the sampled softmax trained at 100k and 1M items, and serving its top-10 by
brute force (the TF Serving export) and by a ScaNN index, with recall@10 against brute force and
single-request latency.

Per catalogue size, on synthetic users (fame_tf.synthetic: Zipf popularity, Beauty's lengths, a
successor rule) whose vocabulary is the whole catalogue (cold items included):
  train    FAME (default config, ``objective=sampled_softmax``, log-Q from the training counts) for a
           capped number of steps; loss per stage, seconds per step beside the full softmax's on
           the same batches (a ratio), test HR@10/NDCG@10 of held-out users before and after
           (seen kept), peak memory. The weights go to bench/work/large_catalogue/<size>/.
  measure  (run on a quiet machine) the export's serving signature in-process (what TF Serving
           runs: brute force), and index settings over the model's real queries: recall@10 and
           p50/p99 of one request, index build time.
Each phase of each size runs in its own process and is skipped when its result is recorded, so an
interrupted run continues; results go to bench/results/performance/large_catalogue.json after every phase.

    python -m bench large-catalogue --phase train
    python -m bench large-catalogue --phase measure
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time

import click
import numpy as np

from bench.performance.serving_common import percentiles

from fame_tf.presets import BENCHMARK
from bench.common import beauty_lengths, envelope, result_path, work_dir, write_json

RESULT = result_path("performance", "large_catalogue")
WORK = work_dir("large_catalogue")
SIZES = (100_000, 1_000_000)
K = 10
EVAL_USERS = 2000  # held-out users ranked for quality, and the index's queries
LATENCY_REQUESTS = 300
# (fraction of partitions searched, exactly re-scored candidates): the grid the default is chosen from.
SCANN_GRID = ((0.01, 100), (0.02, 200), (0.05, 200), (0.05, 500), (0.1, 500), (0.2, 1000))


def catalogue_split(size: int, users: int, seed: int = 0):
    """Leave-one-out split of synthetic users over the whole catalogue i1..i<size>."""
    from fame_tf.data import DataReport, Vocabulary, leave_one_out_parts, split_data
    from fame_tf.synthetic import synthetic_sequences

    vocab = Vocabulary([f"i{n}" for n in range(1, size + 1)])
    parts = {u: leave_one_out_parts(s) for u, s in synthetic_sequences(users, size, beauty_lengths(), seed=seed)}
    report = DataReport(source=f"synthetic, {users} users over {size} items", users=len(parts), items=size,
                        interactions=sum(len(p["test"]) for p in parts.values()))
    ids = {name: [vocab.lookup(p[name]) for p in parts.values()] for name in ("train", "eval", "test")}
    return split_data(vocab, list(parts), ids["train"], ids["eval"], ids["test"], 50, report)


def train_phase(size: int, users: int, steps: int, stages: int) -> dict:
    from fame_tf import FameConfig
    from fame_tf.metrics import evaluate
    from fame_tf.inputs import ArrayData, train_dataset
    from fame_tf.training import build_model

    split = catalogue_split(size, users)
    config = FameConfig(num_items=size, objective="sampled_softmax", **BENCHMARK.changes)
    model = build_model(config, ArrayData(split))
    held_out = (split.test_history[:EVAL_USERS], split.test_targets[:EVAL_USERS], split.test_seen[:EVAL_USERS])
    before = evaluate(model, *held_out, ks=(K,))
    dataset = train_dataset(ArrayData(split), config).repeat()
    steps = steps // stages * stages  # the steps actually run
    start = time.time()
    history = model.fit(dataset, epochs=stages, steps_per_epoch=steps // stages, verbose=2).history
    sampled_seconds = (time.time() - start) / steps
    after = evaluate(model, *held_out, ks=(K,))
    os.makedirs(os.path.join(WORK, str(size)), exist_ok=True)
    model.save_weights(os.path.join(WORK, str(size), "weights"))
    # The same batches through both objectives: one pass compiles every batch width, then the
    # objectives alternate; the fastest pass of each.
    full = build_model(config.replace(objective="full_softmax"))
    batches = train_dataset(ArrayData(split), config).take(8).cache()
    seconds = {"sampled_softmax": [], "full_softmax": []}
    for timed in (False, True, True):
        for name, candidate in (("sampled_softmax", model), ("full_softmax", full)):
            begin = time.time()
            candidate.fit(batches, epochs=1, verbose=0)
            if timed:
                seconds[name].append((time.time() - begin) / 8)
    fastest = {name: min(values) for name, values in seconds.items()}
    return {
        "users": split.report.users, "interactions": split.report.interactions, "items": size,
        "items_with_training_interactions": int((split.item_counts()[1:] > 0).sum()),
        "config": config.to_dict(), "steps": steps, "batch_size": config.batch_size,
        "loss_per_stage": [round(v, 4) for v in history["loss"]],
        "seconds_per_step_in_training": sampled_seconds,
        "step_seconds_side_by_side": fastest,
        "full_over_sampled_step": fastest["full_softmax"] / fastest["sampled_softmax"],
        "test_seen_kept_before_training": {m: before[m] for m in (f"hr@{K}", f"ndcg@{K}")},
        "test_seen_kept_after_training": {m: after[m] for m in (f"hr@{K}", f"ndcg@{K}")},
        "held_out_users": len(held_out[1]),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def latencies(call, inputs) -> dict:
    call(inputs[0])  # traces / warms up
    seconds = []
    for item in inputs:
        begin = time.perf_counter()
        call(item)
        seconds.append(time.perf_counter() - begin)
    return percentiles(seconds)


def measure_phase(size: int, users: int) -> dict:
    from fame_tf import FameConfig
    from fame_tf.backend import keras, tf
    from fame_tf.export import export_serving_model
    from fame_tf.retrieval import candidate_index, recommender_index, scann_options
    from fame_tf.inputs import ArrayData
    from fame_tf.training import build_model

    weights = os.path.join(WORK, str(size), "weights")
    if not os.path.exists(weights + ".index"):
        raise SystemExit(f"{size} items: no trained weights in {os.path.dirname(weights)}; run --phase train first")
    split = catalogue_split(size, users)
    model = build_model(FameConfig(num_items=size, objective="sampled_softmax", **BENCHMARK.changes), ArrayData(split))
    model.load_weights(weights).expect_partial()
    histories, targets = split.test_history[:EVAL_USERS], split.test_targets[:EVAL_USERS]
    queries = np.concatenate([model(histories[i:i + 500], training=False)["query"].numpy()
                              for i in range(0, len(histories), 500)])
    candidates, ids = model.candidates()[1:], tf.range(1, size + 1)
    exact = candidate_index(candidates, ids, kind="brute_force", k=K)
    exact_ids = np.concatenate([exact(queries[i:i + 500])[1].numpy() for i in range(0, len(queries), 500)])
    single = [tf.constant(queries[i:i + 1]) for i in range(LATENCY_REQUESTS)]
    result = {"brute_force_index": latencies(exact, single), "scann": []}
    print("brute force", result["brute_force_index"], flush=True)
    defaults = scann_options(size)
    searched = sorted({(max(1, round(defaults["num_leaves"] * fraction)), reorder) for fraction, reorder in SCANN_GRID}
                      | {(defaults["num_leaves_to_search"], defaults["num_reordering_candidates"])})
    for leaves_to_search, reorder in searched:
        settings = {"num_leaves": defaults["num_leaves"], "num_leaves_to_search": leaves_to_search,
                    "num_reordering_candidates": reorder}
        begin = time.time()
        index = candidate_index(candidates, ids, kind="scann", k=K, **settings)
        built = time.time() - begin
        found = index(queries)[1].numpy()
        recall = float(np.mean([len(set(a) & set(e)) / K for a, e in zip(found, exact_ids)]))
        row = {**settings, "default": settings == defaults, "recall@10": recall, "build_seconds": built,
               **latencies(index, single)}
        print("scann", row, flush=True)
        result["scann"].append(row)
    # The export (brute force, as TF Serving runs it) and the default index end to end, both from
    # the request's raw history strings to raw item ids.
    directory = os.path.join(WORK, str(size), "export")
    begin = time.time()
    export_serving_model(model, split.vocab.items, directory, k=K)
    result["export_seconds"] = time.time() - begin
    signature = tf.saved_model.load(directory).signatures["serving_default"]
    names = np.array([""] + split.vocab.items, dtype=object)
    requests = [tf.constant(names[histories[i:i + 1]].astype(str)) for i in range(LATENCY_REQUESTS)]
    result["tf_serving_export_in_process"] = latencies(lambda h: signature(history=h), requests)
    recommender = keras.models.load_model(directory)
    result["scann_default_end_to_end"] = latencies(recommender_index(recommender, kind="scann"), requests)
    result["brute_force_end_to_end"] = latencies(recommender_index(recommender, kind="brute_force"), requests)
    hits = np.mean([t in row for t, row in zip(targets, exact_ids)])
    result["brute_force_test_hr@10_check"] = float(hits)
    result.update(envelope("large-catalogue"))
    print({k: v for k, v in result.items() if k != "scann"}, flush=True)
    return result


def load() -> dict:
    if os.path.exists(RESULT):
        with open(RESULT) as handle:
            return json.load(handle)
    return {}


def save(results: dict) -> None:
    write_json(RESULT, results)


@click.command()
@click.option("--phase", type=click.Choice(["train", "measure"]), required=True)
@click.option("--sizes", default=",".join(map(str, SIZES)), show_default=True, help="Catalogue sizes, comma separated.")
@click.option("--users", default=50_000, show_default=True)
@click.option("--steps", default=2000, show_default=True, help="Training steps (sampled softmax).")
@click.option("--stages", default=4, show_default=True, help="Loss reported after each of this many equal parts.")
@click.option("--one", type=int, default=None, hidden=True)
def main(phase, sizes, users, steps, stages, one):
    if one is not None:  # the child process of one phase and size
        result = train_phase(one, users, steps, stages) if phase == "train" else measure_phase(one, users)
        results = load()
        # New weights make an earlier measurement stale: it is dropped with the training it measured.
        results[str(one)] = {**({} if phase == "train" else results.get(str(one), {})), phase: result}
        save(results)
        return
    for size in [int(s) for s in sizes.split(",")]:
        recorded = load().get(str(size), {})
        trained = recorded.get("train", {})
        if trained and (trained["users"] != users or trained["steps"] != steps // stages * stages):
            raise SystemExit(f"{size} items are recorded with {trained['users']} users and {trained['steps']} steps: "
                             f"pass those, or remove the entry from {RESULT}")
        if phase in recorded:
            print(f"{size} items: {phase} already recorded", flush=True)
            continue
        subprocess.run([sys.executable, os.path.abspath(__file__), "--phase", phase, "--one", str(size),
                        "--users", str(users), "--steps", str(steps), "--stages", str(stages)], check=True)


if __name__ == "__main__":
    main()
