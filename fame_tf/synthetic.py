"""Synthetic interactions: with the shape of real ones, for scale tests (any number of users), and
with planted facets, for the test of whether FAME's heads recover them (``planted_facets``).

Items are drawn with Zipf popularity (P(rank r) ~ r^-s; Amazon Beauty's counts fall with s ~ 0.7 on
a log-log fit), user lengths are resampled from a real data set's lengths (Beauty: at least 5,
median 6, 99th percentile 43), and each item has one fixed successor that follows it with
probability ``follow``, so that there is a sequential signal for a model to learn. Written as the
pipeline's interaction CSV (``user_id,item_id,timestamp``) one user at a time: nothing is held
for all users.
"""

from __future__ import annotations

import os
from typing import Dict, Iterator, List, Sequence, Tuple

import numpy as np

from fame_tf.readers import write_interactions


def zipf_probabilities(num_items: int, exponent: float) -> np.ndarray:
    weights = np.arange(1, num_items + 1, dtype=np.float64) ** -exponent
    return weights / weights.sum()


def synthetic_sequences(num_users: int, num_items: int, lengths: Sequence[int], exponent: float = 0.7,
                        follow: float = 0.5, seed: int = 0, chunk: int = 10_000) -> Iterator[Tuple[str, List[str]]]:
    """(user id, item ids oldest first) for ``num_users`` users over items ``i1``..``i<num_items>``;
    ``lengths`` are the user lengths to resample (e.g. a real data set's). An item's successor is
    drawn by popularity, so it can be the item itself. Bad arguments raise here, not when iterated."""
    if num_users < 1 or num_items < 2:
        raise ValueError(f"need at least 1 user and 2 items, got {num_users} users and {num_items} items")
    lengths = np.asarray(lengths, dtype=np.int64)
    if lengths.size == 0 or lengths.min() < 1:
        raise ValueError("lengths must be a non-empty list of positive user lengths")
    if not 0 <= follow <= 1:
        raise ValueError(f"follow must be in [0, 1], got {follow}")
    if chunk < 1:
        raise ValueError(f"chunk must be >= 1, got {chunk}")
    return _generate(num_users, num_items, lengths, exponent, follow, seed, chunk)


def _generate(num_users, num_items, lengths, exponent, follow, seed, chunk):
    gen = np.random.default_rng(seed)
    popularity = zipf_probabilities(num_items, exponent)
    rank_to_item = gen.permutation(num_items) + 1  # the most popular item is not item 1
    successor = rank_to_item[gen.choice(num_items, size=num_items + 1, p=popularity)]
    for start in range(0, num_users, chunk):  # draws in chunks: fast, and bounded memory
        size = min(chunk, num_users - start)
        user_lengths = gen.choice(lengths, size=size)
        draws = rank_to_item[gen.choice(num_items, size=int(user_lengths.sum()), p=popularity)]
        follows = gen.random(draws.size) < follow
        offset = 0
        for u, length in enumerate(user_lengths):
            items = draws[offset:offset + length].copy()
            for t in range(1, length):
                if follows[offset + t]:
                    items[t] = successor[items[t - 1]]
            offset += length
            yield f"u{start + u + 1}", [f"i{item}" for item in items]


def write_synthetic(path: str, sequences) -> dict:
    """Writes ``synthetic_sequences`` to ``path`` as interaction CSV; returns the counts."""
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    try:
        with open(path + ".tmp", "w", newline="", encoding="utf-8") as handle:
            users, interactions = write_interactions(handle, sequences)
    except BaseException:
        os.remove(path + ".tmp")
        raise
    os.replace(path + ".tmp", path)
    return {"users": users, "interactions": interactions}


def planted_facets(num_users: int, colours: int = 4, shapes: int = 4, copies: int = 5, length: int = 8,
                   seed: int = 0) -> Tuple[Dict[str, List[str]], Dict[str, List[str]]]:
    """Interactions with two planted facets, and the items' attributes: item ``c<c>s<s>k<k>`` has the
    attributes ``colour<c>`` and ``shape<s>``. Half of the users choose every item by one colour
    (any shape), the other half by one shape (any colour), so a recommender must tell from a
    history which facet drives it: the test of whether FAME's heads recover facets. Returns
    (sequences {user: items}, attributes {item: [attribute, ...]})."""
    if num_users < 2 or min(colours, shapes, copies) < 1 or length < 3:
        raise ValueError("need at least 2 users, one colour, shape and copy, and a length of at least 3")
    gen = np.random.default_rng(seed)
    items = [(c, s, k) for c in range(colours) for s in range(shapes) for k in range(copies)]
    attributes = {f"c{c}s{s}k{k}": [f"colour{c}", f"shape{s}"] for c, s, k in items}
    sequences = {}
    for user in range(num_users):
        facet, value = (0, gen.integers(colours)) if user % 2 == 0 else (1, gen.integers(shapes))
        pool = [f"c{c}s{s}k{k}" for c, s, k in items if (c, s)[facet] == value]
        sequences[f"u{user}"] = list(gen.choice(pool, size=length, replace=False))
    return sequences, attributes
