"""`assistant serve` on a local Ray (dashboard and usage statistics off, loopback only):
two replicas answer 64 requests from 16 clients with no error and both answer; bad input is
a 4xx with its message, never a 500. Skipped, with the reason, only where the scale extra
is not installed. Throughput and latency are measured in bench/, not here."""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

pytest.importorskip("ray.serve", reason="the scale extra (ray[serve]) is not installed")

from assistant.serve.command import deployment_options, start, stop

pytestmark = pytest.mark.slow
FIGURE_Q = "Trong nhiệm kỳ 2010 – 2015 kết nạp được bao nhiêu đảng viên mới?"


def _post(url: str, body: bytes) -> tuple[int, dict[str, Any]]:
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


@pytest.fixture(scope="module")
def server(bundled_index: Any) -> Iterator[str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    start({"index_dir": str(bundled_index), "model": "offline"}, replicas=2, port=port, threads=1)
    yield f"http://127.0.0.1:{port}"
    stop()


def test_two_replicas_answer_16_clients_without_error(server: str) -> None:
    body = json.dumps({"question": FIGURE_Q}).encode()
    with ThreadPoolExecutor(16) as pool:
        results = list(pool.map(lambda _i: _post(server + "/ask", body), range(64)))
    assert [code for code, _ in results] == [200] * 64
    for _, answer in results:
        assert answer["answered"] and "261" in answer["short_answer"]
        assert all(c["text"] for c in answer["citations"])
    assert len(Counter(answer["replica"] for _, answer in results)) == 2


def test_bad_requests_get_a_4xx_with_the_reason(server: str) -> None:
    cases = [(b"not json", 400, "not JSON"), (b"[1, 2]", 400, "JSON object"),
             (json.dumps({"q": "x"}).encode(), 422, "unknown fields"),
             (json.dumps({"question": FIGURE_Q, "k": "3"}).encode(), 422, "whole number"),
             (json.dumps({"question": "a " * 5000}).encode(), 413, "limit"),
             (json.dumps({"question": FIGURE_Q, "article_id": "f" * 64}).encode(), 404, "")]
    for body, status, fragment in cases:
        code, reply = _post(server + "/ask", body)
        assert code == status, (body[:40], code, reply)
        assert fragment in reply["error"]


def test_health(server: str) -> None:
    with urllib.request.urlopen(server + "/healthz", timeout=30) as response:
        health = json.loads(response.read())
    assert health["status"] == "ok" and health["articles"] == 1 and health["replica"]


def test_autoscaling_options_pass_through() -> None:
    fixed = deployment_options(3, None, None, 2.0, 4, 1)
    assert fixed["num_replicas"] == 3 and "autoscaling_config" not in fixed
    auto = deployment_options(1, 1, 4, 1.5, 4, 1)["autoscaling_config"]
    assert auto == {"min_replicas": 1, "max_replicas": 4, "initial_replicas": 1, "target_ongoing_requests": 1.5}
    with pytest.raises(ValueError, match="above"):
        deployment_options(1, 5, 2, 2.0, 4, 1)
