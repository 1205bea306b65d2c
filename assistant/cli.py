"""The `assistant` command: build, retrieve, info, download-model.

Each subcommand is a thin layer over the public API. Errors the user can act on
(`AssistantError`) print one line on stderr and exit non-zero, without a traceback;
`--json` output uses the same field names as the Python API.
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

from . import __version__
from .errors import AssistantError


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index-dir", help="index directory (default: the bundled article's index)")
    p.add_argument("--model", help="embedding model id or local path, or 'offline' (env: ASSISTANT_MODEL; "
                                   "default: intfloat/multilingual-e5-base)")
    p.add_argument("-q", "--quiet", action="store_true", help="do not print progress and notices")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="assistant",
        description="Answer questions about a Vietnamese news article, citing the passages used.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("build", help="index article files (default: the bundled article)")
    p.add_argument("files", nargs="*", metavar="FILE", help="UTF-8 .txt or .md article files")
    p.add_argument("--max-tokens", type=int, default=None, help="chunk size in the model's tokens")
    p.add_argument("--overlap", type=int, default=None, help="sentences shared by consecutive chunks")
    _common(p)

    p = sub.add_parser("retrieve", help="print the passages that best match a question")
    p.add_argument("question")
    p.add_argument("-k", type=int, default=4, help="number of passages (default: 4)")
    p.add_argument("--mode", choices=("hybrid", "dense", "lexical"), default="hybrid")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)

    p = sub.add_parser("info", help="show the index, the article and the embedder in use")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)

    p = sub.add_parser("download-model", help="fetch the embedding model into the local cache for offline use")
    p.add_argument("--model", help="model id (default: intfloat/multilingual-e5-base)")
    return parser


def _say(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    return (lambda _msg: None) if getattr(args, "quiet", False) else (lambda msg: print(msg, file=sys.stderr))


def _load(args: argparse.Namespace) -> Any:
    from .core import Assistant

    return Assistant.load(args.index_dir, args.model, announce=_say(args))


def cmd_build(args: argparse.Namespace) -> int:
    from .chunking import ChunkingConfig
    from .core import Assistant

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
    bot = _load(args)
    passages = bot.retrieve(args.question, k=args.k, mode=args.mode)
    if args.json:
        print(json.dumps({"question": args.question, "mode": args.mode,
                          "passages": [p.to_dict() for p in passages]}, ensure_ascii=False, indent=2))
        return 0
    if not passages:
        print("No passage matches.")
    for p in passages:
        print(f"[{p.rank}] {p.chunk_id}  paragraph {p.paragraph}  chars {p.start}-{p.end}  score {p.score:.4f}")
        print(textwrap.indent(textwrap.fill(p.text, width=100), "    "))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    info = _load(args).info()
    if args.json:
        print(json.dumps(info, ensure_ascii=False, indent=2))
        return 0
    for art in info["articles"]:
        print(f"Article:   {art['title']} ({art['date']}, {art['author']})  [{art['source']}]")
    print(f"Index:     {info['index_dir']}  ({info['chunks']} passages, {info['faiss']['index_type']})")
    print(f"Embedder:  {info['embedder']}")
    print(f"Chunking:  {info['chunking']}")
    print(f"Fusion:    {info['fusion']}")
    print(f"Built:     {info['created_at']}")
    return 0


def cmd_download_model(args: argparse.Namespace) -> int:
    from .embeddings import DEFAULT_MODEL, download_model

    model = args.model or DEFAULT_MODEL
    path = download_model(model)
    print(f"{model} is cached at {path}; it will now load offline.")
    return 0


COMMANDS = {"build": cmd_build, "retrieve": cmd_retrieve, "info": cmd_info, "download-model": cmd_download_model}


def main(argv: Sequence[str] | None = None) -> int:
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


if __name__ == "__main__":
    sys.exit(main())
