"""Model versions under a base path, loaded like TF Serving loads them.

A version is a numeric sub-directory; it is loaded only once its ``saved_model.pb`` exists (the
TFX Pusher copies that file last; ``fame_tf.export.export_version`` renames whole directories) and
after every signature has run once on a dummy batch. The set of served versions is an immutable
dict replaced in one assignment: a request holds the ``Servable`` it started with, so requests in
flight finish on the old version while new ones see the new one, and an old version is freed
when its last request ends.
"""

from __future__ import annotations

import dataclasses
import gc
import logging
import os
import threading
from typing import Dict, Mapping, Optional, Sequence, Tuple

from google.protobuf import json_format

from fame_tf.backend import saved_model_pb2, tf
from fame_tf import export

POLICIES = ("latest", "all", "specific")
log = logging.getLogger(__name__)


class ServableNotFound(LookupError):
    """No loaded version answers the request (HTTP 404)."""


class UnknownLabel(LookupError):
    """The version label is not defined (HTTP 400, as in TF Serving)."""


@dataclasses.dataclass(frozen=True)
class Servable:
    name: str
    version: int
    path: str
    signatures: Mapping[str, object]  # name -> ConcreteFunction
    signature_defs: Mapping[str, dict]  # name -> SignatureDef as TF Serving's JSON
    module: object  # the loaded SavedModel; keeps the functions' variables alive


def ready_versions(base_path: str) -> Sequence[int]:
    """Numeric sub-directories that hold a complete SavedModel, ascending."""
    return [v for v in export.versions(base_path) if os.path.isfile(os.path.join(base_path, str(v), "saved_model.pb"))]


def signature_defs(path: str) -> Dict[str, dict]:
    """The SignatureDefs of a SavedModel as JSON objects, field names as TF Serving prints them."""
    proto = saved_model_pb2.SavedModel()
    with open(os.path.join(path, "saved_model.pb"), "rb") as handle:
        proto.ParseFromString(handle.read())
    return {
        name: json_format.MessageToDict(sig, preserving_proto_field_name=True, including_default_value_fields=True)
        for name, sig in proto.meta_graphs[0].signature_def.items()
    }


def _dummy(spec: tf.TensorSpec) -> tf.Tensor:
    shape = [1 if d is None else d for d in spec.shape.as_list()]
    return tf.zeros(shape, spec.dtype) if spec.dtype != tf.string else tf.fill(shape, "")


def load_servable(name: str, version: int, path: str) -> Servable:
    """Loads a version and runs every signature once (first calls are slow; a broken export
    fails here instead of on a request)."""
    module = tf.saved_model.load(path)
    signatures = dict(module.signatures)
    for function in signatures.values():
        function(**{key: _dummy(spec) for key, spec in function.structured_input_signature[1].items()})
    return Servable(name, version, path, signatures, signature_defs(path), module)


class ModelManager:
    """Serves model ``name`` from ``base_path``: polls for versions every ``poll_seconds`` and keeps
    those the version ``policy`` asks for (``latest``: the highest; ``all``; ``specific``:
    ``versions``); ``labels`` map names such as ``stable`` to versions."""

    def __init__(self, name: str, base_path: str, poll_seconds: float = 1.0, policy: str = "latest",
                 versions: Sequence[int] = (), labels: Optional[Mapping[str, int]] = None):
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {POLICIES}, got {policy!r}")
        if policy == "specific" and not versions:
            raise ValueError("policy 'specific' needs versions")
        self.name, self.base_path, self.poll_seconds = name, base_path, poll_seconds
        self.policy, self.versions, self.labels = policy, set(versions), dict(labels or {})
        self._servables: Dict[int, Servable] = {}
        # version -> (saved_model.pb stamp, error); not retried until the file changes
        self._failed: Dict[int, Tuple[str, str]] = {}
        self._stop = threading.Event()
        self._thread: Optional[threading.Thread] = None
        self.polls = 0  # finished polls of the base path

    # -- lookup (request threads) -----------------------------------------------------------------
    def servables(self) -> Dict[int, Servable]:
        return self._servables

    def failed(self) -> Dict[int, str]:
        """Versions on disk whose current ``saved_model.pb`` failed to load -> the error."""
        return {v: error for v, (stamp, error) in dict(self._failed).items() if stamp and stamp == self._stamp(v)}

    def get(self, version: Optional[int] = None, label: Optional[str] = None) -> Servable:
        servables = self._servables  # one read: a consistent snapshot
        if label is not None:
            if label not in self.labels:
                raise UnknownLabel(f"Unrecognized servable version label: {label}")
            version = self.labels[label]
        if version is None:
            if not servables:
                raise ServableNotFound(f"Servable not found for request: Latest({self.name})")
            return servables[max(servables)]
        if version not in servables:
            raise ServableNotFound(f"Servable not found for request: Specific({self.name}, {version})")
        return servables[version]

    # -- polling ----------------------------------------------------------------------------------
    def _wanted(self, ready: Sequence[int]) -> set:
        if self.policy == "all":
            wanted = set(ready)
        elif self.policy == "specific":
            wanted = self.versions & set(ready)
        else:
            wanted = set(ready[-1:])
        return wanted | (set(self.labels.values()) & set(ready))

    def poll_once(self) -> None:
        """Loads the wanted versions that are new, then publishes the new set in one assignment. A
        version that fails to load is skipped (and the next one wanted instead) until its
        ``saved_model.pb`` changes."""
        current = self._servables
        loaded = dict(current)
        attempted = False
        while True:
            ready = [v for v in ready_versions(self.base_path)
                     if v not in self._failed or self._failed[v][0] != self._stamp(v)]
            missing = self._wanted(ready) - set(loaded)
            if not missing:
                break
            for version in sorted(missing, reverse=True):
                attempted = True
                path = os.path.join(self.base_path, str(version))
                try:
                    loaded[version] = load_servable(self.name, version, path)
                    log.info("loaded %s version %d from %s", self.name, version, path)
                except Exception as error:  # noqa: BLE001  (a broken version must not stop serving the others)
                    log.exception("could not load %s version %d from %s", self.name, version, path)
                    self._failed[version] = (self._stamp(version), f"{type(error).__name__}: {error}"[:2000])
        wanted = self._wanted(ready)
        loaded = {v: s for v, s in loaded.items() if v in wanted}
        if loaded.keys() != current.keys():
            self._servables = loaded
        if attempted:
            # Loading a SavedModel leaves reference cycles behind (the loader's graphs), which only
            # the cyclic collector frees and which Python's own schedule leaves in place: without
            # this a server's memory grows with every pushed version (the soak benchmark shows it).
            del current, loaded
            gc.collect()
        self.polls += 1

    def _stamp(self, version: int) -> str:
        pb = os.path.join(self.base_path, str(version), "saved_model.pb")
        return str(os.stat(pb).st_mtime_ns) if os.path.exists(pb) else ""

    def start(self) -> "ModelManager":
        """Loads what is there now, then keeps polling in a daemon thread."""
        self.poll_once()
        self._thread = threading.Thread(target=self._run, name=f"poll-{self.name}", daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                self.poll_once()
            except Exception:  # noqa: BLE001  (e.g. the base path vanished for a moment)
                log.exception("polling %s failed", self.base_path)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

