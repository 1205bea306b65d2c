"""The Milvus library store on Milvus Lite (a local file, in process): adding, replacing and
deleting touch one article's rows; answers cite verbatim offsets; a search stays within its
article; ranking follows the FAISS path on the bundled article. Skipped, with the reason,
only where the scale extra is not installed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

pytest.importorskip("pymilvus", reason="the scale extra (pymilvus, milvus-lite) is not installed")
pytest.importorskip("milvus_lite", reason="the scale extra (milvus-lite) is not installed")

from assistant import Assistant
from assistant.cli import main
from assistant.errors import IndexStaleError, SourceError
from assistant.ingest.sources import read_source
from assistant.library import MilvusLibrary, store_uri
from assistant.search.milvus import encode_tokens

FIGURE_Q = "Trong nhiệm kỳ 2010 – 2015 kết nạp được bao nhiêu đảng viên mới?"


@pytest.fixture
def library(tmp_path: Path) -> MilvusLibrary:
    return MilvusLibrary(f"milvus:{tmp_path / 'lib.db'}", model="offline", announce=lambda _m: None)


def test_store_uris_are_checked() -> None:
    assert store_uri("faiss") is None and store_uri(None) is None
    assert store_uri("milvus:lib.db") == "milvus:lib.db"
    assert store_uri("http://127.0.0.1:19530") == "http://127.0.0.1:19530"
    with pytest.raises(ValueError, match="--store must be"):
        store_uri("postgres://x")


def test_folded_tokens_survive_milvus_analyzer() -> None:
    from milvus_lite.analyzer.standard import StandardAnalyzer

    tokens = ["kết", "kết_nạp", "~ket", "~ket_nap"]
    assert StandardAnalyzer().tokenize(encode_tokens(tokens)) == ["kết", "kết_nạp", "_ket", "_ket_nap"]


def test_add_is_idempotent_and_answers_cite_verbatim(library: MilvusLibrary, bundled_article_path: Path,
                                                     small_article_path: Path) -> None:
    article = read_source(bundled_article_path)
    entry = library.add(article)
    assert entry.article_id == article.sha256 and entry.passages > 5
    rows = library.store.count()
    assert library.add(article).passages == entry.passages and library.store.count() == rows  # nothing rewritten
    other = library.add(read_source(small_article_path))
    assert library.store.count() == rows + other.passages and len(library.ids()) == 2

    bot = library.get(article.sha256)
    answer = bot.ask(FIGURE_Q)
    assert answer.answered and "261" in (answer.short_answer or "")
    for c in answer.citations:
        assert bot.article.text[c.start:c.end] == c.text
    # the search is filtered to the article: no passage of the other one comes back
    texts = {p.text for p in bot.retrieve("thư viện sách", k=8)}
    assert texts <= {c.text for c in bot.stored.chunks}


def test_ranking_follows_the_faiss_path(library: MilvusLibrary, bundled_article_path: Path, bot: Assistant) -> None:
    library.add(read_source(bundled_article_path))
    mine = library.get(read_source(bundled_article_path).sha256)
    for question in ("lop cam tinh dang", FIGURE_Q, "Ai là tác giả bài viết?"):
        for mode in ("dense", "lexical"):
            theirs = [p.chunk_id for p in bot.retrieve(question, k=3, mode=mode)]
            ours = [p.chunk_id for p in mine.retrieve(question, k=3, mode=mode)]
            assert ours[0] == theirs[0], (question, mode, ours, theirs)


def test_delete_and_replace_touch_one_article(library: MilvusLibrary, bundled_article_path: Path,
                                              small_article_path: Path) -> None:
    big, small = read_source(bundled_article_path), read_source(small_article_path)
    library.add(big)
    kept = library.add(small).passages
    assert library.delete(big.sha256) and not library.delete(big.sha256)
    assert big.sha256 not in library and library.store.count() == kept
    assert library.add(small, replace=True).passages == kept and library.store.count() == kept
    with pytest.raises(SourceError, match="not in the library"):
        library.get(big.sha256)


def test_another_embedder_is_refused(tmp_path: Path, small_article_path: Path, tiny_model_dir: Path) -> None:
    uri = f"milvus:{tmp_path / 'lib.db'}"
    MilvusLibrary(uri, model="offline").add(read_source(small_article_path))
    with pytest.raises(IndexStaleError, match="was built with"):
        MilvusLibrary(uri, model=str(tiny_model_dir))


def test_cli_builds_a_library_and_answers_from_it(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                  bundled_article_path: Path, small_article_path: Path) -> None:
    store = f"milvus:{tmp_path / 'lib.db'}"
    assert main(["build", "--store", store, "--model", "offline", "-q", str(bundled_article_path),
                 str(small_article_path)]) == 0
    assert "2 article(s)" in capsys.readouterr().out
    assert main(["ask", "--store", store, "--model", "offline", "-q", "--json", FIGURE_Q]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["answered"] and out["citations"] and "261" in out["answer"]
    assert main(["ask", "--store", store, "--model", "offline", "-q", "--article-id", "zz", FIGURE_Q]) != 0
    assert "not an article id" in capsys.readouterr().err
    assert main(["info", "--store", store, "--model", "offline", "-q"]) == 0
    info = capsys.readouterr().out
    assert info.count("Article:") == 2 and "Milvus" in info
    assert main(["build", "--delete", "x" * 64, "-q"]) == 2  # --delete without a store: refused
