"""The local server beyond the REST contract: version polling and atomic swaps, labels, limits,
and the bind address. Real HTTP on 127.0.0.1 with ephemeral ports, real SavedModels."""

import os
import shutil
import threading
import time

import numpy as np
import pytest
import requests

from fame_tf.backend import tf
from serving.batching import Batcher
from serving.server import serve
from serving_helpers import exported_base

HISTORY = {"instances": [["3", "4", "5"]]}


def _push(base, version, complete=True):
    """Copies the tiny export into base/<version> the way a Pusher does: saved_model.pb last."""
    target = os.path.join(base, str(version))
    shutil.copytree(os.path.join(exported_base(), "1"), target, ignore=shutil.ignore_patterns("saved_model.pb"))
    if complete:
        shutil.copy(os.path.join(exported_base(), "1", "saved_model.pb"), target)


def _served_versions(url):
    return [s["version"] for s in requests.get(url + "/v1/models/fame").json()["model_version_status"]]


def _latest(url):
    return requests.get(url + "/v1/models/fame/metadata").json()["model_spec"]["version"]


def _wait_for(condition, seconds=60):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out")


@pytest.fixture
def base(tmp_path):
    _push(str(tmp_path), 1)
    return str(tmp_path)


@pytest.fixture
def server(base):
    server = serve(base, port=0, poll_seconds=0.1, labels={"stable": 1}).start()
    yield server
    server.stop()


def test_binds_loopback_by_default(server):
    assert server.http.server_address[0] == "127.0.0.1"


def _polled_twice(server):
    """Waits until the poller has looked at the base path twice more (so it saw what is there now)."""
    manager = server.app.manager
    start = manager.polls
    _wait_for(lambda: manager.polls >= start + 2)


def test_incomplete_version_is_not_loaded_until_saved_model_pb_arrives(server, base):
    _push(base, 2, complete=False)
    _polled_twice(server)
    assert _served_versions(server.url) == ["1"]
    shutil.copy(os.path.join(exported_base(), "1", "saved_model.pb"), os.path.join(base, "2"))
    _wait_for(lambda: _latest(server.url) == "2")
    assert _served_versions(server.url) == ["2", "1"]  # the "stable" label keeps version 1
    assert requests.get(server.url + "/v1/models/fame/labels/stable").json()["model_version_status"][0]["version"] == "1"
    assert requests.post(server.url + "/v1/models/fame/labels/nope:predict", json=HISTORY).status_code == 400


def test_loading_a_version_leaves_no_cyclic_garbage(tmp_path):
    """Loading a SavedModel leaves reference cycles behind (tens of MiB a version on Beauty) that
    Python's own collection schedule left in place; the manager collects them after every load.
    Automatic collection is off here, so only the manager's collection can have freed them."""
    import gc

    from serving.models import ModelManager
    from serving.server import RestApp

    base = str(tmp_path)
    _push(base, 1)
    manager = ModelManager("fame", base)
    app = RestApp(manager)
    gc.disable()
    try:
        manager.poll_once()
        for version in (2, 3):
            assert app.handle("POST", "/v1/models/fame:predict", b'{"instances": [["3", "4"]]}')[0] == 200
            gc.collect()  # the request's own garbage, if any
            _push(base, version)
            manager.poll_once()
            assert manager.get().version == version
            assert gc.collect() == 0
    finally:
        gc.enable()
        app.close()


def test_broken_version_is_reported_with_its_error_and_the_old_one_kept(server, base):
    os.makedirs(os.path.join(base, "3"))
    with open(os.path.join(base, "3", "saved_model.pb"), "wb") as handle:
        handle.write(b"not a SavedModel")
    _wait_for(lambda: "3" in _served_versions(server.url))  # the poller tried it
    status = requests.get(server.url + "/v1/models/fame").json()["model_version_status"]
    assert [(s["version"], s["state"]) for s in status] == [("3", "END"), ("1", "AVAILABLE")]
    assert status[0]["status"]["error_code"] != "OK" and status[0]["status"]["error_message"]
    assert requests.get(server.url + "/v1/models/fame/versions/3").json()["model_version_status"][0]["state"] == "END"
    assert requests.post(server.url + "/v1/models/fame/versions/3:predict", json=HISTORY).status_code == 404
    assert requests.post(server.url + "/v1/models/fame:predict", json=HISTORY).status_code == 200
    assert _latest(server.url) == "1"
    shutil.rmtree(os.path.join(base, "3"))  # gone from disk: no longer reported
    _wait_for(lambda: _served_versions(server.url) == ["1"])


@pytest.mark.parametrize("body", [b"[" * 5000 + b"]" * 5000, b'{"instances": ' + b"[" * 900 + b"]" * 900 + b"}",
                                  b'{"inputs": {"history": ' + b"[" * 5000 + b"]" * 5000 + b"}}"])
def test_deeply_nested_bodies_get_400_and_the_server_keeps_serving(server, body):
    response = requests.post(server.url + "/v1/models/fame:predict", data=body)
    assert response.status_code == 400 and response.json()["error"]
    assert requests.post(server.url + "/v1/models/fame:predict", json=HISTORY).status_code == 200


def test_no_request_fails_while_a_new_version_is_pushed_and_the_old_one_deleted(server, base):
    results, stop = [], threading.Event()

    def load():
        session = requests.Session()
        while not stop.is_set():
            response = session.post(server.url + "/v1/models/fame:predict", json=HISTORY)
            results.append((response.status_code, response.json()["predictions"][0]["item_ids"][0]))

    workers = [threading.Thread(target=load) for _ in range(4)]
    for worker in workers:
        worker.start()
    time.sleep(0.5)
    _push(base, 2)
    _wait_for(lambda: _latest(server.url) == "2")
    shutil.rmtree(os.path.join(base, "1"))  # the labelled version too: it can no longer be served
    _wait_for(lambda: _served_versions(server.url) == ["2"])
    time.sleep(0.3)
    stop.set()
    for worker in workers:
        worker.join()
    assert len(results) > 20
    assert {status for status, _ in results} == {200} and {top for _, top in results} == {"6"}
    assert requests.get(server.url + "/v1/models/fame/labels/stable").status_code == 404


def test_concurrent_requests_batched_together_get_their_own_answers(server):
    histories = [[str(i % 20 + 1) for i in range(start, start + length)] for start in range(1, 9) for length in (1, 5, 11)]
    url = server.url + "/v1/models/fame:predict"
    alone = [requests.post(url, json={"instances": [h]}).json()["predictions"][0] for h in histories]
    together = [None] * len(histories)

    def ask(i):
        together[i] = requests.post(url, json={"instances": [histories[i]]}).json()["predictions"][0]

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(histories))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for one, other in zip(alone, together):
        assert one["item_ids"][:3] == other["item_ids"][:3]
        assert one["scores"] == pytest.approx(other["scores"], rel=1e-4, abs=1e-5)
    for _ in range(10):  # the server did merge requests (concurrent arrivals are not guaranteed at once)
        if server.app.batcher.merged_calls:
            break
        threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(histories))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert server.app.batcher.merged_calls > 0


def _batched_round(calls):
    """Runs ``calls`` (one history array each) through a Batcher while its worker is held by a
    first call, so they queue; returns (answers or error names, batch sizes the model saw)."""
    batch_sizes, release = [], threading.Event()

    def known_items(history):  # a real TF computation, held until released
        release.wait()
        batch_sizes.append(len(history))
        return {"known": tf.reduce_sum(tf.cast(tf.constant(history) != b"", tf.int32), axis=1)}

    batcher = Batcher(max_batch_size=64)
    results = [None] * len(calls)

    def ask(i):
        try:
            results[i] = batcher(known_items, {"history": calls[i]})["known"].tolist()
        except Exception as error:  # noqa: BLE001
            results[i] = type(error).__name__

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(calls))]
    threads[0].start()
    time.sleep(0.3)
    for thread in threads[1:]:
        thread.start()
    time.sleep(0.3)
    release.set()
    for thread in threads:
        thread.join()
    batcher.close()
    return results, batch_sizes


def _histories(*rows):
    return np.array(rows, dtype=object)


def test_batcher_runs_queued_calls_as_one_padded_batch():
    results, sizes = _batched_round([_histories([b"a"]), _histories([b"a", b"b", b"c"]),
                                     _histories([b"a", b"b"], [b"a", b""])])
    assert results == [[1], [3], [2, 1]]  # "" padding of the shorter rows adds no known items
    assert sizes == [1, 3]


def test_batcher_runs_a_failing_batch_call_by_call_so_a_bad_call_fails_alone():
    results, sizes = _batched_round([_histories([b"a"]), _histories([b"a", b"b"]), np.array([[7]])])
    assert results[:2] == [[1], [2]] and isinstance(results[2], str)
    assert sizes[:2] == [1, 2]  # the merged batch of 2 rows failed, then each call ran alone


def test_request_body_and_batch_size_are_bounded(base):
    server = serve(base, port=0, max_body_bytes=2000, max_batch_size=2).start()
    try:
        url = server.url + "/v1/models/fame:predict"
        too_big = requests.post(url, json={"instances": [["x" * 3000]]})
        assert too_big.status_code == 413 and "limit" in too_big.json()["error"]
        too_many = requests.post(url, json={"instances": [["3"], ["4"], ["5"]]})
        assert too_many.status_code == 400 and "batch size 3" in too_many.json()["error"]
        assert requests.post(url, json={"instances": [["3"], ["4"]]}).status_code == 200
        chunked = requests.post(url, data=iter([b'{"instances": [["3"]]}']))  # no Content-Length
        assert chunked.status_code == 411 and chunked.json()["error"]
    finally:
        server.stop()


def test_wrong_method_and_malformed_paths(server):
    assert requests.get(server.url + "/v1/models/fame:predict").status_code == 404
    assert requests.post(server.url + "/v1/models/fame/versions/x:predict", json=HISTORY).status_code == 404
    classify = requests.post(server.url + "/v1/models/fame:classify", json={"examples": []})
    assert classify.status_code == 400 and "predict" in classify.json()["error"]
