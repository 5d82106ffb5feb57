"""A peer side by side: stock RecBole 1.2.1 SASRec (CE loss, full ranking) on the same leave-one-out
split of a sequence data set, on this machine, alone.

Runs in RecBole's own environment (`tools/ensure_recbole_venv.sh`: Python 3.11, CPU torch), not in
fame-tf's. The sequence file becomes RecBole's atomic `.inter` file (`user item k`, the position as
the timestamp), so its time-ordered leave-one-out gives our split. RecBole's defaults for SASRec
with the settings of a CE-loss full-ranking comparison (REFERENCE: `loss_type: CE`, no negative
sampling, `MAX_ITEM_LIST_LENGTH: 50`, `train_batch_size: 256`, early stopping on validation NDCG@10
after 10 epochs without improvement).

The epoch loop is RecBole's own `_train_epoch`/`_valid_epoch`, driven here so that the run resumes
where it stopped (the model, optimizer and history are saved after every epoch; a killed run loses
at most the epoch in progress) and so that every epoch's wall time is recorded. Creating the file
`<work>/PAUSE` pauses the run between epochs without counting the pause. Test metrics are computed
from RecBole's full-sort scores under both protocols: seen items kept (what RecBole reports) and
excluded.

    python -m bench recbole-peer --data data/beauty     # bench/results/quality/recbole_peer-beauty.json

Started from fame-tf's environment, it creates RecBole's (`tools/ensure_recbole_venv.sh`) and runs
itself there.
"""

import math
import os
import platform
import subprocess
import sys
import time

import click

from bench.common import ROOT, result_path, work_dir, write_result

KS = (5, 10, 20)


def _in_recbole_environment() -> None:
    """Re-runs this command with RecBole's interpreter unless RecBole is importable here."""
    try:
        import recbole  # noqa: F401
    except ImportError:
        python = subprocess.run([os.path.join(ROOT, "tools", "ensure_recbole_venv.sh")], check=True,
                                capture_output=True, text=True).stdout.strip().splitlines()[-1]
        os.chdir(ROOT)
        os.execv(python, [python, "-m", "bench", *sys.argv[1:]])


def sequences_of(data_dir):
    names = [n for n in os.listdir(data_dir) if n.endswith(".txt")]
    if len(names) != 1:
        raise SystemExit(f"{data_dir}: expected one .txt sequence file, found {names}")
    with open(os.path.join(data_dir, names[0])) as handle:
        return {parts[0]: parts[1:] for parts in (line.split() for line in handle) if len(parts) > 1}


def write_atomic(sequences, directory, name):
    """RecBole's `<name>.inter`: one row per interaction, the position in the sequence as its time."""
    path = os.path.join(directory, name, f"{name}.inter")
    if not os.path.exists(path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".tmp", "w") as handle:
            handle.write("user_id:token\titem_id:token\ttimestamp:float\n")
            for user, items in sequences.items():
                handle.writelines(f"{user}\t{item}\t{k}\n" for k, item in enumerate(items))
        os.replace(path + ".tmp", path)


def ranks(trainer, loader, seen_by_user, torch):
    """0-based ranks of each case's target: (kept, excluded); ties count against the target, as in
    fame_tf.metrics."""
    kept, excluded = [], []
    trainer.model.eval()
    with torch.no_grad():
        for batch in loader:
            interaction, scores, _, positive_i = trainer._full_sort_batch_eval(batch)
            users = interaction["user_id"].tolist()
            targets = positive_i.to(scores.device)
            target_scores = scores[torch.arange(len(targets)), targets]
            beats = scores >= target_scores[:, None]
            beats[torch.arange(len(targets)), targets] = False
            beats[:, 0] = False
            kept += beats.sum(1).tolist()
            for row, user in enumerate(users):
                seen = [i for i in seen_by_user[user] if i != int(targets[row])]
                beats[row, seen] = False
            excluded += beats.sum(1).tolist()
    return kept, excluded


def metrics(rank_list):
    out = {}
    for k in KS:
        out[f"hr@{k}"] = sum(r < k for r in rank_list) / len(rank_list)
        out[f"ndcg@{k}"] = sum(1 / math.log2(r + 2) for r in rank_list if r < k) / len(rank_list)
    out["mrr"] = sum(1 / (r + 1) for r in rank_list) / len(rank_list)
    return out


@click.command()
@click.option("--data", default="data/beauty", show_default=True, help="A directory with one sequence .txt file.")
@click.option("--seed", default=2020, show_default=True, help="RecBole's default seed.")
@click.option("--threads", default=os.cpu_count(), show_default=True, help="torch threads.")
@click.option("--epochs", default=300, show_default=True, help="RecBole's default cap; early stopping ends first.")
def main(data, seed, threads, epochs):
    """Stock RecBole 1.2.1 SASRec on our leave-one-out split, resumable, both protocols."""
    _in_recbole_environment()
    os.environ.setdefault("TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD", "1")
    import torch
    from recbole.config import Config
    from recbole.data import create_dataset, data_preparation
    from recbole.model.sequential_recommender import SASRec
    from recbole.trainer import Trainer
    from recbole.utils import init_seed

    torch.set_num_threads(threads)
    name = os.path.basename(os.path.normpath(data)).lower()
    work = work_dir("recbole", f"{name}-seed{seed}")
    sequences = sequences_of(os.path.join(ROOT, data) if not os.path.isabs(data) else data)
    write_atomic(sequences, os.path.join(work, "atomic"), name)
    os.chdir(work)  # RecBole writes its logs (log/, log_tensorboard/) into the working directory
    config = Config(model="SASRec", dataset=name, config_dict={
        "data_path": os.path.join(work, "atomic"), "checkpoint_dir": os.path.join(work, "saved"),
        "USER_ID_FIELD": "user_id", "ITEM_ID_FIELD": "item_id", "TIME_FIELD": "timestamp",
        "load_col": {"inter": ["user_id", "item_id", "timestamp"]},
        "eval_args": {"split": {"LS": "valid_and_test"}, "order": "TO", "mode": "full", "group_by": "user"},
        "loss_type": "CE", "train_neg_sample_args": None, "MAX_ITEM_LIST_LENGTH": 50,
        "train_batch_size": 256, "valid_metric": "NDCG@10", "stopping_step": 10, "epochs": epochs,
        "metrics": ["Hit", "NDCG", "MRR"], "topk": list(KS), "use_gpu": False, "seed": seed,
        "reproducibility": True, "show_progress": False, "log_wandb": False,
    })
    init_seed(config["seed"], config["reproducibility"])
    dataset = create_dataset(config)
    train_data, valid_data, test_data = data_preparation(config, dataset)
    init_seed(config["seed"], config["reproducibility"])
    model = SASRec(config, train_data.dataset).to(config["device"])
    trainer = Trainer(config, model)

    state_path = os.path.join(work, "state.pt")
    best_path = os.path.join(work, "best.pt")
    state = {"epoch": 0, "history": [], "best": -1.0, "best_epoch": 0, "wait": 0, "seconds": 0.0}
    if os.path.exists(state_path):
        saved = torch.load(state_path, weights_only=False)
        model.load_state_dict(saved["model"])
        trainer.optimizer.load_state_dict(saved["optimizer"])
        torch.set_rng_state(saved["rng"])
        state = saved["state"]
        print(f"resuming after epoch {state['epoch']} ({state['seconds'] / 60:.1f} min so far)", flush=True)
    pause = os.path.join(work, "PAUSE")
    while state["epoch"] < epochs and state["wait"] < config["stopping_step"]:
        while os.path.exists(pause):  # between epochs, not counted
            time.sleep(5)
        start = time.time()
        model.train()
        loss = trainer._train_epoch(train_data, state["epoch"])
        train_seconds = time.time() - start
        score, result = trainer._valid_epoch(valid_data)
        state["seconds"] += time.time() - start
        state["epoch"] += 1
        state["history"].append({"epoch": state["epoch"], "ndcg@10": float(score), "hr@10": float(result["hit@10"]),
                                 "loss": float(loss if not isinstance(loss, tuple) else sum(loss)),
                                 "train_seconds": train_seconds, "epoch_seconds": time.time() - start,
                                 "seconds": state["seconds"]})
        if score > state["best"]:
            state.update(best=float(score), best_epoch=state["epoch"], wait=0, best_seconds=state["seconds"])
            torch.save(model.state_dict(), best_path)
        else:
            state["wait"] += 1
        torch.save({"model": model.state_dict(), "optimizer": trainer.optimizer.state_dict(),
                    "rng": torch.get_rng_state(), "state": state}, state_path + ".tmp")
        os.replace(state_path + ".tmp", state_path)
        print(f"epoch {state['epoch']}: val ndcg@10={score:.4f} (best {state['best']:.4f} at {state['best_epoch']}, "
              f"wait {state['wait']}/{config['stopping_step']}); {time.time() - start:.0f} s, "
              f"{state['seconds'] / 60:.1f} min", flush=True)

    model.load_state_dict(torch.load(best_path, weights_only=False))
    token = dataset.field2token_id["item_id"]
    user_token = dataset.field2token_id["user_id"]
    seen = {"validation": {}, "test": {}}
    for user, items in sequences.items():
        if user in user_token and len(items) >= 3:
            ids = [token[i] for i in items]
            seen["validation"][user_token[user]] = ids[:-2]
            seen["test"][user_token[user]] = ids[:-1]
    evaluated = {}
    for part, loader in (("validation", valid_data), ("test", test_data)):
        kept, excluded = ranks(trainer, loader, seen[part], torch)
        evaluated[part] = {**metrics(kept), "seen_excluded": metrics(excluded), "users": len(kept)}
    recbole_test = trainer.evaluate(test_data, load_best_model=False)
    write_result(result_path("quality", f"recbole_peer-{name}"), "recbole-peer", {
        "peer": "RecBole 1.2.1 SASRec (loss_type CE, full ranking)",
        "data": data, "seed": seed, "threads": threads,
        "torch": torch.__version__, "python": platform.python_version(),
        "config": {k: config[k] for k in ("hidden_size", "n_layers", "n_heads", "inner_size", "hidden_dropout_prob",
                                          "attn_dropout_prob", "learning_rate", "train_batch_size", "MAX_ITEM_LIST_LENGTH",
                                          "stopping_step", "loss_type")},
        "best_epoch": state["best_epoch"], "epochs": state["epoch"],
        "best_validation_ndcg@10": state["best"], "seconds_to_best_epoch": state.get("best_seconds"),
        "train_seconds": state["seconds"], "validation_history": state["history"],
        "validation": evaluated["validation"], "test": evaluated["test"],
        "recbole_test_report": {k: float(v) for k, v in recbole_test.items()},
    })


if __name__ == "__main__":
    main()
