"""A real sentence-transformers model through the real loading path: the tiny model built
by the `tiny_model_dir` fixture (offline, 32 dimensions, 128-token limit, named e5-tiny so
the e5 prefixes apply). Marked slow: the torch import alone takes several seconds."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from assistant import Assistant, ChunkingConfig
from assistant.errors import ModelUnavailableError
from assistant.ingest.chunking import search_text
from assistant.search.embeddings import SentenceTransformerEmbeddings
from assistant.search.resolve import resolve_embedder

pytestmark = pytest.mark.slow

TEXT = "Chi bộ đã kết nạp được 108 đảng viên mới."


@pytest.fixture(scope="module")
def tiny(tiny_model_dir: Path) -> SentenceTransformerEmbeddings:
    emb = resolve_embedder(str(tiny_model_dir))
    assert isinstance(emb, SentenceTransformerEmbeddings)
    return emb


@pytest.fixture(scope="module")
def tiny_index(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Assistant]:
    from assistant.paths import bundled_article

    directory = tmp_path_factory.mktemp("tiny-index") / "index"
    bot = Assistant.build([bundled_article()], directory, model=str(tiny_model_dir),
                          chunking=ChunkingConfig(max_tokens=400), announce=lambda _m: None)
    return directory, bot


def test_local_model_directory_loads_as_sentence_transformers(tiny: SentenceTransformerEmbeddings,
                                                              tiny_model_dir: Path) -> None:
    info = tiny.info
    assert info.kind == "sentence-transformers"
    assert info.dim == 32
    assert info.max_seq_length == 128
    assert info.fallback_reason is None
    assert info.requested == str(tiny_model_dir)
    assert "dim 32" in info.describe()


def test_e5_prefixes_are_applied_automatically(tiny: SentenceTransformerEmbeddings) -> None:
    assert (tiny.query_prefix, tiny.passage_prefix) == ("query: ", "passage: ")
    query = np.array(tiny.embed_query(TEXT))
    passage = np.array(tiny.embed_documents([TEXT])[0])
    assert not np.allclose(query, passage, atol=1e-4)
    # the prefix is what makes the difference: embedding the prefixed text without a prompt
    plain = SentenceTransformerEmbeddings(tiny.model_id, path=tiny.path, query_prefix="", passage_prefix="")
    assert np.allclose(query, plain.embed_query("query: " + TEXT), atol=1e-5)
    assert np.allclose(passage, plain.embed_documents(["passage: " + TEXT])[0], atol=1e-5)


def test_query_and_passage_are_equal_without_prefixes(tiny: SentenceTransformerEmbeddings) -> None:
    plain = SentenceTransformerEmbeddings(tiny.model_id, path=tiny.path, query_prefix="", passage_prefix="")
    assert np.allclose(plain.embed_query(TEXT), plain.embed_documents([TEXT])[0], atol=1e-6)


def test_model_embeddings_are_normalised(tiny: SentenceTransformerEmbeddings) -> None:
    vecs = tiny.embed_array([TEXT, "Thứ sáu, 02/12/2022", "lớp cảm tình Đảng"])
    assert vecs.dtype == np.float32 and vecs.shape == (3, 32)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert np.isclose(np.linalg.norm(tiny.embed_query(TEXT)), 1.0, atol=1e-5)


def test_count_tokens_includes_the_passage_prefix_and_special_tokens(tiny: SentenceTransformerEmbeddings) -> None:
    tokenizer = tiny.model.tokenizer
    assert tiny.count_tokens(TEXT) == len(tokenizer("passage: " + TEXT)["input_ids"])
    assert tiny.count_tokens(TEXT) > len(tokenizer(TEXT, add_special_tokens=False)["input_ids"]) + 2


def test_prompts_from_the_model_config_are_used(tiny_model_dir: Path, tmp_path: Path) -> None:
    model = tmp_path / "prompted-model"
    shutil.copytree(tiny_model_dir, model)
    config_path = model / "config_sentence_transformers.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["prompts"] = {"query": "câu hỏi: ", "document": "đoạn văn: "}
    config_path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    emb = resolve_embedder(str(model))
    assert isinstance(emb, SentenceTransformerEmbeddings)
    assert (emb.query_prefix, emb.passage_prefix) == ("câu hỏi: ", "đoạn văn: ")
    assert emb.info.query_prefix == "câu hỏi: "
    assert not np.allclose(emb.embed_query(TEXT), emb.embed_documents([TEXT])[0], atol=1e-4)


def test_build_and_reload_an_index_with_the_model(tiny_index: tuple[Path, Assistant]) -> None:
    directory, built = tiny_index
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["embedder"]["kind"] == "sentence-transformers"
    assert manifest["embedder"]["dim"] == 32
    assert manifest["embedder"]["passage_prefix"] == "passage: "
    assert manifest["faiss"]["dim"] == 32
    messages: list[str] = []
    bot = Assistant.load(directory, announce=messages.append)
    assert not any("Building" in m for m in messages), messages
    assert isinstance(bot.embedder, SentenceTransformerEmbeddings)
    passages = bot.retrieve("lớp cảm tình Đảng", k=3)
    assert [p.rank for p in passages] == [1, 2, 3]
    for p in passages:
        assert bot.article.text[p.start : p.end] == p.text
    assert [p.chunk_id for p in passages] == [p.chunk_id for p in built.retrieve("lớp cảm tình Đảng", k=3)]


def test_chunks_fit_the_model_sequence_length(tiny_index: tuple[Path, Assistant]) -> None:
    """ChunkingConfig(max_tokens=400) is capped at the model's 128 tokens."""
    _, bot = tiny_index
    assert bot.stored.manifest["chunking"]["max_tokens"] == 128
    tokenizer = bot.embedder.model.tokenizer
    for chunk in bot.stored.chunks:
        assert len(tokenizer("passage: " + chunk.text)["input_ids"]) <= 128, chunk.chunk_id
    assert len(bot.stored.chunks) > 12  # more (smaller) chunks than with the hashing embedder


def test_embedded_search_text_fits_the_model_sequence_length(tiny_index: tuple[Path, Assistant]) -> None:
    """What is embedded is search_text() (section label + chunk): that must fit too.
    Regression: chunks were once sized without their label, so the labelled lead chunk
    was 146 tokens for this 128-token model and silently truncated."""
    _, bot = tiny_index
    chunking = ChunkingConfig(**bot.stored.manifest["chunking"])
    too_long = {
        c.chunk_id: bot.embedder.count_tokens(search_text(c, chunking))
        for c in bot.stored.chunks
        if bot.embedder.count_tokens(search_text(c, chunking)) > 128
    }
    assert too_long == {}
    assert any(search_text(c, chunking) != c.text for c in bot.stored.chunks)  # labels are really there


def test_a_directory_that_is_not_a_model_gives_a_clear_error(tmp_path: Path) -> None:
    not_a_model = tmp_path / "not-a-model"
    not_a_model.mkdir()
    (not_a_model / "README.md").write_text("empty", encoding="utf-8")
    with pytest.raises(ModelUnavailableError) as err:
        Assistant.build([], tmp_path / "index", model=str(not_a_model))
    assert str(not_a_model) in str(err.value)
    assert not (tmp_path / "index").exists()
