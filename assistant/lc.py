"""LangChain integration: the assistant as a `BaseRetriever`, and the whole ask as a Runnable.

Kept apart so that importing `assistant` does not import LangChain's runnable stack
(pydantic models, about half a second) unless `as_retriever()` or `as_chain()` is called.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from langchain_core.runnables import Runnable, RunnableConfig
from langchain_core.runnables.config import run_in_executor
from langchain_core.runnables.utils import AddableDict

from assistant.answer.contract import Answer
from assistant.errors import QuestionError, SourceError

INPUT_KEYS = ("question", "history", "article_id", "k", "mode", "answerer")


class AssistantRetriever(BaseRetriever):
    """Returns `Document`s whose metadata carries the `Passage` fields (offsets, score, rank).

    >>> retriever = Assistant.load().as_retriever(k=3)   # doctest: +SKIP
    >>> chain = retriever | (lambda docs: "\\n\\n".join(d.page_content for d in docs))  # doctest: +SKIP
    """

    assistant: Any
    k: int = 4
    mode: str = "hybrid"

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[Document]:
        passages = self.assistant.retrieve(query, k=self.k, mode=self.mode)
        return [
            Document(page_content=p.text, metadata={k: v for k, v in p.to_dict().items() if k != "text"}, id=p.chunk_id)
            for p in passages
        ]


class AnswerChain(Runnable[Any, dict[str, Any]]):
    """The whole ask (retrieval -> reader or rules or LLM -> cited answer) as one Runnable.

    Input: a question, or a dict with "question" and optionally "history" (the chat so far,
    as for `Assistant.ask`), "article_id" (an article of `library`; none: this assistant's),
    and per-call "k", "mode", "answerer". `invoke` returns the answer contract as
    `assistant ask --json` prints it: {"question", "answer", "answered", "short_answer",
    "citations", "passages", ...}. `stream` yields {"delta": text} pieces as the web chat
    shows them, then the whole contract as the last chunk (LangChain's sum of the chunks is
    that contract plus "delta", the streamed text). `batch`, `ainvoke`, `astream` and
    `abatch` run the same ask; async ones in LangChain's executor (the ask is CPU-bound).

    >>> chain = Assistant.load().as_chain()                                  # doctest: +SKIP
    >>> chain.invoke("Ai là Giám đốc Công an tỉnh?")["short_answer"]         # doctest: +SKIP
    >>> for chunk in chain.stream({"question": "...", "history": turns}):    # doctest: +SKIP
    ...     print(chunk.get("delta", ""), end="")
    """

    def __init__(self, assistant: Any, *, k: int = 4, mode: str = "hybrid", answerer: str | None = None,
                 library: Any = None):
        self.assistant = assistant
        self.library = library
        self.defaults = {"k": k, "mode": mode, "answerer": answerer}

    def invoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> dict[str, Any]:
        result: dict[str, Any] | None = None
        for chunk in self.stream(input, config, **kwargs):
            if "answered" in chunk:
                result = {key: value for key, value in chunk.items() if key != "delta"}
        assert result is not None, "the assistant's stream ended without an answer"
        return result

    def stream(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[dict[str, Any]]:
        yield from self._transform_stream_with_config(iter([input]), self._transform, config, run_type="chain")

    async def astream(self, input: Any, config: RunnableConfig | None = None,
                      **kwargs: Any) -> AsyncIterator[dict[str, Any]]:
        chunks = self.stream(input, config, **kwargs)
        done = object()
        while (chunk := await run_in_executor(config, next, chunks, done)) is not done:
            yield chunk  # type: ignore[misc]

    async def ainvoke(self, input: Any, config: RunnableConfig | None = None, **kwargs: Any) -> dict[str, Any]:
        return await run_in_executor(config, self.invoke, input, config, **kwargs)

    def _transform(self, inputs: Iterator[Any]) -> Iterator[dict[str, Any]]:
        for item in inputs:
            request = self._request(item)
            bot = self._bot(request.pop("article_id", None))
            question = request.pop("question")
            for piece in bot.stream(question, **request):
                if isinstance(piece, Answer):
                    yield AddableDict(question=question, **piece.to_dict())
                else:
                    yield AddableDict(delta=piece)

    def _request(self, item: Any) -> dict[str, Any]:
        if isinstance(item, str):
            item = {"question": item}
        if not isinstance(item, Mapping):
            raise QuestionError(f"the chain takes a question or a dict with {', '.join(INPUT_KEYS)}; "
                                f"got {type(item).__name__}")
        unknown = sorted(set(item) - set(INPUT_KEYS))
        if unknown:
            raise QuestionError(f"unknown input keys {unknown}: the chain takes {', '.join(INPUT_KEYS)}")
        if "question" not in item:
            raise QuestionError("the chain's input has no 'question'")
        return {**self.defaults, "history": None, **item}

    def _bot(self, article_id: str | None) -> Any:
        """This assistant, or the library's assistant of `article_id` (as the web chat's /ask)."""
        if not article_id or article_id in {a.sha256 for a in self.assistant.articles}:
            return self.assistant
        if self.library is None:
            raise SourceError("unknown_article", f"article {str(article_id)[:12]} is not this assistant's; "
                              "pass library= to as_chain() to answer about the articles of a library")
        return self.library.get(article_id)
