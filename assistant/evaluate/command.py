"""`assistant eval`: its options and the runs behind them (the bundled test set, a JSONL test
set, SQuAD files, feedback turned into test-set lines); `assistant.cli` dispatches here."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any


def say(args: argparse.Namespace) -> Callable[[str], None]:
    return (lambda _msg: None) if getattr(args, "quiet", False) else (lambda msg: print(msg, file=sys.stderr))


def add_eval_parser(sub: Any, common: Callable[[argparse.ArgumentParser], None]) -> None:
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
    common(p)


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

    embedder = resolve_embedder(args.model, announce=say(args))
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
    from assistant.library import open_assistant

    return open_assistant(args.index_dir, args.model, store=args.store, article_id=args.article_id,
                          llm=getattr(args, "llm", None), announce=say(args))
