"""A small client for apps: ``RecommenderClient(url).recommend(history, k)`` against this
project's server or a real TensorFlow Serving (same REST API). Needs ``requests`` and the contract's names
(``fame_tf.contract``)."""

from __future__ import annotations

import dataclasses
from typing import List, Optional, Sequence

import requests

from fame_tf.contract import FACET_WEIGHTS, ITEM_IDS, SCORES, SERVING_DEFAULT, SERVING_EXCLUDE_HISTORY


class ServingError(RuntimeError):
    """The server answered with an error (``status`` is the HTTP code)."""

    def __init__(self, status: int, message: str):
        super().__init__(f"HTTP {status}: {message}")
        self.status, self.message = status, message


@dataclasses.dataclass
class Recommendations:
    items: List[str]  # raw item ids, best first
    scores: List[float]
    facet_weights: List[float]  # FAME's gate: how much each facet (head) contributed; [] for SASRec


class RecommenderClient:
    """Calls ``:predict`` of model ``model`` (a specific ``version`` or ``label`` if given).

    ``k`` cuts the export's top-K list (it cannot extend it); ``exclude_history`` uses the
    ``serving_exclude_history`` signature."""

    def __init__(self, url: str, model: str, version: Optional[int] = None, label: Optional[str] = None,
                 timeout: float = 10.0):
        path = f"/v1/models/{model}" + (f"/versions/{version}" if version is not None else "") + (
            f"/labels/{label}" if label is not None else "")
        self.predict_url = url.rstrip("/") + path + ":predict"
        self.timeout = timeout
        self.session = requests.Session()

    def recommend(self, history: Sequence[str], k: int = 10, exclude_history: bool = False) -> Recommendations:
        """Top-``k`` next items after ``history`` (raw item ids, oldest first)."""
        return self.recommend_batch([history], k, exclude_history)[0]

    def recommend_batch(self, histories: Sequence[Sequence[str]], k: int = 10,
                        exclude_history: bool = False) -> List[Recommendations]:
        length = max([1] + [len(h) for h in histories])  # "" pads; a history is never 0 wide
        body = {
            "signature_name": SERVING_EXCLUDE_HISTORY if exclude_history else SERVING_DEFAULT,
            "instances": [[""] * (length - len(h)) + [str(item) for item in h] for h in histories],
        }
        response = self.session.post(self.predict_url, json=body, timeout=self.timeout)
        if response.status_code != 200:
            try:
                message = response.json()["error"]
            except (ValueError, KeyError, TypeError):
                message = response.text
            raise ServingError(response.status_code, message)
        return [Recommendations(row[ITEM_IDS][:k], row[SCORES][:k], row[FACET_WEIGHTS])
                for row in response.json()["predictions"]]

    def close(self) -> None:
        self.session.close()
