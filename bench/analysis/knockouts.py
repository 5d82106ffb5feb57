"""Do FAME's parts matter in a trained model? Validation and test NDCG@10 after knocking one out.

For each finished run, the trained weights are edited and the model ranked again (no training;
a SASRec run has only the attention knock-out, to compare with):
  router uniform     the routers' kernels set to 0, so each head averages its experts equally;
  experts identical  every expert's query projection set to the first expert's (one expert per head);
  last attention uniform   the last layer's query projections set to 0, so every expert attends
                           equally to the whole history: what the experts could differ in is gone;
  every attention uniform  the same in every layer: the model then sees the history as a bag of
                           items with their positions;
  gate uniform       the gate's kernel and bias set to 0, so every head weighs 1/H.
A part whose knock-out changes nothing carries no information the model uses. Also the cosine
similarity of each head's experts' query projections (1: copies) and, per layer, how far the
trained attention is from uniform at the last position (validation histories). Prints and merges
the metrics (both ranking protocols) into bench/results/analysis/knockouts.json.

    python -m bench knockouts bench/work/tune/beauty/trial_1/fame bench/work/tune/beauty/trial_2/sasrec
"""

from __future__ import annotations

import functools

import click
import numpy as np

from bench.analysis.runs import finished_run, measure_runs


def _router_uniform(model):
    attention = model.blocks[-1].attention
    if attention.num_experts < 2:
        return False
    attention.router_kernel.assign(attention.router_kernel * 0)
    return True


def _experts_identical(model):
    attention = model.blocks[-1].attention
    if attention.num_experts < 2:
        return False
    kernel, bias = attention.query_kernel.numpy(), attention.query_bias.numpy()
    kernel[:, :, 1:] = kernel[:, :, :1]  # [d, H, N, e]
    bias[:, 1:] = bias[:, :1]  # [H, N, e]
    attention.query_kernel.assign(kernel)
    attention.query_bias.assign(bias)
    return True


def _attention_uniform(model, blocks):
    for block in model.blocks[blocks]:
        block.attention.query_kernel.assign(block.attention.query_kernel * 0)
        block.attention.query_bias.assign(block.attention.query_bias * 0)
    return True


def _gate_uniform(model):
    if model.config.variant != "fame" or model.config.gate != "learned":
        return False
    for weight in model.gate.dense.weights:
        weight.assign(weight * 0)
    return True


def expert_cosines(model):
    """Per head, the mean cosine similarity of its experts' query projections (flattened), pairwise."""
    kernel = model.blocks[-1].attention.query_kernel.numpy()  # [d, H, N, e]
    out = []
    for head in range(kernel.shape[1]):
        flat = kernel[:, head].transpose(1, 0, 2).reshape(kernel.shape[2], -1)  # [N, d * e]
        unit = flat / np.linalg.norm(flat, axis=1, keepdims=True)
        pairs = [unit[i] @ unit[j] for i in range(len(unit)) for j in range(i + 1, len(unit))]
        out.append(round(float(np.mean(pairs)), 4) if pairs else None)
    return out


def attention_spread(model, histories, batch_size=512):
    """Per layer, how far the last position's attention is from uniform over the real history
    (histories of at least 3 items): its entropy over log(length) (1: uniform) and its largest
    weight times the length (1: uniform), averaged over histories, heads and experts."""
    import tensorflow as tf

    entropy, peak = [[] for _ in model.blocks], [[] for _ in model.blocks]
    histories = histories[(histories > 0).sum(axis=1) >= 3]
    for start in range(0, len(histories), batch_size):
        ids = tf.constant(histories[start:start + batch_size], tf.int32)
        mask = ids != 0
        lengths = tf.reduce_sum(tf.cast(mask, tf.float32), axis=1)[:, None, None]  # [B, 1, 1]
        x = model.embedding(ids, training=False)
        for i, block in enumerate(model.blocks):
            weights = block.attention_weights(x, mask, last_only=True)[..., 0, :]  # [B, H, N, T]
            information = -tf.reduce_sum(weights * tf.math.log(weights + 1e-12), -1)
            entropy[i].append((information / tf.math.log(lengths)).numpy().ravel())
            peak[i].append((tf.reduce_max(weights, -1) * lengths).numpy().ravel())
            x, _ = block(x, mask, training=False)
    return [{"normalised_entropy": round(float(np.concatenate(e).mean()), 3),
             "peak_over_uniform": round(float(np.concatenate(p).mean()), 2)} for e, p in zip(entropy, peak)]


KNOCKOUTS = {"router uniform": _router_uniform, "experts identical": _experts_identical,
             "last attention uniform": functools.partial(_attention_uniform, blocks=slice(-1, None)),
             "every attention uniform": functools.partial(_attention_uniform, blocks=slice(None)),
             "gate uniform": _gate_uniform}


def measure(run_dir: str) -> dict:
    from fame_tf import runs
    from fame_tf.metrics import evaluate

    metrics, split = finished_run(run_dir)
    config = metrics["config"]

    def ndcg(model):
        out = {}
        for part, arrays in (("validation", (split.valid_history, split.valid_targets, split.valid_seen)),
                             ("test", (split.test_history, split.test_targets, split.test_seen))):
            measured = evaluate(model, *arrays, ks=(10,))
            out[part] = {"seen_kept": measured["ndcg@10"], "seen_excluded": measured["seen_excluded"]["ndcg@10"]}
        return out

    trained = runs.load(run_dir)[0]
    result = {"variant": config["variant"], "heads": config["num_heads"], "trained": ndcg(trained),
              "attention_per_layer": attention_spread(trained, split.valid_history)}
    if config["variant"] == "fame":
        result.update(experts=config["num_experts"], expert_query_cosine_per_head=expert_cosines(trained))
    for name, knock_out in KNOCKOUTS.items():
        model = runs.load(run_dir)[0]
        if knock_out(model):
            result[name] = ndcg(model)
    return result


@click.command()
@click.argument("run_dirs", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False))
def main(run_dirs):
    measure_runs(run_dirs, measure, "knockouts")


if __name__ == "__main__":
    main()
