"""Grid search of chunk size, overlap and fusion weights on the DEV split only.

Run: .venv/bin/python -m bench.tune_retrieval [--embedder bundled|offline] [--out artifacts/tune.json]
Prints Hit@1/Hit@3/MRR@10 on dev for every setting, best first, then the held-out figures
of the winner (held-out questions never take part in the choice). Then English questions
(the `en` variant, dev split): retrieval with the original English question against its
Vietnamese glossary form (`assistant/answer/translate.py`), dense and hybrid, to show whether the glossary
still earns its place with a multilingual model. Query vectors are computed once per
question (they do not depend on the chunking).
"""

from __future__ import annotations

import argparse
import itertools
import json
import tempfile
from pathlib import Path

from assistant import Assistant, ChunkingConfig, FusionConfig
from assistant.answer.translate import to_vietnamese
from assistant.evaluate.testset import evidence_spans, hit_at, is_vietnamese, load_testset, mrr_at, relevance
from assistant.paths import bundled_article, bundled_testset

_QUERY_VECTORS: dict[str, object] = {}


def memo_queries(bot: Assistant) -> Assistant:
    """Reuse query vectors across settings: they do not depend on the chunking."""
    embedder = bot.searcher.embedder
    plain = embedder.embed_array

    def embed_array(texts, *, query=False, progress=False):  # type: ignore[no-untyped-def]
        if query and len(texts) == 1:
            if texts[0] not in _QUERY_VECTORS:
                _QUERY_VECTORS[texts[0]] = plain(texts, query=True)
            return _QUERY_VECTORS[texts[0]]
        return plain(texts, query=query, progress=progress)

    embedder.embed_array = embed_array
    return bot


def english(bot: Assistant, cases) -> dict[str, dict[str, float]]:
    """Hit@1/Hit@3 of English questions: the original question or its glossary form, per mode."""
    out: dict[str, dict[str, float]] = {}
    for name, mode, dense_form, lexical_form in (
        ("dense, original English", "dense", "en", "en"),
        ("dense, glossary form", "dense", "vi", "vi"),
        ("lexical, glossary form", "lexical", "vi", "vi"),
        ("hybrid, original English for both", "hybrid", "en", "en"),
        ("hybrid, English dense + glossary lexical (shipped)", "hybrid", "en", "vi"),
    ):
        h1 = h3 = 0.0
        for case in cases:
            forms = {"en": case.question, "vi": to_vietnamese(case.question)}
            ranked = bot.searcher.search(forms[dense_form], k=10, mode=mode, lexical_query=forms[lexical_form])
            rel = relevance([(p.start, p.end) for p in ranked], evidence_spans(bot.article.text, case.evidence))
            h1 += hit_at(rel, 1)
            h3 += hit_at(rel, 3)
        out[name] = {"hit@1": round(h1 / len(cases), 3), "hit@3": round(h3 / len(cases), 3), "n": len(cases)}
    return out


def score(bot: Assistant, cases, mode: str) -> dict[str, float]:
    hits1 = hits3 = mrr = 0.0
    for case in cases:
        spans = evidence_spans(bot.article.text, case.evidence)
        ranked = bot.retrieve(case.question, k=10, mode=mode)
        rel = relevance([(p.start, p.end) for p in ranked], spans)
        hits1 += hit_at(rel, 1)
        hits3 += hit_at(rel, 3)
        mrr += mrr_at(rel, 10)
    n = len(cases)
    return {"hit@1": hits1 / n, "hit@3": hits3 / n, "mrr@10": mrr / n, "n": n}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--embedder", default="bundled")
    ap.add_argument("--out", default="artifacts/tune_retrieval.json")
    args = ap.parse_args()
    cases = [c for c in load_testset(bundled_testset()) if c.answerable and is_vietnamese(c)]
    dev = [c for c in cases if c.split == "dev"]
    held = [c for c in cases if c.split == "heldout"]
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for max_tokens, overlap in itertools.product((48, 64, 96, 128, 160, 256), (0, 1)):
            base = memo_queries(Assistant.build(
                [bundled_article()],
                Path(tmp) / f"i{max_tokens}-{overlap}",
                args.embedder,
                chunking=ChunkingConfig(max_tokens, overlap),
                announce=lambda m: None,
            ))
            for mode in ("dense", "lexical"):
                rows.append({"max_tokens": max_tokens, "overlap": overlap, "mode": mode, **score(base, dev, mode)})
            for wd, wl, k in itertools.product((0.25, 0.5, 1.0), (0.5, 1.0), (5, 20, 60)):
                base.searcher.fusion = FusionConfig(dense_weight=wd, lexical_weight=wl, rrf_k=k)
                rows.append(
                    {
                        "max_tokens": max_tokens,
                        "overlap": overlap,
                        "mode": f"hybrid d{wd} l{wl} k{k}",
                        "dense_weight": wd,
                        "lexical_weight": wl,
                        "rrf_k": k,
                        **score(base, dev, "hybrid"),
                    }
                )
        rows.sort(key=lambda r: (-r["hit@3"], -r["hit@1"], -r["mrr@10"]))
        print(f"dev: {len(dev)} answerable Vietnamese questions")
        for r in rows[:25]:
            print(
                f"{r['max_tokens']:>4} ov{r['overlap']} {r['mode']:<24} hit@1 {r['hit@1']:.3f} "
                f"hit@3 {r['hit@3']:.3f} mrr {r['mrr@10']:.3f}"
            )
        best = rows[0]
        bot = Assistant.build(
            [bundled_article()],
            Path(tmp) / "best",
            args.embedder,
            chunking=ChunkingConfig(best["max_tokens"], best["overlap"]),
            announce=lambda m: None,
        )
        mode = "hybrid" if best["mode"].startswith("hybrid") else best["mode"]
        if mode == "hybrid":
            bot.searcher.fusion = FusionConfig(best["dense_weight"], best["lexical_weight"], best["rrf_k"])
        heldout = score(bot, held, mode)
        print("held-out with the dev winner:", heldout)
        shipped = memo_queries(Assistant.build([bundled_article()], Path(tmp) / "shipped", args.embedder,
                                               announce=lambda m: None))
        en = english(shipped, [c for c in load_testset(bundled_testset(), split="dev")
                                if c.answerable and c.variant == "en" and c.evidence])
        for name, r in en.items():
            print(f"English (dev, n={r['n']}): {name:52} hit@1 {r['hit@1']:.3f} hit@3 {r['hit@3']:.3f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"embedder": args.embedder, "dev": rows, "winner": best, "heldout": heldout,
                                          "english": en}, indent=2))


if __name__ == "__main__":
    main()
