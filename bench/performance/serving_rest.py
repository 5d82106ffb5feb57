"""REST latency of ``fame-tf serve`` measured from this separate load-generator process over
loopback: p50/p99 and errors at concurrency 1 and 8, then concurrency 8 again while a new version
is pushed mid-run (Pusher style: files first, saved_model.pb last) and swapped in by the server.

    python -m bench serving-rest --model train|pipeline [--seconds 30] [--run runs/beauty-fame]
"""

import http.client
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from urllib.parse import urlsplit

import click
import requests

from bench.common import machine
from bench.performance.serving_common import MODELS, WORK, beauty_export, describe, histories, percentiles, write
from fame_tf.contract import ITEM_IDS, MODEL_NAME


def load(url, bodies, concurrency, seconds):
    """Posts from ``concurrency`` threads (one keep-alive connection each) for ``seconds``.
    ``http.client`` rather than ``requests``: the generator shares the 2 cores with the server,
    and ``requests`` costs it about 1 ms of CPU per request more."""
    parts = urlsplit(url)
    payloads = [json.dumps(body).encode() for body in bodies]
    headers = {"Content-Type": "application/json"}
    latencies, errors, stop = [], [], time.time() + seconds

    def worker(offset):
        connection, i = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10), offset
        while time.time() < stop:
            start = time.perf_counter()
            try:
                connection.request("POST", parts.path, payloads[i % len(payloads)], headers)
                response = connection.getresponse()
                answer = response.read()
                ok = response.status == 200 and len(json.loads(answer)["predictions"][0][ITEM_IDS]) == 100
            except (OSError, http.client.HTTPException, ValueError, KeyError) as error:
                ok, answer = False, error
                connection.close()  # reconnects on the next request
            latencies.append(time.perf_counter() - start)
            if not ok:
                errors.append(str(answer)[:200])
            i += concurrency

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"concurrency": concurrency, "seconds": seconds, **percentiles(latencies),
            "requests_per_second": len(latencies) / seconds, "errors": len(errors), "error_samples": errors[:3]}


def push(source, base, version):
    target = os.path.join(base, str(version))
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("saved_model.pb"))
    shutil.copy(os.path.join(source, "saved_model.pb"), target)


def served_version(model_url):
    return requests.get(model_url).json()["model_version_status"][0]["version"]


@click.command()
@click.option("--run", default=None, help="Trained run directory [default: an untrained model, same shapes].")
@click.option("--model", type=click.Choice(MODELS), default="train", show_default=True,
              help="Whose default model to measure.")
@click.option("--seconds", default=30.0, show_default=True, help="Seconds of each load phase.")
@click.option("--no-batching", is_flag=True, help="Serve without server-side batching.")
def main(run, model, seconds, no_batching):
    """REST latency of `fame-tf serve` from a separate load-generator process."""
    load_before = machine()
    exported, vocabulary, config = beauty_export(run, model)
    base = os.path.join(WORK, "rest-base")
    shutil.rmtree(base, ignore_errors=True)
    push(os.path.join(exported, "1"), base, 1)
    fame_tf = os.path.join(os.path.dirname(sys.executable), "fame-tf")
    batching = "--no-batching" if no_batching else "--batching"
    server = subprocess.Popen([fame_tf, "serve", "--model-base-path", base, "--port", "0", batching],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        url = server.stdout.readline().split(" on ")[-1].strip()
        model_url = url + f"/v1/models/{MODEL_NAME}"
        while True:
            try:
                if served_version(model_url) == "1":
                    break
            except (requests.RequestException, KeyError):
                time.sleep(0.2)
        bodies = [{"instances": [h]} for h in histories(vocabulary, 200)]
        load(model_url + ":predict", bodies, 8, 3)  # warm-up
        results = {"concurrency_1": load(model_url + ":predict", bodies, 1, seconds),
                   "concurrency_8": load(model_url + ":predict", bodies, 8, seconds)}

        pushed = {}

        def push_later():
            time.sleep(seconds / 3)
            pushed["at"] = time.time()
            push(os.path.join(exported, "1"), base, 2)
            while served_version(model_url) != "2":
                time.sleep(0.05)
            pushed["served_after_seconds"] = time.time() - pushed["at"]

        pusher = threading.Thread(target=push_later)
        pusher.start()
        results["concurrency_8_with_version_push"] = load(model_url + ":predict", bodies, 8, seconds)
        pusher.join()
        results["concurrency_8_with_version_push"]["new_version_served_after_seconds"] = pushed["served_after_seconds"]
        results["concurrency_8_with_version_push"]["served_version_at_end"] = served_version(model_url)
    finally:
        server.terminate()
        server.wait(timeout=30)
    write(f"serving_rest-{model}" if not run else "serving_rest-run", {
        **describe(run, model, vocabulary, config),
        "server": f"fame-tf serve {batching} (threaded, HTTP/1.1 keep-alive), separate process",
        "load_generator": "this process: Python threads, one keep-alive http.client connection each, row format",
        **results, "machine_before": load_before, "machine_after": machine(),
    })


if __name__ == "__main__":
    main()
