"""TF Serving REST contract of a served FAME export.

By default the tests start this project's server on the tiny export (127.0.0.1, ephemeral port).
With ``TF_SERVING_URL`` set (e.g. http://localhost:8501) they run unchanged against that server,
e.g. the official tensorflow/serving image serving any FAME export; ``TF_SERVING_MODEL`` names the
model (default ``fame``)."""

import base64
import os

import pytest
import requests

from fame_tf.backend import tf
from serving.client import RecommenderClient, ServingError


@pytest.fixture(scope="module")
def endpoint():
    if os.environ.get("TF_SERVING_URL"):
        yield os.environ["TF_SERVING_URL"].rstrip("/"), os.environ.get("TF_SERVING_MODEL", "fame")
        return
    from serving.server import serve
    from serving_helpers import exported_base

    server = serve(exported_base(), port=0).start()
    yield server.url, "fame"
    server.stop()


@pytest.fixture(scope="module")
def model_url(endpoint):
    url, name = endpoint
    return f"{url}/v1/models/{name}"


@pytest.fixture(scope="module")
def vocabulary_sample(model_url):
    """Some item ids the model knows: those it recommends for an empty history."""
    body = requests.post(model_url + ":predict", json={"instances": [[""]]}).json()
    return body["predictions"][0]["item_ids"][:5]


def _predict(url, body, status=200):
    response = requests.post(url + ":predict", json=body)
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    return response.json()


def test_status_lists_an_available_version(model_url):
    body = requests.get(model_url).json()
    (status,) = body["model_version_status"][:1]
    assert status["state"] == "AVAILABLE" and status["version"].isdigit()
    assert status["status"]["error_code"] == "OK"
    specific = requests.get(f"{model_url}/versions/{status['version']}").json()
    assert specific["model_version_status"][0]["version"] == status["version"]


def test_metadata_describes_the_signatures(model_url):
    body = requests.get(model_url + "/metadata").json()
    assert body["model_spec"]["version"].isdigit()
    signatures = body["metadata"]["signature_def"]["signature_def"]
    default = signatures["serving_default"]
    assert default["inputs"]["history"]["dtype"] == "DT_STRING"
    assert len(default["inputs"]["history"]["tensor_shape"]["dim"]) == 2
    assert {k: v["dtype"] for k, v in default["outputs"].items()} == {
        "item_ids": "DT_STRING", "scores": "DT_FLOAT", "facet_weights": "DT_FLOAT"}
    assert default["method_name"] == "tensorflow/serving/predict"
    assert signatures["serving_examples"]["inputs"]["examples"]["dtype"] == "DT_STRING"
    assert "history" in signatures["serving_exclude_history"]["inputs"]


def test_row_and_columnar_formats_agree(model_url, vocabulary_sample):
    histories = [vocabulary_sample[:3], ["", "", vocabulary_sample[3]]]
    rows = _predict(model_url, {"instances": histories})["predictions"]
    columns = _predict(model_url, {"inputs": {"history": histories}})["outputs"]
    named_rows = _predict(model_url, {"instances": [{"history": h} for h in histories]})["predictions"]
    assert len(rows) == 2 and named_rows == rows
    for name in ("item_ids", "scores", "facet_weights"):
        assert [row[name] for row in rows] == columns[name]
    assert all(row["scores"] == sorted(row["scores"], reverse=True) for row in rows)
    assert all(len(row["item_ids"]) == len(row["scores"]) > 0 for row in rows)


def test_version_path_and_signature_name(model_url, vocabulary_sample):
    version = requests.get(model_url).json()["model_version_status"][0]["version"]
    history = vocabulary_sample[:3]
    latest = _predict(model_url, {"instances": [history]})
    assert _predict(f"{model_url}/versions/{version}", {"instances": [history]}) == latest
    excluded = _predict(model_url, {"instances": [history], "signature_name": "serving_exclude_history"})
    assert not set(excluded["predictions"][0]["item_ids"]) & set(history)


def test_unknown_ids_are_ignored_and_empty_history_answers(model_url, vocabulary_sample):
    clean = _predict(model_url, {"instances": [vocabulary_sample[:2]]})
    noisy = _predict(model_url, {"instances": [["no-such-item", vocabulary_sample[0], "", vocabulary_sample[1]]]})
    assert noisy["predictions"][0]["item_ids"] == clean["predictions"][0]["item_ids"]
    empty = _predict(model_url, {"instances": [["", ""]]})["predictions"][0]
    assert len(empty["item_ids"]) == len(clean["predictions"][0]["item_ids"])


def test_serialized_examples_as_b64(model_url, vocabulary_sample):
    history = vocabulary_sample[:3]
    example = tf.train.Example(features=tf.train.Features(feature={"history": tf.train.Feature(
        bytes_list=tf.train.BytesList(value=[item.encode() for item in history]))})).SerializeToString()
    body = {"signature_name": "serving_examples", "instances": [{"b64": base64.b64encode(example).decode()}]}
    assert _predict(model_url, body)["predictions"] == _predict(model_url, {"instances": [history]})["predictions"]


def test_client_recommends(endpoint, vocabulary_sample):
    url, name = endpoint
    client = RecommenderClient(url, model=name)
    recommendation = client.recommend(vocabulary_sample[:2], k=3)
    assert len(recommendation.items) == len(recommendation.scores) == 3
    assert recommendation.scores == sorted(recommendation.scores, reverse=True)
    batch = client.recommend_batch([vocabulary_sample[:2], []], k=3)
    assert batch[0].items == recommendation.items and len(batch[1].items) == 3
    assert batch[0].scores == pytest.approx(recommendation.scores, rel=1e-5)
    assert not set(client.recommend(vocabulary_sample[:2], k=3, exclude_history=True).items) & set(vocabulary_sample[:2])
    with pytest.raises(ServingError) as error:
        RecommenderClient(url, model="no-such-model").recommend(["x"])
    assert error.value.status == 404


@pytest.mark.parametrize("body", [
    b"{not json",
    b'{"instances": [["a"]], "inputs": {"history": [["a"]]}}',
    b'{"signature_name": "serving_default"}',
    b'{"instances": [["a"]], "signature_name": "no_such_signature"}',
    b'{"instances": [[1, 2]]}',
    b'{"instances": [["a"], ["b", "c"]]}',
])
def test_invalid_requests_get_400_with_an_error_message(model_url, body):
    response = requests.post(model_url + ":predict", data=body)
    assert response.status_code == 400 and isinstance(response.json()["error"], str)


def test_unknown_model_and_version_get_404(endpoint, model_url):
    url, _ = endpoint
    for response in (
        requests.post(f"{url}/v1/models/no-such-model:predict", json={"instances": [["a"]]}),
        requests.post(f"{model_url}/versions/999999999999:predict", json={"instances": [["a"]]}),
        requests.get(f"{url}/v1/models/no-such-model"),
    ):
        assert response.status_code == 404 and response.json()["error"]
    outside = requests.get(url + "/not-the-api")
    assert outside.status_code == 404 and outside.content == b""
