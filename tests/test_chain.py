"""`Assistant.as_chain()`: the whole ask as a LangChain Runnable (invoke, stream, batch, async,
LCEL composition, history and article ids), giving the same contract as `ask --json`."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import pytest
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from langchain_core.runnables import Runnable, RunnableLambda

from assistant import Article, ArticleLibrary, Assistant, QuestionError, SourceError
from tests.conftest import SMALL_ARTICLE

FIGURE_Q = "Đảng bộ Công an tỉnh đã kết nạp được bao nhiêu đảng viên mới trong nhiệm kỳ 2010 – 2015?"
OUTSIDE_Q = "Giá vé máy bay từ Hà Nội đi Đà Nẵng là bao nhiêu?"


def _contract(bot: Assistant, question: str, **kwargs: Any) -> dict[str, Any]:
    """What `assistant ask --json` prints, timings aside (they differ run to run)."""
    return _untimed({"question": question, **bot.ask(question, **kwargs).to_dict()})


def _untimed(result: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in result.items() if k != "timings_ms"}


def test_invoke_gives_the_ask_contract(bot: Assistant) -> None:
    chain = bot.as_chain()
    assert isinstance(chain, Runnable)
    result = chain.invoke(FIGURE_Q)
    assert _untimed(result) == _contract(bot, FIGURE_Q)
    assert result["answered"] and result["citations"]
    for citation in result["citations"]:
        assert bot.article.text[citation["start"] : citation["end"]] == citation["text"]
    assert set(result["timings_ms"]) == {"retrieve", "answer", "total"}


def test_a_question_the_article_does_not_answer_is_refused(bot: Assistant) -> None:
    result = bot.as_chain().invoke({"question": OUTSIDE_Q})
    assert result["answered"] is False
    assert result["citations"] == []


def test_stream_yields_pieces_then_the_whole_answer(bot: Assistant) -> None:
    chunks = list(bot.as_chain(answerer="extractive").stream(FIGURE_Q))
    deltas = [c["delta"] for c in chunks[:-1]]
    assert len(chunks) >= 2 and all(set(c) == {"delta"} for c in chunks[:-1])
    final = chunks[-1]
    assert "".join(deltas).strip() == final["answer"]
    assert _untimed(final) == _contract(bot, FIGURE_Q, answerer="extractive")


def test_the_sum_of_the_chunks_is_the_contract_plus_the_streamed_text(bot: Assistant) -> None:
    """LangChain adds streamed chunks up (as the next LCEL step sees them)."""
    total: Any = None
    for chunk in bot.as_chain().stream(FIGURE_Q):
        total = chunk if total is None else total + chunk
    assert total["delta"].strip() == total["answer"]
    assert _untimed({k: v for k, v in total.items() if k != "delta"}) == _contract(bot, FIGURE_Q)


def test_it_composes_with_a_users_own_steps_invoked_and_streamed(bot: Assistant) -> None:
    prepare = RunnableLambda(lambda q: {"question": q.strip() + "?"})
    cited = RunnableLambda(lambda r: [c["chunk_id"] for c in r["citations"]])
    chain = prepare | bot.as_chain(k=3) | cited
    expected = [c.chunk_id for c in bot.ask(FIGURE_Q, k=3).citations]
    assert chain.invoke(FIGURE_Q.rstrip("?") + "  ") == expected
    assert list(chain.stream(FIGURE_Q.rstrip("?")))[-1] == expected


def test_batch_and_async_forms_agree_with_invoke(bot: Assistant) -> None:
    chain = bot.as_chain(mode="lexical")
    questions = [FIGURE_Q, OUTSIDE_Q, "Ai la tac gia bai viet?"]
    expected = [_contract(bot, q, mode="lexical") for q in questions]
    assert [_untimed(r) for r in chain.batch(questions)] == expected

    async def run() -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        one = await chain.ainvoke(questions[0])
        many = await chain.abatch(questions)
        chunks = [chunk async for chunk in chain.astream(questions[0])]
        return one, many, chunks

    one, many, chunks = asyncio.run(run())
    assert _untimed(one) == expected[0]
    assert [_untimed(r) for r in many] == expected
    assert len(chunks) >= 2 and _untimed(chunks[-1]) == expected[0]


def test_input_keys_and_per_call_settings(bot: Assistant) -> None:
    chain = bot.as_chain()
    got = chain.invoke({"question": FIGURE_Q, "k": 2, "mode": "dense", "answerer": "reader"})
    assert _untimed(got) == _contract(bot, FIGURE_Q, k=2, mode="dense", answerer="reader")
    assert len(got["passages"]) == 2 and got["answerer"].startswith("reader")


def test_history_makes_a_follow_up_inherit_the_topic(bot: Assistant) -> None:
    history = [("Đảng bộ Công an tỉnh kết nạp bao nhiêu đảng viên mới trong nhiệm kỳ 2015 – 2020?", "...")]
    follow_up = "Còn nhiệm kỳ 2010 – 2015 thì sao?"
    got = bot.as_chain().invoke({"question": follow_up, "history": history})
    assert _untimed(got) == _contract(bot, follow_up, history=history)
    alone = bot.as_chain().invoke(follow_up)
    assert [p["chunk_id"] for p in got["passages"]] != [p["chunk_id"] for p in alone["passages"]]


@pytest.mark.parametrize("bad, message", [
    ("   ", "empty"),
    ({"history": []}, "no 'question'"),
    ({"question": FIGURE_Q, "top_k": 3}, "unknown input keys"),
    (42, "takes a question"),
    ({"question": FIGURE_Q, "answerer": "oracle"}, "answerer must be one of"),
])
def test_bad_input_gets_a_clear_error(bot: Assistant, bad: Any, message: str) -> None:
    with pytest.raises(QuestionError, match=message):
        bot.as_chain().invoke(bad)


def test_article_ids_choose_among_a_librarys_articles(bot: Assistant) -> None:
    chain = bot.as_chain()
    own = chain.invoke({"question": FIGURE_Q, "article_id": bot.article.sha256})
    assert _untimed(own) == _contract(bot, FIGURE_Q)
    other = Article.from_text(SMALL_ARTICLE)
    with pytest.raises(SourceError, match="library="):
        chain.invoke({"question": "Ai là tác giả?", "article_id": other.sha256})

    library = ArticleLibrary(model="offline")
    entry = library.add(other)
    question = "Chợ phiên có bao nhiêu gian hàng?"
    got = bot.as_chain(library=library).invoke({"question": question, "article_id": entry.article_id})
    mine = library.get(entry.article_id)
    assert _untimed(got) == _contract(mine, question)
    for citation in got["citations"]:
        assert other.text[citation["start"] : citation["end"]] == citation["text"]
    with pytest.raises(SourceError):
        bot.as_chain(library=library).invoke({"question": question, "article_id": "f" * 64})


class WordByWord(BaseChatModel):
    """A fake chat model that streams a fixed, cited reply word by word."""

    reply: str = ""

    @property
    def _llm_type(self) -> str:
        return "word-by-word"

    def _generate(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                  **kw: Any) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.reply))])

    def _stream(self, messages: list[BaseMessage], stop: Any = None, run_manager: Any = None,
                **kw: Any) -> Iterator[ChatGenerationChunk]:
        for word in self.reply.split(" "):
            yield ChatGenerationChunk(message=AIMessageChunk(content=word + " "))


def test_an_llm_answer_streams_through_the_chain(tmp_path: Any, bundled_index: Any) -> None:
    llm_bot = Assistant.load(bundled_index, model="offline", announce=lambda m: None)
    llm_bot.set_llm(WordByWord(reply="Theo bài báo, đã kết nạp nhiều đảng viên mới [1]."))
    chunks = list(llm_bot.as_chain().stream(FIGURE_Q))
    deltas = [c["delta"] for c in chunks if "delta" in c and "answered" not in c]
    assert len(deltas) >= 5, "the LLM's words arrive one by one"
    final = chunks[-1]
    assert final["answerer"].startswith("llm") and final["citations"][0]["n"] == 1
    assert final["answer"].endswith("[1].")
