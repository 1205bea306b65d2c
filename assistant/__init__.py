"""Question answering over a Vietnamese news article, with exact citations.

The public API, in one place (the web app and users import only from here):

>>> from assistant import Assistant
>>> bot = Assistant.load()                                  # doctest: +SKIP
>>> for p in bot.retrieve("Ai là Giám đốc Công an tỉnh?", k=2):   # doctest: +SKIP
...     print(p.rank, p.chunk_id, bot.article.text[p.start:p.end] == p.text)

Importing this package imports neither torch, sentence-transformers, gradio nor
LangChain's retriever stack; they load where they are used.
"""

from assistant.answer.contract import Answer, Citation
from assistant.core import MAX_QUESTION_CHARS, Assistant, check_question
from assistant.errors import (
    ArticleError,
    AssistantError,
    IndexCorruptError,
    IndexStaleError,
    LLMError,
    ModelUnavailableError,
    QuestionError,
    SourceError,
)
from assistant.ingest.article import Article, Paragraph, Sentence
from assistant.ingest.chunking import Chunk, ChunkingConfig
from assistant.ingest.sources import article_from_file, article_from_input
from assistant.library import ArticleEntry, ArticleLibrary
from assistant.paths import state_dir
from assistant.search.embeddings import (
    DEFAULT_MODEL,
    EmbedderInfo,
    HashingEmbeddings,
    SentenceTransformerEmbeddings,
)
from assistant.search.resolve import resolve_embedder
from assistant.search.retrieval import FusionConfig, Passage

__version__ = "0.1.0"

__all__ = [
    "DEFAULT_MODEL",
    "MAX_QUESTION_CHARS",
    "Answer",
    "Article",
    "ArticleEntry",
    "ArticleError",
    "ArticleLibrary",
    "Assistant",
    "AssistantError",
    "Chunk",
    "ChunkingConfig",
    "Citation",
    "EmbedderInfo",
    "FusionConfig",
    "HashingEmbeddings",
    "IndexCorruptError",
    "IndexStaleError",
    "LLMError",
    "ModelUnavailableError",
    "Paragraph",
    "Passage",
    "QuestionError",
    "Sentence",
    "SentenceTransformerEmbeddings",
    "SourceError",
    "article_from_file",
    "article_from_input",
    "check_question",
    "resolve_embedder",
    "state_dir",
]

