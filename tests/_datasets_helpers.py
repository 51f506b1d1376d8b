"""Helpers for the dataset tests: tiny IDX datasets and a local HTTP server that serves them."""

from __future__ import annotations

import hashlib
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

from nnet.datasets import write_idx

IDX_FILE_NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


@dataclass
class TinyDataset:
    """Four IDX .gz files of random 28x28 images, as bytes, with the arrays they hold."""

    arrays: dict[str, np.ndarray]
    blobs: dict[str, bytes]  # file name -> .gz bytes

    def digest(self, role: str, algorithm: str = "md5") -> str:
        data = self.blobs[IDX_FILE_NAMES[role]]
        return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def make_tiny_dataset(
    folder: Path, n_train: int = 50, n_test: int = 20, seed: int = 0
) -> TinyDataset:
    """Write a tiny MNIST-shaped dataset into ``folder`` with ``write_idx``; keep its bytes."""
    rng = np.random.default_rng(seed)
    arrays = {
        "train_images": rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, size=n_train, dtype=np.uint8),
        "test_images": rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, size=n_test, dtype=np.uint8),
    }
    folder.mkdir(parents=True, exist_ok=True)
    blobs = {}
    for role, array in arrays.items():
        file = write_idx(folder / IDX_FILE_NAMES[role], array)
        blobs[file.name] = file.read_bytes()
    return TinyDataset(arrays, blobs)


@dataclass
class FileServer:
    """A ThreadingHTTPServer on 127.0.0.1 serving ``files`` (URL path -> bytes).

    ``requests`` records every GET path. Paths in ``drop`` get a Content-Length for the whole
    body but only half of it before the connection closes.
    """

    files: dict[str, bytes] = field(default_factory=dict)
    drop: set[str] = field(default_factory=set)
    requests: list[str] = field(default_factory=list)

    def start(self) -> FileServer:
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                owner.requests.append(self.path)
                body = owner.files.get(self.path)
                if body is None:
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/gzip")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path in owner.drop:
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:  # keep test output clean
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )
        self._thread.start()
        return self

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
