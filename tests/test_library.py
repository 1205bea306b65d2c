"""The cache of user-brought articles (assistant/library.py) and Assistant.from_text / from_url.

Indexes are built with the offline hashing embedder (each build well under a second). A
gate around `build_index` holds a build open, to see what others get meanwhile.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import assistant.search.cache as library_module
from assistant import Article, ArticleLibrary, Assistant, SourceError, article_from_input
from assistant.search.cache import DEFAULT_MAX_ARTICLES, env_cap
from tests.conftest import SMALL_ARTICLE
from tests.pages import ARTICLE_TEXT, PAGE_TITLE, Pages, serve_pages


def _article(n: int) -> Article:
    return Article.from_text(f"Bài số {n}\n\nNội dung thứ {n}: chợ phiên có {n * 10} gian hàng. Câu thứ hai.")


class Builds(list):
    """The library's build_index calls, by directory name; while `gate` is set and closed, builds wait."""

    gate: threading.Event | None = None


@pytest.fixture
def builds(monkeypatch: pytest.MonkeyPatch) -> Builds:
    calls = Builds()
    real = library_module.build_index

    def counting(articles: Any, embedder: Any, directory: Path, *args: Any, **kwargs: Any) -> Any:
        calls.append(Path(directory).name)
        if calls.gate is not None:
            assert calls.gate.wait(20)
        return real(articles, embedder, directory, *args, **kwargs)

    monkeypatch.setattr(library_module, "build_index", counting)
    return calls


@pytest.fixture
def library(assistant_home: Path) -> ArticleLibrary:
    return ArticleLibrary(model="offline", max_articles=3, max_loaded=2)


def test_an_article_is_built_once_and_addressed_by_its_normalised_text(library: ArticleLibrary,
                                                                      builds: Builds) -> None:
    art = Article.from_text(SMALL_ARTICLE)
    entry = library.add(art)
    assert entry.article_id == art.sha256 and builds == [art.sha256]
    assert entry.title == "Trường Tiểu học Hoàng Văn Thụ khánh thành thư viện xanh"
    assert entry.date == "05/06/2023" and entry.chars == len(art.text) and entry.passages > 0
    assert set(entry.to_dict()) >= {"article_id", "title", "date", "chars", "passages"}
    spaced = SMALL_ARTICLE.replace(" ", "  ").replace("\n\n", "\n \n\n")  # other whitespace, same text
    assert library.add(Article.from_text(spaced)).article_id == entry.article_id
    assert ArticleLibrary(model="offline").add(art) == entry  # another instance, same cache
    assert builds == [art.sha256]
    assert (library.root / entry.article_id / "manifest.json").is_file()
    assert library.root.parent.name == "assistant-home"  # under $ASSISTANT_HOME


def test_answers_come_from_the_added_article(library: ArticleLibrary) -> None:
    entry = library.add(Article.from_text(SMALL_ARTICLE))
    bot = library.get(entry.article_id)
    answer = bot.ask("Thư viện có bao nhiêu đầu sách?", answerer="extractive")
    assert answer.answered and "2.000" in answer.text
    assert all(bot.article.text[c.start : c.end] == c.text for c in answer.citations)
    assert library.get(entry.article_id) is bot


def test_same_article_at_once_is_built_once(assistant_home: Path, builds: Builds) -> None:
    """Six people (two library instances, as two server processes would be) add it together."""
    gate = builds.gate = threading.Event()
    libraries = [ArticleLibrary(model="offline"), ArticleLibrary(model="offline")]
    art = Article.from_text(SMALL_ARTICLE)
    results: list[Any] = []
    threads = [threading.Thread(target=lambda i=i: results.append(libraries[i % 2].add(art))) for i in range(6)]
    for t in threads:
        t.start()
    for _ in range(200):
        if builds:
            break
        threading.Event().wait(0.01)
    assert builds == [art.sha256]
    # while it is being built, nobody is served a half-built index (a third process asks)
    assert art.sha256 not in libraries[0]
    with pytest.raises(SourceError) as err:
        ArticleLibrary(model="offline").get(art.sha256)
    assert err.value.reason == "unknown_article"
    gate.set()
    for t in threads:
        t.join(20)
    assert len(results) == 6 and len({r.article_id for r in results}) == 1
    assert builds == [art.sha256]
    assert libraries[1].get(art.sha256).article.text == art.text


def test_disk_cap_removes_the_least_recently_used(library: ArticleLibrary) -> None:
    ids = [library.add(_article(n)).article_id for n in range(3)]
    library.get(ids[0])  # used (and held in memory): stays
    library.add(_article(3))
    kept = {d.name for d in library.root.iterdir() if d.is_dir()}
    assert ids[1] not in kept and {ids[0], ids[2]} <= kept and len(kept) == 3
    with pytest.raises(SourceError) as err:
        library.get(ids[1])
    assert err.value.reason == "unknown_article" and "add it again" in str(err.value)
    assert library.add(_article(1)).article_id == ids[1]  # brought again: rebuilt


def test_memory_cap(library: ArticleLibrary) -> None:
    ids = [library.add(_article(n)).article_id for n in range(3)]
    first = library.get(ids[0])
    library.get(ids[1])
    library.get(ids[0])
    library.get(ids[2])
    assert library.loaded() == [ids[0], ids[2]]
    assert library.get(ids[0]) is first and library.get(ids[1]) is not None  # reloaded from disk
    assert library.loaded() == [ids[0], ids[1]]


def test_caps_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_MAX_ARTICLES", "5")
    monkeypatch.setenv("ASSISTANT_MAX_LOADED_ARTICLES", "1")
    lib = ArticleLibrary(model="offline")
    assert (lib.max_articles, lib.max_loaded) == (5, 1)
    monkeypatch.delenv("ASSISTANT_MAX_ARTICLES")
    assert env_cap("ASSISTANT_MAX_ARTICLES", DEFAULT_MAX_ARTICLES) == DEFAULT_MAX_ARTICLES
    for bad in ("0", "-1", "many", "2.5"):
        monkeypatch.setenv("ASSISTANT_MAX_ARTICLES", bad)
        with pytest.raises(ValueError, match="ASSISTANT_MAX_ARTICLES"):
            ArticleLibrary(model="offline")


def test_unknown_bad_and_damaged_ids(library: ArticleLibrary) -> None:
    for bad in ("", "../../etc", "A" * 64, "0" * 63, None):
        with pytest.raises(SourceError):
            library.get(bad)  # type: ignore[arg-type]
    entry = library.add(_article(7))
    (library.root / entry.article_id / "chunks.jsonl").write_text("damaged", encoding="utf-8")
    with pytest.raises(SourceError) as err:
        library.get(entry.article_id)
    assert err.value.reason == "unknown_article" and not (library.root / entry.article_id).exists()
    assert library.get(library.add(_article(7)).article_id).article.text == _article(7).text


def test_a_changed_embedder_rebuilds_in_place(assistant_home: Path, builds: Builds) -> None:
    from assistant import HashingEmbeddings

    art = _article(1)
    ArticleLibrary(model="offline").add(art)
    other = ArticleLibrary(embedder=HashingEmbeddings(dim=64))
    assert other.get(art.sha256).embedder.info.dim == 64
    assert builds == [art.sha256, art.sha256]


# --- Assistant.from_text / from_url ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def pages() -> Iterator[Pages]:
    with serve_pages() as served:
        yield served


def test_from_text_uses_the_shared_cache(assistant_home: Path, builds: Builds) -> None:
    bot = Assistant.from_text(ARTICLE_TEXT, model="offline")
    again = Assistant.from_text(ARTICLE_TEXT, model="offline")
    assert bot.index_dir == again.index_dir == assistant_home / "articles" / article_from_input(ARTICLE_TEXT).sha256
    assert len(builds) == 1
    assert "320 gian hàng" in bot.ask("Chợ có bao nhiêu gian hàng?", answerer="extractive").text
    with pytest.raises(SourceError):
        Assistant.from_text("   ", model="offline")


def test_from_url(assistant_home: Path, pages: Pages, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSISTANT_ALLOW_PRIVATE_URLS", raising=False)
    with pytest.raises(SourceError) as err:
        Assistant.from_url(pages.url("/article.html"), model="offline")
    assert err.value.reason == "blocked"
    assert not (assistant_home / "articles").exists()  # nothing built
    monkeypatch.setenv("ASSISTANT_ALLOW_PRIVATE_URLS", "1")
    bot = Assistant.from_url(pages.url("/article.html"), model="offline")
    assert bot.article.title == PAGE_TITLE and bot.article.source == pages.url("/article.html")
    assert "Minh Anh" in bot.ask("Ai là tác giả bài viết?", answerer="extractive").text
