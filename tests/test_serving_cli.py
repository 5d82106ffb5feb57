"""`fame-tf train` writes a servable export, `fame-tf export` adds a version, and `fame-tf serve`
(a real subprocess) serves the newest one to the client."""

import json
import os
import subprocess
import sys

from click.testing import CliRunner

from fame_cli import main
from serving.client import RecommenderClient

from conftest import rule_sequences

TINY = ["--hidden-size", "16", "--heads", "4", "--experts", "2", "--max-len", "12", "--batch-size", "32",
        "--learning-rate", "0.01", "--weight-decay", "0", "--epochs", "2", "--quiet"]


def test_train_export_serve(tmp_path):
    data = tmp_path / "seqs.txt"
    data.write_text("".join(f"{u} {' '.join(s)}\n" for u, s in rule_sequences(num_users=100).items()))
    run = tmp_path / "run"
    result = CliRunner().invoke(main, ["train", "--data", str(data), "--output", str(run), *TINY])
    assert result.exit_code == 0, result.output
    base = run / "serving" / "fame"
    (trained,) = os.listdir(base)
    assert trained.isdigit() and int(trained) > 1_600_000_000  # unix seconds, as the TFX Pusher
    assert (base / trained / "saved_model.pb").exists()
    assert sorted(json.loads((run / "vocabulary.json").read_text()), key=int) == [str(i) for i in range(1, 21)]

    newer = str(int(trained) + 1)
    result = CliRunner().invoke(main, ["export", "--run", str(run), "--version", newer, "--k", "5"])
    assert result.exit_code == 0, result.output
    assert CliRunner().invoke(main, ["export", "--run", str(run), "--version", newer]).exit_code != 0

    server = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "fame-tf"), "serve", "--model-base-path", str(base),
         "--port", "0", "--policy", "all"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        assert "on http://127.0.0.1:" in line, line
        url = line.split(" on ")[-1].strip()
        newest = RecommenderClient(url, model="fame").recommend(["3", "4", "5"], k=10)
        assert len(newest.items) == 5 and len(newest.facet_weights) == 4  # the --k 5 export is the latest
        first = RecommenderClient(url, model="fame", version=int(trained)).recommend(["3", "4", "5"], k=50)
        assert len(first.items) == 20 and first.items[:5] == newest.items  # k=100 capped at the catalogue
    finally:
        server.terminate()
        server.wait(timeout=30)
