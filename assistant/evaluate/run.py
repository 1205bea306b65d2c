"""Run an assistant over a test set and aggregate the metrics (`assistant eval`).

Per question it records the ranked passages, the answer, its citations, the metric values
and a failure reason; aggregates are means with their count and a bootstrap 95 %
interval (fixed seed), overall and by split, question type and variant. Metric
definitions are in `testset.py` and the README ("Evaluation").
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from assistant.answer.quote import QUOTE_SYLLABLES
from assistant.evaluate.testset import (
    TestCase,
    bootstrap_ci,
    contains_gold,
    covers,
    evidence_spans,
    exact_match,
    f1_score,
    hit_at,
    mrr_at,
    ndcg_at,
    percentile,
    recall_at,
    relevance,
    short_enough,
)

DEFAULT_KS = (1, 3, 5, 10)
LOWER_IS_BETTER = {"false_refusal", "answer_chars"}


def run_case(bot: Any, case: TestCase, ks: Sequence[int], mode: str, answerer: str | None) -> dict[str, Any]:
    """Evaluate one question; every value is plain data for per_question.jsonl."""
    rec: dict[str, Any] = {
        "id": case.id,
        "question": case.question,
        "type": case.type,
        "variant": case.variant,
        "split": case.split,
        "answerable": case.answerable,
        "gold": list(case.answers),
    }
    ranked = bot.retrieve(case.question, k=max(ks), mode=mode)
    answer = bot.ask(case.question, mode=mode, answerer=answerer)
    rec["passages"] = [
        {
            "chunk_id": p.chunk_id,
            "rank": p.rank,
            "score": p.score,
            "start": p.start,
            "end": p.end,
            "article": p.article,
            "text": p.text,
        }
        for p in ranked
    ]
    rec["answer"] = answer.text
    rec["answered"] = answer.answered
    rec["short_answer"] = answer.short_answer
    rec["citations"] = [c.to_dict() for c in answer.citations]
    rec["notice"] = answer.notice
    rec["timings_ms"] = answer.timings_ms
    m: dict[str, float | None] = {}
    texts = [a.text for a in bot.articles]
    m["citation_verbatim"] = (
        (sum(texts[c.article][c.start : c.end] == c.text for c in answer.citations) / len(answer.citations))
        if answer.citations
        else None
    )
    quoted = " ".join(c.text for c in answer.citations)
    if case.answerable:
        spans = _spans(texts, case.evidence)
        rel = relevance([(p.start, p.end) if p.article == spans[0] else (-1, -1) for p in ranked], spans[1])
        for k in ks:
            m[f"hit@{k}"] = hit_at(rel, k)
            m[f"recall@{k}"] = recall_at(rel, k)
        n_rel = sum(
            any(covers(c.start, c.end, s) for s in spans[1])
            for c, a in zip(bot.stored.chunks, bot.stored.chunk_articles)
            if a == spans[0]
        )
        m["mrr@10"] = mrr_at(rel, 10)
        m["ndcg@10"] = ndcg_at(rel, n_rel, 10)
        short = answer.short_answer or quoted
        m["em"] = exact_match(short, case.answers) if answer.answered else 0.0
        m["f1"] = f1_score(short, case.answers) if answer.answered else 0.0
        fits = short_enough(quoted, case.answers, QUOTE_SYLLABLES)  # a quote past the bar does not count
        m["contains"] = (
            contains_gold(quoted + " " + (answer.short_answer or ""), case.answers)
            if answer.answered and fits else 0.0
        )
        m["answer_chars"] = float(len(quoted)) if answer.answered else None
        m["quote_short"] = float(fits) if answer.answered else None
        m["correct"] = float(answer.answered and m["contains"] == 1.0)
        m["false_refusal"] = float(not answer.answered)
        cites = [(c.start, c.end) for c in answer.citations if c.article == spans[0]]
        m["evidence_cited"] = (
            float(any(covers(s, e, span) for s, e in cites for span in spans[1])) if answer.answered else None
        )
        retrieved = hit_at(rel, len(answer.passages) or 4)
        rec["failure"] = (
            "false_refusal"
            if not answer.answered
            else None
            if m["correct"]
            else "retrieval_miss"
            if not retrieved
            else "wrong_answer"
        )
    else:
        m["abstention"] = float(not answer.answered)
        rec["failure"] = "answered_unanswerable" if answer.answered else None
    m["overall_correct"] = m.get("correct", m.get("abstention", 0.0))
    if answer.answerer.startswith("llm") and answer.answered:
        m["claim_support"] = float(answer.supported)
    rec["metrics"] = m
    return rec


def _spans(texts: list[str], quotes: Sequence[str]) -> tuple[int, list[tuple[int, int]]]:
    """The article that holds the evidence and where (first article that has all quotes)."""
    last: Exception | None = None
    for i, text in enumerate(texts):
        try:
            return i, evidence_spans(text, quotes)
        except ValueError as err:
            last = err
    raise ValueError(str(last))


def run(
    bot: Any,
    cases: Sequence[TestCase],
    *,
    ks: Sequence[int] = DEFAULT_KS,
    mode: str = "hybrid",
    answerer: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict[str, Any]]:
    records = []
    for i, case in enumerate(cases, start=1):
        records.append(run_case(bot, case, ks, mode, answerer))
        if progress:
            progress(i, len(cases))
    return records


def aggregate(records: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Mean, count and 95 % interval of every metric, plus latency percentiles."""
    names = sorted({k for r in records for k in r["metrics"]})
    out: dict[str, Any] = {}
    for name in names:
        values = [r["metrics"][name] for r in records if r["metrics"].get(name) is not None]
        if values:
            lo, hi = bootstrap_ci(values)
            out[name] = {"value": sum(values) / len(values), "n": len(values), "ci": [lo, hi]}
    for stage in ("retrieve", "answer", "total"):
        times = [r["timings_ms"].get(stage, 0.0) for r in records]
        out[f"{stage}_ms_p50"] = {"value": percentile(times, 50), "n": len(times)}
        out[f"{stage}_ms_p95"] = {"value": percentile(times, 95), "n": len(times)}
    answerable = [r for r in records if r["answerable"]]
    unanswerable = [r for r in records if not r["answerable"]]
    out["confusion"] = {
        "answerable_answered": sum(r["answered"] for r in answerable),
        "answerable_refused": sum(not r["answered"] for r in answerable),
        "unanswerable_answered": sum(r["answered"] for r in unanswerable),
        "unanswerable_refused": sum(not r["answered"] for r in unanswerable),
    }
    return out


def breakdown(records: Sequence[dict[str, Any]], key: str) -> dict[str, Any]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        groups.setdefault(str(r[key]), []).append(r)
    return {g: aggregate(rs) for g, rs in sorted(groups.items())}


def summarize(records: Sequence[dict[str, Any]], config: dict[str, Any], testset: Path, bot: Any) -> dict[str, Any]:
    from assistant import __version__

    return {
        "overall": aggregate(records),
        "by_split": breakdown(records, "split"),
        "by_type": breakdown(records, "type"),
        "by_variant": breakdown(records, "variant"),
        "by_split_variant": breakdown([{**r, "split_variant": f"{r['split']}/{r['variant']}"} for r in records],
                                      "split_variant"),
        "config": config,
        "embedder": bot.info()["embedder_config"],
        "article_sha256": [a.sha256 for a in bot.articles],
        "testset": {
            "path": str(testset),
            "sha256": hashlib.sha256(Path(testset).read_bytes()).hexdigest(),
            "questions": len(records),
        },
        "versions": {"assistant": __version__, **(bot.stored.manifest.get("versions") or {})},
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def check_bounds(summary: dict[str, Any], bounds: Sequence[str], *, above: bool) -> list[str]:
    """`metric=value` bounds (metric optionally prefixed `split:`); returns the failures."""
    failures = []
    for bound in bounds:
        name, _, value = bound.partition("=")
        scope, _, metric = name.rpartition(":")
        table = summary["by_split"].get(scope, {}) if scope else summary["overall"]
        if metric not in table:
            failures.append(f"{name}: no such metric")
            continue
        got = table[metric]["value"]
        if (above and got < float(value)) or (not above and got > float(value)):
            failures.append(f"{name} = {got:.3f} is {'below' if above else 'above'} {value}")
    return failures


def write_outputs(out: Path, summary: dict[str, Any], records: Sequence[dict[str, Any]]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "summary.json").write_text(json.dumps(summary, ensure_ascii=False, indent=2), encoding="utf-8")
    with (out / "per_question.jsonl").open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps(r, ensure_ascii=False) + "\n")
