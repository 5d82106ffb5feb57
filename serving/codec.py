"""TF Serving's REST JSON <-> tensors: the row (``instances``) and columnar (``inputs``) request
formats and their ``predictions`` / ``outputs`` answers. Strings may be ``{"b64": ...}``; output
strings are UTF-8 text (``{"b64": ...}`` when the output name ends in ``_bytes`` or the bytes are
not UTF-8). Only JSON is parsed: nothing is unpickled or evaluated."""

from __future__ import annotations

import base64
import binascii
from typing import Any, Dict, List, Mapping

import numpy as np

from fame_tf.backend import tf

MAX_DEPTH = 32  # of a tensor value's nested lists; signatures take rank <= 2, so this is generous


class InvalidArgument(ValueError):
    """The request does not fit the signature (HTTP 400)."""


def _scalar(value: Any, dtype: tf.DType):
    if dtype == tf.string:
        if isinstance(value, str):
            return value.encode("utf-8")
        if isinstance(value, dict) and set(value) == {"b64"} and isinstance(value["b64"], str):
            try:
                return base64.b64decode(value["b64"], validate=True)
            except binascii.Error as error:
                raise InvalidArgument(f"invalid base64 string: {error}") from error
        raise InvalidArgument(f"expected a string or {{\"b64\": ...}} for a {dtype.name} input, got {value!r:.80}")
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if dtype == tf.bool and isinstance(value, bool) or dtype.is_integer and number and isinstance(value, int) \
            or dtype.is_floating and number:
        return value
    raise InvalidArgument(f"expected a {dtype.name} value, got {value!r:.80}")


def _text_matrix(value: Any) -> bool:
    """Whether ``value`` is a non-empty list of equally long, non-empty lists of str: a batch of
    histories, the usual request, which then skips the general per-value walk."""
    return (isinstance(value, list) and bool(value) and isinstance(value[0], list) and bool(value[0])
            and all(isinstance(row, list) and len(row) == len(value[0]) for row in value)
            and all(isinstance(text, str) for row in value for text in row))


def to_array(value: Any, dtype: tf.DType) -> np.ndarray:
    """A rectangular nested JSON list of scalars as an array of ``dtype``."""
    if dtype == tf.string and _text_matrix(value):
        array = np.empty((len(value), len(value[0])), dtype=object)
        array[:] = [[text.encode("utf-8") for text in row] for row in value]
        return array
    shape: List[int] = []
    flat: List[Any] = []
    leaf_depth = [None]

    def walk(node, depth):
        if depth > MAX_DEPTH:
            raise InvalidArgument(f"the value is nested deeper than {MAX_DEPTH} levels")
        if isinstance(node, list):
            if depth == len(shape):
                shape.append(len(node))
            elif depth > len(shape) or shape[depth] != len(node):
                raise InvalidArgument("the value is not rectangular (lists of different lengths)")
            for child in node:
                walk(child, depth + 1)
            return
        if leaf_depth[0] is None:
            leaf_depth[0] = depth
        if depth != leaf_depth[0] or depth != len(shape):
            raise InvalidArgument("the value is not rectangular (scalars at different depths)")
        flat.append(_scalar(node, dtype))

    walk(value, 0)
    np_dtype = object if dtype == tf.string else dtype.as_numpy_dtype
    try:
        return np.array(flat, dtype=np_dtype).reshape(shape)
    except (OverflowError, ValueError) as error:
        raise InvalidArgument(f"cannot convert the value to {dtype.name}: {error}") from error


def _check(name: str, array: np.ndarray, spec: tf.TensorSpec) -> np.ndarray:
    if not spec.shape.is_compatible_with(array.shape):
        raise InvalidArgument(f"input {name!r} has shape {list(array.shape)}, the signature expects {spec.shape}")
    return array


def decode_request(body: Mapping, specs: Mapping[str, tf.TensorSpec], max_batch_size: int):
    """``(arrays, row_format)`` for a predict request against input ``specs``: NumPy arrays of the
    specs' dtypes (strings as bytes objects), so batching merges them without TF ops."""
    if ("instances" in body) == ("inputs" in body):
        raise InvalidArgument('the request needs exactly one of "instances" (row format) or "inputs" (columnar)')
    names = sorted(specs)
    if "instances" in body:
        rows = body["instances"]
        if not isinstance(rows, list):
            raise InvalidArgument('"instances" must be a list')
        columns = {}
        for name in names:
            if len(names) == 1:
                column = [row[name] if isinstance(row, dict) and name in row else row for row in rows]
            else:
                if not all(isinstance(row, dict) and name in row for row in rows):
                    raise InvalidArgument(f"with several inputs each instance must be an object with {names}")
                column = [row[name] for row in rows]
            columns[name] = column
        batch = len(rows)
    else:
        inputs = body["inputs"]
        if isinstance(inputs, dict) and set(inputs) == set(names):
            columns = dict(inputs)
        elif len(names) == 1 and not (isinstance(inputs, dict) and "b64" not in inputs):
            columns = {names[0]: inputs}
        else:
            raise InvalidArgument(f'"inputs" must be an object with the signature\'s inputs {names}')
        batch = max((len(v) if isinstance(v, list) else 1 for v in columns.values()), default=0)
    if batch > max_batch_size:
        raise InvalidArgument(f"batch size {batch} exceeds the server's limit of {max_batch_size}")
    arrays = {name: _check(name, to_array(columns[name], specs[name].dtype), specs[name]) for name in names}
    return arrays, "instances" in body


def _json(array: np.ndarray, as_b64: bool):
    if array.dtype != object:
        return array.tolist()
    def text(value: bytes):
        if not as_b64:
            try:
                return value.decode("utf-8")
            except UnicodeDecodeError:
                pass
        return {"b64": base64.b64encode(value).decode("ascii")}
    return np.vectorize(text, otypes=[object])(array).tolist() if array.size else array.tolist()


def encode_response(arrays: Mapping[str, np.ndarray], row_format: bool) -> Dict[str, Any]:
    """``{"predictions": ...}`` (one entry per row) or ``{"outputs": ...}`` (one per output) for a
    signature's outputs as NumPy arrays."""
    values = {name: _json(array, name.endswith("_bytes")) for name, array in arrays.items()}
    single = len(values) == 1
    if not row_format:
        return {"outputs": next(iter(values.values())) if single else values}
    sizes = {array.shape[0] if array.ndim else None for array in arrays.values()}
    if len(sizes) != 1 or None in sizes:
        raise InvalidArgument("outputs have different batch sizes; use the columnar format (\"inputs\")")
    if single:
        return {"predictions": next(iter(values.values()))}
    (size,) = sizes
    return {"predictions": [{name: value[i] for name, value in values.items()} for i in range(size)]}
