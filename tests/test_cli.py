import json
import os
import signal
import subprocess
import sys
import time

from click.testing import CliRunner

from fame_cli import main

from conftest import TINY_TRAIN as TINY
from conftest import write_rule_data as _data


def _fame_tf():
    return [os.path.join(os.path.dirname(sys.executable), "fame-tf")]


def test_train_writes_config_metrics_and_model(tmp_path):
    out = tmp_path / "run"
    result = CliRunner().invoke(main, ["train", "--data", _data(tmp_path), "--output", str(out), "--epochs", "4",
                                       "--quiet", *TINY])
    assert result.exit_code == 0, result.output
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["num_experts"] == 2 and metrics["config"]["num_items"] == 20
    # The rule is learnable: the next item ranks first for nearly everyone (a random ranking of 20
    # items gives MRR 0.18); both protocols are reported.
    assert metrics["test"]["mrr"] > 0.9 and metrics["test"]["seen_excluded"]["mrr"] > 0.9
    assert (out / "model" / "saved_model.pb").exists()
    assert "test:" in result.output and "ndcg@10=" in result.output
    versions = os.listdir(out / "serving" / "fame")
    assert len(versions) == 1

    pictures = CliRunner().invoke(main, ["report", str(out), "--output", str(tmp_path / "report"), "--top", "3"])
    assert pictures.exit_code == 0, pictures.output
    for name in ("validation_ndcg10.png", "run-facets.png", "run-explanation.png"):
        assert (tmp_path / "report" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n", name

    again = CliRunner().invoke(main, ["train", "--data", _data(tmp_path), "--output", str(out), "--epochs", "4",
                                      "--quiet", *TINY])
    assert again.exit_code == 0, again.output
    assert "training already finished" in again.output
    assert os.listdir(out / "serving" / "fame") == versions  # re-evaluated, not exported again

    other = CliRunner().invoke(main, ["train", "--data", _data(tmp_path), "--output", str(out), "--epochs", "5",
                                      "--quiet", *TINY])
    assert other.exit_code == 1 and isinstance(other.exception, SystemExit)  # a message, not a traceback
    assert "holds a run with a different config" in other.output
    otherwise = CliRunner().invoke(main, ["train", "--data", _data(tmp_path), "--output", str(out), "--epochs", "4",
                                          "--quiet", "--k-core", "2", *TINY])
    assert otherwise.exit_code == 1 and "read its data otherwise (k_core differ" in otherwise.output


def test_help_does_not_load_tensorflow():
    code = ("import sys; from click.testing import CliRunner; from fame_cli import main; "
            "assert CliRunner().invoke(main, ['train', '--help']).exit_code == 0; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'tf_keras', 'tfx')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout + result.stderr[-2000:]


def test_bad_config_and_bad_data_are_clear_errors(tmp_path):
    result = CliRunner().invoke(main, ["train", "--data", _data(tmp_path), "--output", str(tmp_path / "r"),
                                       "--hidden-size", "10", "--heads", "4"])
    assert result.exit_code != 0 and "hidden_size=10" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_text("user_id,item_id\nu,a\n")
    result = CliRunner().invoke(main, ["train", "--data", str(bad), "--output", str(tmp_path / "r2")])
    assert result.exit_code != 0 and "missing column(s) ['timestamp']" in result.output


def test_killed_run_resumes_instead_of_starting_over(tmp_path):
    out = tmp_path / "run"
    command = _fame_tf() + ["train", "--data", _data(tmp_path, users=400), "--output", str(out), "--quiet",
                            "--epochs", "12", "--patience", "12", *TINY]
    state = out / "early_stopping" / "state.json"
    first = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 240
    while time.time() < deadline and first.poll() is None:
        if state.exists() and len(json.loads(state.read_text())["history"]) >= 3:
            break
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    done_before = len(json.loads(state.read_text())["history"])
    assert 3 <= done_before < 12
    second = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr[-2000:]
    epochs = [h["epoch"] for h in json.loads(state.read_text())["history"]]
    assert epochs == list(range(1, 13))  # every epoch once: resumed, not restarted
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_this_run"] <= 12 - done_before + 1
    assert metrics["train_seconds"] > metrics["train_seconds_this_run"]  # the killed run's time counts too
