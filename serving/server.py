"""TF Serving's REST API over one model base path, as the official server answers it:

``GET /v1/models/<name>[/versions/<v>|/labels/<l>]`` (status), ``.../metadata`` and
``POST ...:predict``; errors are ``{"error": message}`` with TF Serving's HTTP codes (400 invalid
argument, 404 unknown model/version, 500 internal), paths outside ``/v1/`` give 404 with an empty
body. Beyond TF Serving: request bodies over ``max_body_bytes`` get 413 and batches over
``max_batch_size`` get 400, and a body must come with a Content-Length (411). Binds 127.0.0.1
unless told otherwise. Standard library HTTP (threaded, HTTP/1.1 keep-alive), JSON only;
concurrent predict calls are batched (``serving.batching``) unless ``batching=False``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional, Tuple
from urllib.parse import urlsplit

from fame_tf.backend import tf
from fame_tf.contract import MODEL_NAME, SERVING_DEFAULT
from serving.batching import Batcher, run
from serving.codec import InvalidArgument, decode_request, encode_response
from serving.models import ModelManager, ServableNotFound, UnknownLabel

DEFAULT_PORT = 8501
MAX_BODY_BYTES = 4 * 1024 * 1024
MAX_BATCH_SIZE = 1024
DEFAULT_SIGNATURE = SERVING_DEFAULT
_ROUTE = re.compile(
    r"^/v1/models/(?P<name>[^/:]+)(?:/versions/(?P<version>\d+)|/labels/(?P<label>[^/:]+))?"
    r"(?:(?P<metadata>/metadata)|:(?P<verb>predict|classify|regress))?$"
)
log = logging.getLogger(__name__)


Answer = Tuple[int, bytes]  # HTTP status, JSON body


def _error(status: int, message: str) -> Answer:
    return status, json.dumps({"error": message}).encode()


def _ok(payload) -> Answer:
    return 200, json.dumps(payload).encode()


def _version_status(version: int, error: Optional[str]) -> dict:
    if error is None:
        return {"version": str(version), "state": "AVAILABLE", "status": {"error_code": "OK", "error_message": ""}}
    return {"version": str(version), "state": "END", "status": {"error_code": "UNKNOWN", "error_message": error}}


class RestApp:
    """Routes TF Serving REST paths to a ``ModelManager``; independent of the HTTP server."""

    def __init__(self, manager: ModelManager, max_body_bytes: int = MAX_BODY_BYTES,
                 max_batch_size: int = MAX_BATCH_SIZE, batching: bool = True):
        self.manager, self.max_body_bytes, self.max_batch_size = manager, max_body_bytes, max_batch_size
        self.batcher = Batcher(max_batch_size) if batching else None

    def handle(self, method: str, path: str, body: bytes) -> Answer:
        if not path.startswith("/v1/"):
            return 404, b""
        match = _ROUTE.match(path)
        verb = match and match["verb"]
        if not match or method != ("POST" if verb else "GET"):
            return _error(404, f"Malformed request: {method} {path}")
        if match["name"] != self.manager.name:
            return _error(404, f"Servable not found for request: Latest({match['name']})"
                          if verb else f"Could not find any versions of model {match['name']}")
        try:
            version = int(match["version"]) if match["version"] else None
            if verb:
                return self.predict(body, verb, version, match["label"])
            if match["metadata"]:
                return self.metadata(version, match["label"])
            return self.status(version, match["label"])
        except (InvalidArgument, UnknownLabel) as error:
            return _error(400, str(error))
        except ServableNotFound as error:
            return _error(404, str(error))
        except tf.errors.InvalidArgumentError as error:
            return _error(400, error.message)
        except Exception as error:  # noqa: BLE001  (TF Serving answers 500, it does not drop the connection)
            log.exception("request failed")
            return _error(500, str(error))

    def status(self, version: Optional[int], label: Optional[str]) -> Answer:
        """Loaded versions are AVAILABLE; a version whose load failed is END with its error, as TF
        Serving reports it (until its directory is removed or replaced)."""
        failed = self.manager.failed()
        if version is None and label is None:
            available = self.manager.servables()
            if not available and not failed:
                raise ServableNotFound(f"Could not find any versions of model {self.manager.name}")
            versions = sorted(set(available) | set(failed), reverse=True)
        elif version in failed and version not in self.manager.servables():
            versions = [version]
        else:
            versions = [self.manager.get(version, label).version]
        return _ok({"model_version_status": [_version_status(v, failed.get(v)) for v in versions]})

    def metadata(self, version: Optional[int], label: Optional[str]) -> Answer:
        servable = self.manager.get(version, label)
        return _ok({
            "model_spec": {"name": servable.name, "signature_name": "", "version": str(servable.version)},
            "metadata": {"signature_def": {"signature_def": dict(servable.signature_defs)}},
        })

    def predict(self, data: bytes, verb: str, version: Optional[int], label: Optional[str]) -> Answer:
        servable = self.manager.get(version, label)  # held until the answer is computed
        if verb != "predict":
            raise InvalidArgument(f"this server implements :predict only, not :{verb}")
        try:
            body = json.loads(data)
        except ValueError as error:
            raise InvalidArgument(f"JSON Parse error: {error}") from error
        except RecursionError as error:  # nesting deeper than the parser's stack
            raise InvalidArgument("JSON Parse error: the body is nested too deeply") from error
        if not isinstance(body, dict):
            raise InvalidArgument("the request body must be a JSON object")
        name = body.get("signature_name", DEFAULT_SIGNATURE)
        if name not in servable.signatures or name.startswith("__"):
            raise InvalidArgument(f'Serving signature name: "{name}" not found in signature def')
        function = servable.signatures[name]
        arrays, row_format = decode_request(body, function.structured_input_signature[1], self.max_batch_size)
        outputs = self.batcher(function, arrays) if self.batcher else run(function, arrays)
        return _ok(encode_response(outputs, row_format))

    def close(self) -> None:
        if self.batcher:
            self.batcher.close()


class _Handler(BaseHTTPRequestHandler):
    """HTTP/1.1 with keep-alive; bodies need a Content-Length within the app's limit (else
    411/413 and the connection is closed, its body unread)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # headers and body are two writes: no 40 ms delayed-ACK stall
    timeout = 60  # idle keep-alive connections give their thread back

    def do_GET(self):
        self._answer(*self.server.app.handle("GET", urlsplit(self.path).path, b""))

    def do_POST(self):
        app = self.server.app
        length = self.headers.get("Content-Length", "")
        if not length.isdigit():
            self._answer(*_error(411, "a Content-Length header is required"), close=True)
        elif int(length) > app.max_body_bytes:
            self._answer(*_error(413, f"request body over the server's limit of {app.max_body_bytes} bytes"),
                         close=True)
        else:
            self._answer(*app.handle("POST", urlsplit(self.path).path, self.rfile.read(int(length))))

    def _answer(self, status: int, body: bytes, close: bool = False):
        self.send_response(status)
        if body:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if close:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format, *args):  # noqa: A002  (the base class's name)
        log.debug("%s " + format, self.address_string(), *args)


class Server:
    """A threaded HTTP server for ``app`` on ``host:port`` (port 0: an ephemeral port)."""

    def __init__(self, app: RestApp, host: str = "127.0.0.1", port: int = DEFAULT_PORT):
        self.app = app
        self.http = ThreadingHTTPServer((host, port), _Handler)
        self.http.daemon_threads = True
        self.http.app = app
        self.port = self.http.server_port
        self.url = f"http://{host}:{self.port}"
        self._thread: Optional[threading.Thread] = None

    def start(self) -> "Server":
        self._thread = threading.Thread(target=self.http.serve_forever, name="rest", daemon=True)
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.http.serve_forever()

    def stop(self) -> None:
        self.http.shutdown()
        self.http.server_close()
        self.app.close()
        self.app.manager.stop()
        if self._thread is not None:
            self._thread.join()


def serve(base_path: str, model_name: str = MODEL_NAME, host: str = "127.0.0.1", port: int = DEFAULT_PORT,
          poll_seconds: float = 1.0, **options) -> Server:
    """Starts a manager polling ``base_path`` and a server for it (not yet serving: call
    ``start()`` for a background thread or ``serve_forever()``). ``options`` go to ``ModelManager``
    (policy, versions, labels) and ``RestApp`` (max_body_bytes, max_batch_size, batching)."""
    app_options = {k: options.pop(k) for k in ("max_body_bytes", "max_batch_size", "batching") if k in options}
    manager = ModelManager(model_name, base_path, poll_seconds, **options).start()
    return Server(RestApp(manager, **app_options), host, port)
