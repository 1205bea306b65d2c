"""The scale work, fast: a light import, the automatic FAISS index type, the persisted BM25
index (same scores, damage detected), and the vectorised hashing embedder equal to the
per-text reference. The measurements themselves are `make bench` (bench/)."""

from __future__ import annotations

import ast
import json
import random
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistant import Assistant, HashingEmbeddings
from assistant.errors import IndexCorruptError
from assistant.ingest.article import Article
from assistant.ingest.chunking import ChunkingConfig
from assistant.ingest.text import fold, lexical_tokens, query_tokens
from assistant.search.indexing import build_index
from assistant.search.lexical import BM25_FILES, LexicalIndex, build_bm25, load_bm25, query_terms, save_bm25, top_n
from assistant.search.store import FILES, HNSW_EF_SEARCH, build_faiss, load_index, save_index

from .conftest import ROOT

HEAVY = ("torch", "sentence_transformers", "gradio")
QUESTION = "Trong nhiệm kỳ 2010 – 2015 kết nạp được bao nhiêu đảng viên mới?"
VI = st.lists(st.sampled_from([*"aăâbcdđeêghiklmnoôơpqrstuưvxy AĐÔƯàáảãạèéẻẽẹ_-.,?19\u0301İǄ", "hoà", "thuý",
                                "qúy", " Hoà "]), max_size=30).map("".join)


def _run(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_import_is_light(home_index: Path) -> None:
    """`import assistant`, loading with the offline embedder and answering with the rules
    never import torch, sentence-transformers or gradio (they cost seconds of start-up); the
    default answerer brings in torch for the span reader, only when it reads."""
    heavy = repr(HEAVY)
    assert _run(f"import assistant, sys, json; print(json.dumps([m for m in {heavy} if m in sys.modules]))") == []
    code = (f"import sys, json\nfrom assistant import Assistant\nbot = Assistant.load(model='offline')\n"
            f"answer = bot.ask({QUESTION!r}, answerer='extractive')\nassert answer.answered, answer.text\n"
            f"print(json.dumps([m for m in {heavy} if m in sys.modules]))")
    assert _run(code) == []


def _unit_vectors(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, dim)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_build_faiss_picks_flat_then_hnsw() -> None:
    small, large = _unit_vectors(50), _unit_vectors(150)
    flat = build_faiss(small, flat_max=100)
    assert type(flat).__name__ == "IndexFlatIP" and flat.ntotal == 50
    hnsw = build_faiss(large, flat_max=100)
    assert type(hnsw).__name__ == "IndexHNSWSQ" and hnsw.ntotal == 150 and hnsw.is_trained
    assert hnsw.metric_type == 0  # faiss.METRIC_INNER_PRODUCT
    assert hnsw.hnsw.efSearch == HNSW_EF_SEARCH
    _scores, ids = hnsw.search(large[:10], 1)
    assert ids[:, 0].tolist() == list(range(10))  # each stored vector finds itself


@pytest.mark.parametrize(("flat_max", "kind"), [(10_000, "IndexFlatIP"), (1, "IndexHNSWSQ")])
def test_manifest_records_the_index_type_and_load_reads_it(tmp_path: Path, small_article_path: Path,
                                                           flat_max: int, kind: str) -> None:
    directory = tmp_path / "idx"
    manifest = build_index([Article.read(small_article_path)], HashingEmbeddings(), directory, flat_max=flat_max)
    entry = manifest["faiss"]
    assert entry["index_type"] == kind and entry["metric"] == "inner_product" and entry["dim"] == 512
    if kind == "IndexHNSWSQ":
        assert entry["M"] == 32 and entry["ef_search"] == HNSW_EF_SEARCH and entry["quantizer"] == "QT_fp16"
    stored = load_index(directory)
    assert type(stored.vectors).__name__ == kind and stored.vectors.ntotal == len(stored.chunks) == entry["ntotal"]
    assert json.loads((directory / "manifest.json").read_text(encoding="utf-8"))["faiss"] == entry
    bot = Assistant.load(directory, model="offline", announce=lambda _m: None)
    assert bot.retrieve("kinh phí xây dựng thư viện xanh", k=1)[0].text


def test_the_quantised_hnsw_index_finds_what_exact_float_search_finds() -> None:
    """float16 vectors cost half the memory; the neighbours must stay the same ones."""
    import faiss

    vectors, queries = _unit_vectors(3000, dim=64, seed=1), _unit_vectors(50, dim=64, seed=2)
    exact = faiss.IndexFlatIP(64)
    exact.add(vectors)
    _d, truth = exact.search(queries, 10)
    _d, found = build_faiss(vectors, flat_max=100).search(queries, 10)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(found.tolist(), truth.tolist())])
    assert recall >= 0.95


def test_an_older_float_hnsw_index_still_loads(tmp_path: Path, small_article_path: Path) -> None:
    """Indexes built before the quantiser (IndexHNSWFlat, recorded so in their manifest) load as they are."""
    import faiss

    directory = tmp_path / "idx"
    build_index([Article.read(small_article_path)], HashingEmbeddings(), directory, flat_max=1)
    stored = load_index(directory)
    old = faiss.IndexHNSWFlat(stored.vectors.d, 32, faiss.METRIC_INNER_PRODUCT)
    old.add(stored.vectors.reconstruct_n(0, stored.vectors.ntotal))
    save_index(directory, stored.articles, stored.chunks, stored.chunk_articles, old,
               stored.manifest["embedder"], ChunkingConfig(**stored.manifest["chunking"]), stored.bm25)
    again = load_index(directory)
    assert type(again.vectors).__name__ == "IndexHNSWFlat" and again.manifest["faiss"]["index_type"] == "IndexHNSWFlat"


def test_a_manifest_naming_another_index_type_is_refused(tmp_path: Path, small_article_path: Path) -> None:
    directory = tmp_path / "idx"
    build_index([Article.read(small_article_path)], HashingEmbeddings(), directory, flat_max=1)
    path = directory / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["faiss"]["index_type"] = "IndexFlatIP"
    path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexCorruptError) as err:
        load_index(directory)
    assert err.value.path == str(directory / "vectors.faiss")


def _texts(article: Article) -> list[str]:
    return [s.text for s in article.sentences] + ["", "!!!", "Đảng Đảng Đảng viên"]


@pytest.mark.parametrize("mmap", [False, True])
def test_bm25_round_trip_keeps_the_scores(tmp_path: Path, article: Article, mmap: bool) -> None:
    import bm25s

    texts = _texts(article)
    built = build_bm25(texts)
    reference = bm25s.BM25()
    reference.index([lexical_tokens(t) for t in texts], show_progress=False)
    directory = tmp_path / "bm25"
    directory.mkdir()
    save_bm25(built, directory)
    assert sorted(p.name for p in directory.iterdir()) == sorted(BM25_FILES)
    for name in BM25_FILES:
        if name.endswith(".npy"):
            assert np.load(directory / name, allow_pickle=False).dtype != object
    loaded = load_bm25(directory, mmap=mmap)
    for q in ("lớp cảm tình Đảng", "dang vien moi", "Ai là tác giả bài viết?", "không có từ này xyz"):
        tokens = query_tokens(q)
        assert np.array_equal(built.get_scores(tokens), loaded.get_scores(tokens))
        assert np.array_equal(reference.get_scores(tokens), loaded.get_scores(tokens))


def test_index_search_is_the_same_with_the_saved_bm25(bot: Assistant) -> None:
    from assistant import ChunkingConfig
    from assistant.search.retrieval import HybridSearcher

    assert bot.stored.bm25 is not None and bot.searcher.bm25 is bot.stored.bm25
    chunking = ChunkingConfig(**bot.stored.manifest["chunking"])
    rebuilt = HybridSearcher(bot.stored.chunks, bot.stored.chunk_articles, bot.stored.vectors, bot.embedder,
                             chunking=chunking)  # no saved BM25: built in memory from the chunks
    for q in ("lớp cảm tình Đảng", "dang vien moi", "Giám đốc Công an tỉnh"):
        assert rebuilt.lexical_scores(q, 10) == bot.searcher.lexical_scores(q, 10)
        assert rebuilt.search(q, 4) == bot.searcher.search(q, 4)


@pytest.mark.parametrize("name", BM25_FILES)
def test_a_damaged_bm25_file_is_detected(user_index_dir: Path, name: str) -> None:
    path = user_index_dir / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError) as err:
        load_index(user_index_dir)
    assert err.value.path == str(path) and "checksum" in str(err.value)


@pytest.fixture
def user_index_dir(tmp_path: Path, small_article_path: Path) -> Path:
    directory = tmp_path / "user-index"
    Assistant.build([small_article_path], directory, model="offline", announce=lambda _m: None)
    assert set(BM25_FILES) <= set(json.loads((directory / "manifest.json").read_text(encoding="utf-8"))["files"])
    assert set(BM25_FILES) <= set(FILES)
    return directory


def test_a_format_1_index_still_loads(user_index_dir: Path) -> None:
    """An index written before the BM25 files existed: its BM25 index is built in memory."""
    path = user_index_dir / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["format_version"] = 1
    for name in BM25_FILES:
        (user_index_dir / name).unlink()
        del manifest["files"][name]
    path.write_text(json.dumps(manifest), encoding="utf-8")
    assert load_index(user_index_dir).bm25 is None
    bot = Assistant.load(user_index_dir, model="offline", announce=lambda _m: None)
    assert bot.retrieve("kinh phí xây dựng thư viện xanh", k=1, mode="lexical")[0].text


def test_hashing_vectorised_equals_the_reference(article: Article) -> None:
    rng = random.Random(0)
    words = article.text.split()
    texts = [s.text for s in article.sentences] + ["", " ", "a", "ĐẢNG", "İstanbul ﬁ Ǆ 123", "!!!"]
    texts += [" ".join(rng.choice(words) for _ in range(rng.randint(1, 80))) for _ in range(200)]
    for emb in (HashingEmbeddings(), HashingEmbeddings(dim=64, ngram=(2, 4))):
        reference = np.vstack([emb._vector(t) for t in texts])
        assert np.array_equal(emb.embed_array(texts), reference)
        assert np.array_equal(emb.embed_array(texts), reference)  # again, from the word cache
        assert all(emb.embed_query(t) == emb._vector(t).tolist() for t in texts[:40])


@settings(max_examples=300, deadline=None)
@given(VI)
def test_fast_tokenisation_equals_the_reference(text: str) -> None:
    from assistant.search.hashing import fast_fold

    assert fast_fold(text) == fold(text)
    assert query_terms(text) == query_tokens(text)
    emb = HashingEmbeddings(dim=32)
    assert np.array_equal(emb.embed_array([text, text + " x"])[0], emb._vector(text))


def test_top_n_equals_a_full_sort() -> None:
    rng = np.random.default_rng(0)
    for trial in range(300):
        n_docs = int(rng.choice([1, 7, 300, 60_000]))
        scores = (rng.integers(0, 4, n_docs) if trial % 2 else rng.random(n_docs)).astype(np.float32)
        n = int(rng.choice([1, 4, 50]))
        order = np.lexsort((np.arange(n_docs), -scores))[:n]
        assert top_n(scores, n) == [(int(i), float(scores[i])) for i in order if scores[i] > 0]


def test_dense_small_index_scores_equal_bm25s(article: Article) -> None:
    bm25 = build_bm25(_texts(article))
    lexical = LexicalIndex(bm25)
    assert lexical.dense is not None
    ids = bm25.get_tokens_ids(query_tokens("Đảng bộ Công an tỉnh kết nạp đảng viên mới Đảng"))
    assert np.array_equal(lexical.scores(ids), bm25.get_scores_from_ids(ids))


def test_no_pickle_in_the_benchmarks() -> None:
    for path in sorted((ROOT / "bench").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = [a.name for a in node.names] + [getattr(node, "module", None) or ""]
                assert not any(n.split(".")[0] in {"pickle", "dill", "joblib", "shelve"} for n in names), path
            if isinstance(node, ast.keyword) and node.arg == "allow_pickle":
                assert isinstance(node.value, ast.Constant) and node.value.value is False, path


def test_bm25_of_texts_without_words(tmp_path: Path) -> None:
    for texts in ([], ["", "!!!"]):
        bm25 = build_bm25(texts)
        assert bm25.scores["num_docs"] == len(texts) and LexicalIndex(bm25).top(["x"], 3) == []
        directory = tmp_path / f"bm25-{len(texts)}"
        directory.mkdir()
        save_bm25(bm25, directory)
        assert load_bm25(directory).scores["num_docs"] == len(texts)
