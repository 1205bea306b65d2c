"""Answer: the `Answer`/`Citation` contract and what fills it from retrieved passages: the span
reader, the extractive rules, the optional LLM, follow-ups, English questions and messages."""

from assistant.answer.contract import Answer, Citation

__all__ = ["Answer", "Citation"]
