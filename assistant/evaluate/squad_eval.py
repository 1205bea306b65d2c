"""Evaluate the assistant on SQuAD-format sets (`assistant eval --squad FILE`).

Each context becomes its own article and index (or, with `pooled=True`, one index over
every context of the set, so retrieval has to find the right one); every question is
asked through `Assistant.ask`. Per question: SQuAD EM / F1 of `short_answer`, whether the
answer text contains a gold answer (counted only when its quotes hold at most 60 syllables,
or no more than the gold), refusals, and Hit@k (a retrieved passage holds a gold
answer). `summarize` aggregates them per set and split with bootstrap intervals.
The embedder is loaded once and shared by every per-context index.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistant.answer.quote import QUOTE_SYLLABLES
from assistant.evaluate.squad import SquadContext, bundled_sets, load_squad
from assistant.evaluate.testset import bootstrap_ci, contains_gold, exact_match, f1_score, short_enough

KS = (1, 3)
METRICS = ("f1", "em", "contains", "quote_short", "false_refusal", "abstention", *(f"hit@{k}" for k in KS))


def _assistant(contexts: Sequence[SquadContext], embedder: Any, reader: Any, directory: Path) -> Any:
    from assistant.core import Assistant
    from assistant.ingest.article import Article
    from assistant.search.indexing import build_index
    from assistant.search.store import load_index

    articles = [Article.from_text(c.context, source=f"<{c.set}:{i}>") for i, c in enumerate(contexts)]
    build_index(articles, embedder, directory)
    bot = Assistant(load_index(directory), embedder, directory)
    if reader is not None:
        bot.reader = reader
    return bot


def _record(bot: Any, ctx: SquadContext, q: Any, article: int, answerer: str | None, k: int = 4) -> dict[str, Any]:
    answer = bot.ask(q.question, answerer=answerer, k=k)
    golds = list(q.answers)
    rec: dict[str, Any] = {"set": ctx.set, "split": ctx.split, "id": q.id, "question": q.question,
                           "answerable": q.answerable, "gold": golds, "answered": answer.answered,
                           "short": answer.short_answer or " ".join(c.text for c in answer.citations),
                           "text": answer.text, "margin": answer.confidence}
    if q.answerable:
        said = answer.answered
        rec["em"] = exact_match(rec["short"], golds) if said else 0.0
        rec["f1"] = f1_score(rec["short"], golds) if said else 0.0
        quoted = " ".join(c.text for c in answer.citations)
        fits = short_enough(quoted, golds, QUOTE_SYLLABLES)  # a quote past the bar does not count
        rec["contains"] = contains_gold(answer.text, golds) if said and fits else 0.0
        if said:
            rec["quote_short"] = float(fits)
        rec["false_refusal"] = float(not said)
        ranked = [p for p in answer.passages]
        for k in KS:
            rec[f"hit@{k}"] = float(any(p.article == article and any(g in p.text for g in golds) for p in ranked[:k]))
    else:
        rec["abstention"] = float(not answer.answered)
    return rec


def squad_records(split: str | None = "heldout", *, files: dict[str, Path] | None = None, reader: Any = None,
                  embedder: Any = None, pooled: bool = False, limit: int = 0, answerer: str | None = None,
                  progress: bool = False) -> list[dict[str, Any]]:
    """Ask every question of `split` (None or "all": every split) of each file."""
    from assistant.answer.reader import Reader
    from assistant.search.resolve import resolve_embedder

    embedder = embedder or resolve_embedder()
    reader = reader or Reader()  # one reader for every context's assistant: it loads once
    records: list[dict[str, Any]] = []
    for name, path in (files or bundled_sets()).items():
        contexts = [c for c in load_squad(path, name) if split in (None, "all") or c.split == split]
        if limit:
            contexts = _first_questions(contexts, limit)
        with tempfile.TemporaryDirectory(prefix="squad-eval-") as tmp:
            if pooled and contexts:
                bot = _assistant(contexts, embedder, reader, Path(tmp) / "pooled")
                for i, ctx in enumerate(contexts):
                    records.extend(_record(bot, ctx, q, i, answerer) for q in ctx.questions)
                continue
            for i, ctx in enumerate(contexts):
                bot = _assistant([ctx], embedder, reader, Path(tmp) / f"c{i}")
                records.extend(_record(bot, ctx, q, 0, answerer) for q in ctx.questions)
                if progress and i % 50 == 0:
                    print(f"  {name}: {i}/{len(contexts)} contexts", flush=True)
    return records


def _first_questions(contexts: list[SquadContext], limit: int) -> list[SquadContext]:
    out, total = [], 0
    for ctx in contexts:
        if total >= limit:
            break
        out.append(ctx)
        total += len(ctx.questions)
    return out


def summarize(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Per set and split: each metric's mean, count and 95 % bootstrap interval."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for rec in records:
        groups.setdefault(f"{rec['set']}/{rec['split']}", []).append(rec)
    out: dict[str, Any] = {}
    for key, recs in sorted(groups.items()):
        metrics: dict[str, Any] = {}
        for name in METRICS:
            values = [r[name] for r in recs if name in r]
            if values:
                lo, hi = bootstrap_ci(values)
                metrics[name] = {"mean": round(sum(values) / len(values), 4), "n": len(values),
                                 "ci95": [round(lo, 4), round(hi, 4)]}
        out[key] = metrics
    return out


def print_table(summary: dict[str, Any]) -> None:
    cols = ("f1", "em", "contains", "quote_short", "false_refusal", "abstention", "hit@1", "hit@3")
    print(f"{'set/split':32} " + " ".join(f"{c:>14}" for c in cols))
    for key, metrics in summary.items():
        cells = [f"{metrics[c]['mean']:.3f} (n={metrics[c]['n']})" if c in metrics else "–" for c in cols]
        print(f"{key:32} " + " ".join(f"{c:>14}" for c in cells))
