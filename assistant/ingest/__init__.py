"""Ingest: what a user brings (text, Markdown, HTML pages, links) -> a normalised `Article`
with parts and offsets, Vietnamese text utilities, and the chunks the search stage indexes."""

from assistant.ingest.article import Article, Paragraph, Sentence
from assistant.ingest.chunking import Chunk, ChunkingConfig
from assistant.ingest.sources import article_from_file, article_from_input, read_source

__all__ = ["Article", "Chunk", "ChunkingConfig", "Paragraph", "Sentence", "article_from_file",
           "article_from_input", "read_source"]
