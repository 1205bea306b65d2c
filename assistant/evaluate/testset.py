"""Test sets and retrieval metrics.

Test-set format (JSON lines, one question per line; see the README):
`{"id", "question", "answers": [str], "evidence": [str] | str | null, "answerable": bool,
"type": str}` plus optional `"variant"` (vi, vi_nodiac, en) and `"split"` (dev, heldout).

A retrieved passage is *relevant* to a question when it contains one of the evidence
quotes, or, for a quote longer than a passage, covers at least half of it (a quote that
straddles two chunks is then found by either). Metrics over a ranking of passages:

- Hit@k: 1 if any of the top k passages is relevant.
- Recall@k: share of the question's evidence quotes covered by the top k passages.
- MRR@10: 1 / rank of the first relevant passage within the top 10 (0 if none).
- nDCG@10: binary-gain DCG of the top 10 over the ideal DCG of all relevant chunks.

Answer metrics (MLQA-style normalisation: NFC, lowercase, Unicode punctuation removed):
exact match and syllable F1 of the short answer against the gold answers, and whether
the quoted answer contains a gold answer (reported with the answer's length, so a long
answer cannot win by containing everything).
"""

from __future__ import annotations

import json
import math
import unicodedata
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from assistant.ingest.text import clean


@dataclass(frozen=True)
class TestCase:
    id: str
    question: str
    answers: tuple[str, ...]
    evidence: tuple[str, ...]
    answerable: bool
    type: str
    variant: str = "vi"
    split: str = "dev"
    extra: dict[str, object] = field(default_factory=dict, compare=False)


def load_testset(path: str | Path, split: str | None = None) -> list[TestCase]:
    """Read a JSONL test set; `split` keeps one split ("dev", "heldout") or all (None/"all")."""
    cases = []
    for lineno, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            evidence = rec.get("evidence")
            evidence = [] if evidence is None else [evidence] if isinstance(evidence, str) else list(evidence)
            case = TestCase(
                id=str(rec.get("id", f"line{lineno}")),
                question=rec["question"],
                answers=tuple(rec.get("answers") or ()),
                evidence=tuple(evidence),
                answerable=bool(rec.get("answerable", bool(rec.get("answers")))),
                type=str(rec.get("type", "other")),
                variant=str(rec.get("variant", "vi")),
                split=str(rec.get("split", "dev")),
                extra={k: v for k, v in rec.items() if k not in TestCase.__dataclass_fields__},
            )
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise ValueError(f"{path}:{lineno}: not a test-set line ({err})") from None
        if split in (None, "all") or case.split == split:
            cases.append(case)
    return cases


def evidence_spans(text: str, quotes: Iterable[str]) -> list[tuple[int, int]]:
    """Where each evidence quote occurs in `text` (first occurrence; quotes are normalised)."""
    spans = []
    for quote in quotes:
        q = clean(quote)
        at = text.find(q)
        if at < 0:
            raise ValueError(f"evidence not found in the article: {quote[:80]!r}")
        spans.append((at, at + len(q)))
    return spans


def covers(start: int, end: int, span: tuple[int, int]) -> bool:
    """Does the passage [start, end) contain the span, or at least half of a longer one?"""
    lo, hi = span
    if start <= lo and hi <= end:
        return True
    overlap = min(end, hi) - max(start, lo)
    return (hi - lo) > (end - start) and overlap >= (hi - lo) / 2


def relevance(ranking: Sequence[tuple[int, int]], spans: Sequence[tuple[int, int]]) -> list[list[bool]]:
    """For each ranked passage (start, end): which evidence spans it covers."""
    return [[covers(s, e, span) for span in spans] for s, e in ranking]


def hit_at(rel: Sequence[Sequence[bool]], k: int) -> float:
    return float(any(any(row) for row in rel[:k]))


def recall_at(rel: Sequence[Sequence[bool]], k: int) -> float:
    if not rel or not rel[0]:
        return 0.0
    n = len(rel[0])
    return sum(any(row[j] for row in rel[:k]) for j in range(n)) / n


def mrr_at(rel: Sequence[Sequence[bool]], k: int = 10) -> float:
    return next((1.0 / i for i, row in enumerate(rel[:k], start=1) if any(row)), 0.0)


def ndcg_at(rel: Sequence[Sequence[bool]], n_relevant: int, k: int = 10) -> float:
    """Binary nDCG; `n_relevant` is how many chunks of the whole index are relevant."""
    dcg = sum(1.0 / math.log2(i + 1) for i, row in enumerate(rel[:k], start=1) if any(row))
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(n_relevant, k) + 1))
    return dcg / ideal if ideal else 0.0


def is_vietnamese(case: TestCase) -> bool:
    return case.variant in {"vi", "vi_nodiac"}


# --- answers -------------------------------------------------------------------------------


def normalize_answer(text: str) -> list[str]:
    """MLQA-style normalisation: NFC, lowercase, Unicode punctuation removed, split on spaces."""
    text = unicodedata.normalize("NFC", text).lower()
    text = "".join(" " if unicodedata.category(ch).startswith("P") else ch for ch in text)
    return text.split()


def exact_match(prediction: str, golds: Sequence[str]) -> float:
    pred = normalize_answer(prediction)
    return float(any(pred == normalize_answer(g) for g in golds))


def f1_score(prediction: str, golds: Sequence[str]) -> float:
    """Best syllable-overlap F1 against any gold answer."""
    pred = normalize_answer(prediction)
    best = 0.0
    for gold in golds:
        ref = normalize_answer(gold)
        common = sum((Counter(pred) & Counter(ref)).values())
        if common:
            precision, recall = common / len(pred), common / len(ref)
            best = max(best, 2 * precision * recall / (precision + recall))
    return best


def contains_gold(text: str, golds: Sequence[str]) -> float:
    """1 if a normalised gold answer occurs in the normalised text (as whole syllables)."""
    hay = " " + " ".join(normalize_answer(text)) + " "
    return float(any(" " + " ".join(normalize_answer(g)) + " " in hay for g in golds if normalize_answer(g)))


def short_enough(quoted: str, golds: Sequence[str], limit: int = 60) -> bool:
    """Whether an answer's quotes are short enough to count: at most `limit` syllables, or no
    longer than the shortest gold answer (a long list cannot be quoted in fewer)."""
    n = len(normalize_answer(quoted))
    return n <= limit or n <= min((len(normalize_answer(g)) for g in golds), default=0)


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def bootstrap_ci(values: Sequence[float], n: int = 1000, seed: int = 0) -> tuple[float, float]:
    """95% percentile-bootstrap interval of the mean (fixed seed, so reports are stable)."""
    if not values:
        return (0.0, 0.0)
    import numpy as np

    rng = np.random.default_rng(seed)
    arr = np.asarray(values, dtype=float)
    means = arr[rng.integers(0, len(arr), size=(n, len(arr)))].mean(axis=1)
    return (float(np.percentile(means, 2.5)), float(np.percentile(means, 97.5)))
