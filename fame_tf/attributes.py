"""Item attributes (brand, category, ...) as side information: the reader of an
``{"item_id": [attribute_id, ...]}`` JSON file matched to a catalogue, and the measure of how much a
list of items concentrates on one attribute.

Attributes ground FAME's facets (``FameConfig.attribute_loss_weight``): each head's view of an item
learns to predict the item's attributes. Nothing is dropped silently: catalogue items the file does
not list and listed items the catalogue does not hold are counted in the report, and a file that
matches no catalogue item is an error.
"""

from __future__ import annotations

import dataclasses
import functools
import json
from typing import Dict, List

import numpy as np

from fame_tf.data import DataError, Vocabulary
from fame_tf.readers import open_text


@dataclasses.dataclass
class ItemAttributes:
    """``ids`` [num_items + 1, K]: each model item's attribute ids 1..A, left-aligned, 0-padded (row 0
    is the padding item, without attributes); ``names[a - 1]`` is attribute ``a``'s id in the file."""

    ids: np.ndarray
    names: List[str]
    report: Dict[str, int]

    @property
    def num_attributes(self) -> int:
        return len(self.names)

    @functools.cached_property
    def multi_hot(self) -> np.ndarray:
        """[num_items + 1, A + 1] bool; column 0 (padding) is never set. Built once per instance:
        ``attribute_concentration`` reads it again for every view."""
        rows = np.repeat(np.arange(len(self.ids)), self.ids.shape[1])
        out = np.zeros((len(self.ids), self.num_attributes + 1), bool)
        out[rows, self.ids.reshape(-1)] = True
        out[:, 0] = False
        return out

    def shuffled(self, seed: int = 0) -> "ItemAttributes":
        """The same attribute lists dealt to other items (a permutation of the catalogue's items): the
        baseline of a concentration that attributes would show by chance."""
        order = np.random.default_rng(seed).permutation(np.arange(1, len(self.ids)))
        return dataclasses.replace(self, ids=np.concatenate([self.ids[:1], self.ids[order]]))


def _attribute_list(item: str, value, path: str) -> List[str]:
    if not isinstance(value, list) or not all(isinstance(a, (str, int)) and not isinstance(a, bool) for a in value):
        raise DataError(f"{path}: item {item!r}: expected a list of attribute ids (strings or integers), "
                        f"got {json.dumps(value)[:80]}")
    return [str(a) for a in value]


def read_item_attributes(path: str, vocab: Vocabulary) -> ItemAttributes:
    """Reads the attributes of a catalogue's items from a JSON file.

    Args:
        path: a local path or a URL of a JSON object ``{"item_id": [attribute_id, ...]}`` (attribute
            ids are strings or integers).
        vocab: the catalogue.

    Returns:
        The ``ItemAttributes`` of ``vocab``'s items; its report counts the attributes, the items with
        and without attributes and the listed items not in the catalogue.

    Raises:
        DataError: if the file is missing, not JSON or not such an object, or lists attributes for none
            of the catalogue's items.
    """
    try:
        with open_text(path) as handle:
            content = json.load(handle)
    except FileNotFoundError as error:
        raise DataError(f"{path}: no such attribute file") from error
    except json.JSONDecodeError as error:
        raise DataError(f"{path}: not JSON ({error})") from error
    if not isinstance(content, dict):
        raise DataError(f'{path}: expected a JSON object {{"item_id": [attribute_id, ...]}}, got a '
                        f"{type(content).__name__}")
    listed = {str(item): _attribute_list(str(item), value, path) for item, value in content.items()}
    index: Dict[str, int] = {}
    rows = []
    for item in vocab.items:
        attributes = list(dict.fromkeys(listed.get(item, ())))
        rows.append([index.setdefault(a, len(index) + 1) for a in attributes])
    covered = sum(1 for item in vocab.items if listed.get(item))
    if not covered:
        sample = list(listed)[:3]
        raise DataError(f"{path}: lists attributes for none of the catalogue's {len(vocab)} items (its item ids "
                        f"begin {sample}, the catalogue's {vocab.items[:3]}): is it the attribute file of this data?")
    width = max(1, max(len(r) for r in rows))
    ids = np.zeros((len(vocab) + 1, width), np.int32)
    for row, attributes in enumerate(rows, 1):
        ids[row, :len(attributes)] = attributes
    catalogue = set(vocab.items)
    report = {"attributes": len(index), "items_with_attributes": covered,
              "items_without_attributes": len(vocab) - covered,
              "listed_items_not_in_catalogue": sum(1 for item in listed if item not in catalogue)}
    return ItemAttributes(ids=ids, names=list(index), report=report)


def dominant_attributes(items: np.ndarray, attributes: ItemAttributes) -> Dict[str, np.ndarray]:
    """Each row's dominant attribute: the attribute most of its items carry.

    Args:
        items: [U, K] item ids.
        attributes: the items' attributes.

    Returns:
        ``attribute`` [U], the dominant attribute's id (0 when no item has one), and ``share`` [U], the
        share of the row's items that carry it.
    """
    hot = attributes.multi_hot[items]  # [U, K, A + 1]
    counts = hot.sum(axis=1)
    top = counts.argmax(axis=1)
    return {"attribute": top, "share": counts[np.arange(len(items)), top] / items.shape[1]}


def concentration(items: np.ndarray, attributes: ItemAttributes, top: int = 5) -> Dict:
    """How strongly rows of items concentrate on one attribute.

    Args:
        items: [U, K] item ids, e.g. a head's top-K per user.
        attributes: the items' attributes.
        top: the number of attributes ``top_attributes`` lists.

    Returns:
        ``share``, the mean over rows of the dominant attribute's share, and ``top_attributes``, the
        attributes most often dominant, with the fraction of rows each dominates (``attribute``, its
        id in the file, and ``rows``).
    """
    dominant = dominant_attributes(items, attributes)
    ids, counts = np.unique(dominant["attribute"][dominant["share"] > 0], return_counts=True)
    order = np.argsort(-counts, kind="stable")[:top]
    return {"share": float(dominant["share"].mean()),
            "top_attributes": [{"attribute": attributes.names[ids[i] - 1], "rows": float(counts[i] / len(items))}
                               for i in order]}
