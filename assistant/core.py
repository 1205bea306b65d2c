"""`Assistant`: the one object users hold. Loads (or builds) an index and retrieves from it.

>>> from assistant import Assistant
>>> bot = Assistant.load()                      # doctest: +SKIP
>>> [p.chunk_id for p in bot.retrieve("lop cam tinh dang", k=2)]  # doctest: +SKIP
['c009', 'c004']

Loading decides, in this order: which embedder (explicit `model`, `$ASSISTANT_MODEL`, the
model the index was built with, the default), whether the saved index fits (same article
text, embedder and chunking) and is intact, and otherwise rebuilds it when the article
files are known (always for the bundled article), saying why through `announce`.
"""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

from assistant.answer.contract import Answer, locate_short_answer
from assistant.answer.extractive import ExtractiveAnswerer
from assistant.answer.followup import previous_quotes, with_topic
from assistant.answer.messages import MESSAGES
from assistant.answer.question import MAX_QUESTION_CHARS, analyse, check_question
from assistant.answer.quote import shorten
from assistant.answer.reader import Reader
from assistant.answer.reading import ReaderAnswerer
from assistant.answer.translate import reader_forms, to_vietnamese
from assistant.errors import IndexCorruptError, IndexStaleError, LLMError, ModelUnavailableError, QuestionError
from assistant.ingest.article import Article
from assistant.ingest.chunking import ChunkingConfig
from assistant.paths import bundled_article, default_index_dir
from assistant.search.embeddings import BUNDLED_MODEL_ID, Embedder
from assistant.search.indexing import build_index, effective_chunking, lock_path
from assistant.search.resolve import resolve_embedder
from assistant.search.retrieval import FusionConfig, HybridSearcher, Passage
from assistant.search.store import StoredIndex, corpus_sha256, load_index, manifest_mismatch, read_manifest

log = logging.getLogger(__name__)
ANSWERERS = ("auto", "reader", "extractive", "llm")
__all__ = ["ANSWERERS", "MAX_QUESTION_CHARS", "Assistant", "check_question"]


class Assistant:
    """Question answering over one article (or a few), from a saved index.

    Build with `Assistant.load()` (bundled article) or `Assistant.build([...], index_dir=...)`.
    """

    def __init__(self, stored: StoredIndex, embedder: Embedder, index_dir: Path | str,
                 fusion: FusionConfig | None = None, searcher: HybridSearcher | None = None, *,
                 llm: Any = None, announce: Callable[[str], None] | None = None):
        """`searcher` replaces the FAISS + BM25 one (`assistant.search.milvus.MilvusSearcher`);
        `index_dir` is then the store's URI. `announce` hears the reader's one-time ONNX export;
        `llm` as in `load` (the class methods also read `$ASSISTANT_LLM`)."""
        self.stored = stored
        self.embedder = embedder
        self.index_dir: Path | str = Path(index_dir) if searcher is None else str(index_dir)
        chunking = ChunkingConfig(**stored.manifest["chunking"])
        self.searcher = searcher or HybridSearcher(stored.chunks, stored.chunk_articles, stored.vectors, embedder,
                                                   fusion, chunking, bm25=stored.bm25)
        self._answerers: dict[int, ExtractiveAnswerer] = {}  # built on first use: a corpus may be large
        self._readers: dict[int, ReaderAnswerer] = {}
        self.reader = Reader(announce=announce or log.warning)  # loads on first use
        self.english_reading = "both"  # what the reader reads of an English question (`reader_forms`)
        self.llm: Any = None
        self.set_llm(llm)
        self._chunk_spans: list[dict[tuple[int, int], str]] = [{} for _ in stored.articles]
        for chunk, owner in zip(stored.chunks, stored.chunk_articles):
            self._chunk_spans[owner][(chunk.start, chunk.end)] = chunk.chunk_id

    # --- construction ------------------------------------------------------------------

    @classmethod
    def load(cls, index_dir: str | Path | None = None, model: str | None = None, *,
             articles: Sequence[str | Path] | None = None, chunking: ChunkingConfig | None = None,
             fusion: FusionConfig | None = None, rebuild: bool = False, llm: Any = None,
             announce: Callable[[str], None] | None = None) -> Assistant:
        """A ready assistant; builds the bundled article's index when missing or stale.

        `llm` (or `$ASSISTANT_LLM`) optionally adds an LLM answerer: a spec such as
        "openai:gpt-4o-mini" or a LangChain chat model. Nothing is contacted until it answers.
        """
        say = announce or log.warning
        directory = Path(index_dir) if index_dir is not None else default_index_dir()
        manifest = _try_manifest(directory)
        sources = [Path(a) for a in articles] if articles else None
        if sources is None and index_dir is None:
            sources = [bundled_article()]
        if sources is None and manifest:
            known = [Path(a["source"]) for a in manifest.get("articles", [])]
            sources = known if known and all(p.is_file() for p in known) else None
        requested = model or os.environ.get("ASSISTANT_MODEL") or (_remembered(manifest) if index_dir else None)
        embedder = resolve_embedder(requested, announce=say)
        if chunking is None and manifest and not rebuild:
            chunking = ChunkingConfig(**manifest["chunking"])
        chunking = effective_chunking(chunking or ChunkingConfig(), embedder)
        from assistant.ingest.sources import read_source

        parsed = [read_source(p) for p in sources] if sources else None

        damage: list[IndexCorruptError] = []

        def problem() -> tuple[StoredIndex | None, str | None]:
            if rebuild:
                return None, "rebuild requested"
            try:
                stored = load_index(directory)
            except IndexCorruptError as err:
                if not directory.is_dir() or not any(directory.iterdir()):
                    return None, "no index yet"
                damage[:] = [err]
                return None, str(err)
            corpus = corpus_sha256(parsed) if parsed else None
            why = manifest_mismatch(stored.manifest, embedder=embedder.info.fingerprint(), chunking=chunking,
                                    corpus=corpus)
            return stored, why

        stored, why = problem()
        if why:
            if parsed is None:
                if stored is None:
                    if damage:
                        raise damage[0]
                    raise IndexCorruptError(directory, why, "build it with `assistant build FILE --index-dir DIR`")
                raise IndexStaleError(f"index {directory} no longer fits: {why}; rebuild it with `assistant build`")
            from filelock import FileLock

            directory.parent.mkdir(parents=True, exist_ok=True)
            with FileLock(str(lock_path(directory))):
                stored, why = problem()  # another process may have rebuilt it meanwhile
                if why:
                    say(f"Building the index at {directory} ({why}) with {embedder.info.describe()}.")
                    build_index(parsed, embedder, directory, chunking, locked=True)
                    stored = load_index(directory)
        assert stored is not None
        return cls(stored, embedder, directory, fusion, llm=llm or os.environ.get("ASSISTANT_LLM"), announce=say)

    @classmethod
    def build(cls, files: Sequence[str | Path], index_dir: str | Path | None = None, model: str | None = None, *,
              chunking: ChunkingConfig | None = None, fusion: FusionConfig | None = None,
              progress: bool | None = None, llm: Any = None,
              announce: Callable[[str], None] | None = None) -> Assistant:
        """Index articles (default: the bundled article) into `index_dir` and load it: paths of
        .txt, .md or .html files, http(s) links (fetched safely, `assistant/ingest/fetch.py`) or `Article`s."""
        from assistant.ingest.sources import read_source

        directory = Path(index_dir) if index_dir is not None else default_index_dir()
        articles = [read_source(f) for f in (files or [bundled_article()])]
        embedder = resolve_embedder(model, announce=announce or log.warning)
        build_index(articles, embedder, directory, chunking or ChunkingConfig(), progress=progress)
        return cls(load_index(directory), embedder, directory, fusion, llm=llm or os.environ.get("ASSISTANT_LLM"),
                   announce=announce)

    @classmethod
    def from_text(cls, text: str, model: str | None = None, *, llm: Any = None,
                  announce: Callable[[str], None] | None = None) -> Assistant:
        """An assistant over an article given as text: plain text, Markdown or a page's HTML
        source. Indexed once per distinct text in the shared cache (`ArticleLibrary`,
        ``$ASSISTANT_HOME/articles``) that the web chat uses; `SourceError` for unusable input.

        >>> bot = Assistant.from_text(open("bai-bao.txt", encoding="utf-8").read())   # doctest: +SKIP
        """
        from assistant.ingest.sources import article_from_text

        return cls._from_article(article_from_text(text), model, llm, announce)

    @classmethod
    def from_url(cls, url: str, model: str | None = None, *, llm: Any = None,
                 announce: Callable[[str], None] | None = None) -> Assistant:
        """An assistant over the article at an http(s) link, fetched under the safety rules of
        `assistant/ingest/fetch.py` and extracted with trafilatura; cached as `from_text` is."""
        from assistant.ingest.sources import article_from_url

        return cls._from_article(article_from_url(url), model, llm, announce)

    @classmethod
    def _from_article(cls, article: Article, model: str | None, llm: Any,
                      announce: Callable[[str], None] | None) -> Assistant:
        from assistant.search.cache import ArticleCache

        cache = ArticleCache(model=model, announce=announce or log.warning)
        stored, directory = cache.open_index(cache.add(article).article_id)
        return cls(stored, cache.embedder, directory, llm=llm or os.environ.get("ASSISTANT_LLM"), announce=announce)

    # --- queries -------------------------------------------------------------------------

    @property
    def article(self) -> Article:
        """The (first) indexed article: every `Passage` offset of article 0 points into its text."""
        return self.stored.articles[0]

    @property
    def articles(self) -> list[Article]:
        return self.stored.articles

    def retrieve(self, question: str, k: int = 4, mode: str = "hybrid") -> list[Passage]:
        """The `k` best passages for `question` (mode: hybrid, dense or lexical).

        English questions are searched together with their Vietnamese glossary form."""
        return self._search(check_question(question), k, mode)

    def _search(self, query: str, k: int, mode: str) -> list[Passage]:
        """English questions: BM25 (and the hashing embedder, which only matches surface
        forms) search their Vietnamese glossary form; a multilingual model gets the original."""
        if not analyse(query).english:
            return self.searcher.search(query, k=k, mode=mode)
        vi_query = to_vietnamese(query)
        dense_query = vi_query if self.embedder.info.kind == "hashing" else query
        return self.searcher.search(dense_query, k=k, mode=mode, lexical_query=vi_query)

    def ask(self, question: str, history: Sequence[Any] | None = None, k: int = 4, mode: str = "hybrid",
            answerer: str | None = None) -> Answer:
        """Answer from the article with cited quotes, or say plainly that it does not say.

        `history` is the chat so far (pairs of (question, answer) or {"role", "content"}
        dicts): a follow-up ("Còn chi bộ đó thì sao?") is rewritten by the LLM, or inherits
        the previous question's topic otherwise. `answerer` is "auto" (the rules' answer,
        checked by the span reader and led by its short span when they give none; where the
        rules abstain, the reader's when its margin clears the threshold and the question
        names no figure or person the article never mentions: the policy chosen on dev by
        `bench/answer_policy.py`), "reader" (the span reader alone), "extractive" (the
        rules alone), "llm", or None (the LLM when one is configured, else "auto")."""
        answer: Answer | None = None
        for item in self.stream(question, history, k=k, mode=mode, answerer=answerer):
            if isinstance(item, Answer):
                answer = item
        assert answer is not None
        return answer

    def stream(self, question: str, history: Sequence[Any] | None = None, k: int = 4, mode: str = "hybrid",
               answerer: str | None = None) -> Iterator[str | Answer]:
        """Like `ask`, but yields the answer text in pieces as it is produced, then the `Answer`
        (citations are resolved at the end)."""
        t0 = time.perf_counter()
        cleaned = check_question(question)
        kind = answerer or ("llm" if self.llm else "auto")
        if kind not in ANSWERERS:
            raise QuestionError(f"answerer must be one of {', '.join(ANSWERERS)}, got {kind!r}")
        use_llm = kind == "llm"
        if use_llm and self.llm is None:
            raise LLMError("no LLM is configured: pass --llm SPEC or set ASSISTANT_LLM")
        query = with_topic(cleaned, history)
        if use_llm and history:
            try:
                query = self.llm.rewrite(cleaned, history)  # type: ignore[union-attr]
            except Exception:
                pass
        english = analyse(query).english
        vi_query = to_vietnamese(query) if english else query
        passages = self._search(query, k, mode)
        t1 = time.perf_counter()
        if kind == "extractive" or use_llm:
            answer = self._extractive(vi_query, passages, "en" if english else None, previous_quotes(history))
        else:
            answer = self._read(query, vi_query, passages, "en" if english else "vi", rules_first=kind == "auto",
                                quotes=previous_quotes(history))
        if not use_llm:  # the smallest quotes that prove it (`assistant/answer/quote.py`)
            answer = shorten(locate_short_answer(answer), self.articles[passages[0].article if passages else 0],
                             vi_query)
        if use_llm:
            try:
                for item in self.llm.stream(query, passages):  # type: ignore[union-attr]
                    if isinstance(item, Answer):
                        answer = item
                    else:
                        yield item
            except Exception as err:
                answer = llm_fallback(answer, err)
                yield from _pieces(answer.text)
        else:
            yield from _pieces(answer.text)
        t2 = time.perf_counter()
        timings = {"retrieve": round((t1 - t0) * 1000, 3), "answer": round((t2 - t1) * 1000, 3),
                   "total": round((t2 - t0) * 1000, 3)}
        yield replace(locate_short_answer(answer), passages=passages, timings_ms=timings)

    def _extractive(self, query: str, passages: list[Passage], lang: str | None = None,
                    quotes: Sequence[str] = ()) -> Answer:
        owner = passages[0].article if passages else 0
        mine = [p for p in passages if p.article == owner]
        text = self.articles[owner].text
        focus = [(text.find(q), text.find(q) + len(q)) for q in quotes if q and text.find(q) >= 0]
        return self.answerer(owner).answer(query, mine, self._chunk_spans[owner], lang=lang, focus=focus)

    def _read(self, query: str, vi_query: str, passages: list[Passage], lang: str, rules_first: bool,
              quotes: Sequence[str] = ()) -> Answer:
        """The reader's answer (metadata questions from the metadata lines), or with
        `rules_first` the rules' answer checked and given a short span by the reader; the
        rules' answer, with a notice, when the reader cannot be loaded. An English question is
        read as `english_reading` says (`translate.reader_forms`)."""
        owner = passages[0].article if passages else 0
        mine = [p for p in passages if p.article == owner]
        spans = self._chunk_spans[owner]
        meta = self.answerer(owner).meta_answer(vi_query, mine, spans, lang)
        if meta is not None:
            return meta
        read = reader_forms(query, vi_query, self.english_reading) if lang == "en" else vi_query
        rules = self._extractive(vi_query, passages, lang, quotes) if rules_first else None
        try:
            if rules is not None and rules.answered:
                return self._reader(owner).refine(read, rules, mine, lang)  # the reader's check and short span
            if rules is not None and self.answerer(owner).unsupported(vi_query):
                return rules  # the question names a figure or person the article never mentions
            return self._reader(owner).answer(read, mine, spans, lang)
        except ModelUnavailableError as err:
            log.warning("reader unavailable: %s", err)
            fallback = rules or self._extractive(vi_query, passages, lang)
            return replace(fallback, notice=MESSAGES[lang]["reader_unavailable"].format(err=err))

    def _reader(self, owner: int) -> ReaderAnswerer:
        if owner not in self._readers or self._readers[owner].reader is not self.reader:
            self._readers[owner] = ReaderAnswerer(self.articles[owner], self.reader)
        return self._readers[owner]

    def answerer(self, article: int = 0) -> ExtractiveAnswerer:
        """The extractive answerer of one article (built once, on first use)."""
        if article not in self._answerers:
            self._answerers[article] = ExtractiveAnswerer(self.stored.articles[article])
        return self._answerers[article]

    @property
    def answerers(self) -> list[ExtractiveAnswerer]:
        """Every article's answerer (builds them all; prefer `answerer(i)`)."""
        return [self.answerer(i) for i in range(len(self.stored.articles))]

    def set_llm(self, llm: Any) -> None:
        """Use a chat model (spec string such as "openai:gpt-4o-mini", or a LangChain model)."""
        from assistant.answer.llm import LLMAnswerer

        self.llm = LLMAnswerer(llm) if llm is not None else None

    def as_retriever(self, k: int = 4, mode: str = "hybrid") -> Any:
        """A LangChain `BaseRetriever` over this assistant, usable in any LCEL chain."""
        from assistant.lc import AssistantRetriever

        return AssistantRetriever(assistant=self, k=k, mode=mode)

    def as_chain(self, k: int = 4, mode: str = "hybrid", answerer: str | None = None, library: Any = None) -> Any:
        """The whole ask as a LangChain Runnable (`assistant.lc.AnswerChain`): invoke, stream,
        batch and their async forms give the answer contract; `library` resolves "article_id"."""
        from assistant.lc import AnswerChain

        return AnswerChain(self, k=k, mode=mode, answerer=answerer, library=library)

    def info(self) -> dict[str, Any]:
        manifest = self.stored.manifest
        return {
            "index_dir": str(self.index_dir),
            "embedder": self.embedder.info.describe(),
            "embedder_config": asdict(self.embedder.info),
            "articles": manifest.get("articles", []),
            "chunks": len(self.stored.chunks),
            "chunking": manifest.get("chunking"),
            "fusion": asdict(self.searcher.fusion),
            "faiss": manifest.get("faiss"),
            "created_at": manifest.get("created_at"),
            "versions": manifest.get("versions"),
        }


def llm_fallback(answer: Answer, err: Exception) -> Answer:
    from assistant.answer.llm import fallback

    return fallback(answer, err)


def _pieces(text: str, size: int = 24) -> Iterator[str]:
    """The extractive answer in word-aligned pieces, so every answerer streams alike."""
    words = re.findall(r"\S+\s*", text)
    for i in range(0, len(words), size):
        yield "".join(words[i : i + size])


def _remembered(manifest: dict[str, Any] | None) -> str | None:
    """The embedder a saved index was really built with (None: the default, or a fallback)."""
    built = (manifest or {}).get("embedder", {})
    if not built or built.get("fallback_reason"):
        return None
    if built.get("kind") == "hashing":
        return "offline"
    return "bundled" if built.get("model") == BUNDLED_MODEL_ID else built.get("requested") or built.get("model")


def _try_manifest(directory: Path) -> dict[str, Any] | None:
    try:
        return read_manifest(directory)
    except IndexCorruptError:
        return None
