"""`assistant serve` on a local Ray (dashboard and usage statistics off, loopback only):
two replicas answer 64 requests from 16 clients with no error and both answer; bad input is
a 4xx with its message, never a 500. Skipped, with the reason, only where the scale extra
is not installed. Throughput and latency are measured in bench/, not here."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("ray.serve", reason="the scale extra (ray[serve]) is not installed")

from assistant.serve.command import deployment_options, free_port, start, stop

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
    port = free_port()
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


def test_remote_assistant_answers_with_verbatim_citations(server: str) -> None:
    from assistant.serve.remote import RemoteAssistant

    bot = RemoteAssistant(server)
    assert bot.article.title and bot.info()["chunks"] > 5
    answer = bot.ask(FIGURE_Q, history=[{"role": "user", "content": "Xin chào"}])
    assert answer.answered and "261" in (answer.short_answer or "")
    for c in answer.citations:
        assert bot.article.text[c.start:c.end] == c.text
    *chunks, final = list(bot.stream(FIGURE_Q))
    assert chunks == [final.text] and final.answered


def test_remote_library_adds_an_article_and_answers_from_it(server: str, small_article_path: Any) -> None:
    from assistant.errors import SourceError
    from assistant.ingest.sources import read_source
    from assistant.serve.remote import RemoteLibrary

    library = RemoteLibrary(server)
    article = read_source(small_article_path)
    entry = library.add(article)
    assert entry.article_id == article.sha256 and entry.passages >= 1
    bot = library.get(entry.article_id)
    assert bot.article.text == article.text and library.get(entry.article_id) is bot
    answer = bot.ask("Thư viện có bao nhiêu đầu sách?")
    assert answer.answered and "2.000" in answer.text
    for c in answer.citations:
        assert article.text[c.start:c.end] == c.text
    with pytest.raises(SourceError) as err:
        library.get("f" * 64)
    assert err.value.reason == "unknown_article"


def test_records_from_the_network_are_checked(server: str) -> None:
    text = "Một câu. Hai câu."
    bad = {"text": text, "paragraphs": [["body", 0, 999]], "sentences": []}
    code, reply = _post(server + "/articles", json.dumps({"article": bad}).encode())
    assert code == 422 and "outside the text" in reply["error"]
    code, reply = _post(server + "/articles", json.dumps({"article": "plain text"}).encode())
    assert code == 422 and "article record" in reply["error"]
    code, reply = _post(server + "/ask", json.dumps({"question": FIGURE_Q, "history": [1]}).encode())
    assert code == 422 and "history" in reply["error"]


def test_an_unreachable_backend_is_a_clear_error() -> None:
    from assistant.errors import ModelUnavailableError
    from assistant.serve.remote import RemoteAssistant

    with pytest.raises(ModelUnavailableError, match="http"):
        RemoteAssistant("ftp://example.org")
    with pytest.raises(ModelUnavailableError, match="does not answer"):
        RemoteAssistant(f"http://127.0.0.1:{free_port()}", timeout=5)


def test_the_web_chat_answers_through_the_backend(server: str, tmp_path: Any) -> None:
    from assistant.serve.remote import RemoteAssistant, RemoteLibrary
    from ui.chat import ChatHandlers
    from ui.feedback import FeedbackLog

    bot = RemoteAssistant(server)
    chat = ChatHandlers(bot, 2000, FeedbackLog(tmp_path / "feedback.jsonl"), RemoteLibrary(bot.backend))
    *_, (_box, _messages, _article, turns) = list(chat.respond(FIGURE_Q, [], 4, "hybrid", None))
    answer = turns[-1]["answer"]
    assert answer["answered"] and "261" in answer["short_answer"] and answer["citations"]


def test_the_cluster_config_is_a_serve_config_that_builds() -> None:
    import yaml
    from ray.serve import Application
    from ray.serve.schema import ServeDeploySchema

    from assistant.serve.app import app_builder

    root = Path(__file__).resolve().parents[1]
    config = ServeDeploySchema.model_validate(yaml.safe_load((root / "deploy" / "serve_config.yaml").read_text()))
    (app,) = config.applications
    assert app.import_path == "assistant.serve.app:app_builder"
    assert isinstance(app_builder(app.args), Application)
    assert app.deployments[0].name == "assistant"  # the deployment's name, so its settings apply
    with pytest.raises(ValueError, match="unknown args"):
        app_builder({"stor": "milvus:x.db"})
