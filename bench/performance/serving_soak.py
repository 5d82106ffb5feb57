"""A long day of ``fame-tf serve`` in a few minutes: concurrency 8 for ``--phases`` phases of
``--phase-seconds`` each (default 10 x 2 min), a new version pushed at the start of every phase but the
first (Pusher style: files first, saved_model.pb last), one of them corrupt. Reports per phase the
requests served, errors, p50/p99, the version served at the end and the server's resident memory;
errors must be 0 (the corrupt version is simply never served, and the status shows its error) and
memory must not grow by more than 10% after the first phase (warm-up).

    python -m bench serving-soak --model train|pipeline [--phases 10 --phase-seconds 120 --corrupt-phase 5]
"""

import os
import shutil
import subprocess
import sys
import threading
import time

import click
import requests

from bench.common import machine
from bench.performance.serving_common import MODELS, WORK, beauty_export, describe, histories, write
from bench.performance.serving_rest import load, push


def resident_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as handle:
        for line in handle:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def push_corrupt(base: str, version: int) -> None:
    os.makedirs(os.path.join(base, str(version)))
    with open(os.path.join(base, str(version), "saved_model.pb"), "wb") as handle:
        handle.write(b"this is not a SavedModel")


def status(model_url: str) -> list:
    return requests.get(model_url, timeout=10).json()["model_version_status"]


@click.command()
@click.option("--run", default=None, help="Trained run directory [default: an untrained model, same shapes].")
@click.option("--model", type=click.Choice(MODELS), default="train", show_default=True,
              help="Whose default model to measure.")
@click.option("--phases", "phase_count", default=10, show_default=True)
@click.option("--phase-seconds", default=120.0, show_default=True)
@click.option("--corrupt-phase", default=5, show_default=True, help="Phase whose push is a corrupt version.")
@click.option("--no-push", is_flag=True, help="Push nothing (to tell version churn from load).")
def main(run, model, phase_count, phase_seconds, corrupt_phase, no_push):
    """A long day of `fame-tf serve` in a few minutes: load, version pushes, one corrupt."""
    before = machine()
    exported, vocabulary, config = beauty_export(run, model)
    source = os.path.join(exported, "1")
    base = os.path.join(WORK, "soak-base")
    shutil.rmtree(base, ignore_errors=True)
    push(source, base, 1)
    fame_tf = os.path.join(os.path.dirname(sys.executable), "fame-tf")
    server = subprocess.Popen([fame_tf, "serve", "--model-base-path", base, "--port", "0"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    phases = []
    try:
        url = server.stdout.readline().split(" on ")[-1].strip()
        model_url = url + "/v1/models/fame"
        while True:
            try:
                if status(model_url)[0]["version"] == "1":
                    break
            except (requests.RequestException, KeyError):
                time.sleep(0.2)
        bodies = [{"instances": [h]} for h in histories(vocabulary, 200)]
        for phase in range(1, phase_count + 1):
            pushed = {}

            def push_new(version=phase, corrupt=phase == corrupt_phase):
                time.sleep(1.0)
                pushed["at"] = time.time()
                if corrupt:
                    push_corrupt(base, version)
                    return
                push(source, base, version)
                while status(model_url)[0]["version"] != str(version):
                    time.sleep(0.05)
                pushed["served_after_seconds"] = time.time() - pushed["at"]

            pusher = threading.Thread(target=push_new) if phase > 1 and not no_push else None
            if pusher:
                pusher.start()
            result = load(model_url + ":predict", bodies, 8, phase_seconds)
            if pusher:
                pusher.join()
            states = {s["version"]: s["state"] for s in status(model_url)}
            result.update(phase=phase, pushed=("corrupt version" if phase == corrupt_phase else "version")
                          + f" {phase}" if pusher else "nothing",
                          new_version_served_after_seconds=pushed.get("served_after_seconds"),
                          versions_reported=states, server_rss_mib=resident_mib(server.pid))
            phases.append(result)
            print(f"phase {phase}: {result['requests']} requests, {result['errors']} errors, "
                  f"p99 {result['p99_ms']:.1f} ms, versions {states}, RSS {result['server_rss_mib']:.0f} MiB",
                  flush=True)
    finally:
        server.terminate()
        server.wait(timeout=30)
    warm, last = phases[0]["server_rss_mib"], phases[-1]["server_rss_mib"]
    corrupt = None if no_push else phases[corrupt_phase - 1]["versions_reported"].get(str(corrupt_phase))
    write(f"serving_soak{'_no_push' if no_push else ''}-{model if not run else 'run'}", {
        **describe(run, model, vocabulary, config),
        "server": "fame-tf serve (defaults: batching, 1 intra-op and 1 inter-op thread), separate process",
        "load_generator": "this process: 8 threads, one keep-alive http.client connection each",
        "phase_seconds": phase_seconds, "phases": phases,
        "requests": sum(p["requests"] for p in phases), "errors": sum(p["errors"] for p in phases),
        "corrupt_version_state": corrupt,
        "rss_after_warm_up_mib": warm, "rss_at_end_mib": last, "rss_growth_after_warm_up": last / warm - 1,
        "machine_before": before, "machine_after": machine(),
    })


if __name__ == "__main__":
    main()
