"""LangChain integration: the assistant as a `BaseRetriever` for LCEL chains.

Kept apart so that importing `assistant` does not import LangChain's retriever stack
(pydantic models, about half a second) unless `as_retriever()` is called.
"""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever


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
