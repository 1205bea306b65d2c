"""The test sandbox itself: other tests rely on it to prove "no network" and isolation."""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

from .conftest import NETWORK_BLOCKED


def test_non_loopback_connections_are_blocked() -> None:
    with pytest.raises(OSError, match=NETWORK_BLOCKED):
        socket.create_connection(("huggingface.co", 443), timeout=1)
    with pytest.raises(OSError, match=NETWORK_BLOCKED):
        socket.getaddrinfo("huggingface.co", 443)
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        with pytest.raises(OSError, match=NETWORK_BLOCKED):
            sock.connect(("93.184.216.34", 80))
        with pytest.raises(OSError, match=NETWORK_BLOCKED):
            sock.connect_ex(("10.0.0.1", 80))


def test_loopback_connections_still_work() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]
        accepted: list[bytes] = []

        def serve() -> None:
            conn, _ = server.accept()
            with conn:
                accepted.append(conn.recv(16))

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        with socket.create_connection(("localhost", port), timeout=5) as client:
            client.sendall(b"ping")
        thread.join(5)
    assert accepted == [b"ping"]


def test_environment_is_isolated(assistant_home: Path) -> None:
    from assistant.paths import default_index_dir, state_dir

    assert os.environ["ASSISTANT_HOME"] == str(assistant_home)
    assert os.environ["HF_HUB_OFFLINE"] == "1"
    assert "ASSISTANT_MODEL" not in os.environ
    assert state_dir() == assistant_home
    assert default_index_dir() == assistant_home / "index" / "default"
