"""More training signal for the span reader, made here from the QA sets' own training contexts.

    python -m bench.train_reader --signal negatives,templates ...   # added to the human questions

Two kinds, both from the `train` split only (the dev and held-out contexts are never read):

- **negatives**: each answerable question of a UIT set (those sets have no unanswerable
  questions) over the training context of the *same* set that BM25 ranks first for it among
  the others that hold none of its gold answers (accent- and case-insensitively; among the
  five best). The no-answer score learns "the question's words are here, its
  answer is not", the near miss that the news set teaches and the UIT sets do not.
- **templates**: questions written by rule from sentences of the training contexts, over the
  context they come from: a year ("năm 1998" → "năm nào", answer "1998"), a date ("ngày
  2/12/2022" → "ngày nào") or a figure before a word ("1.200 sinh viên" → "bao nhiêu sinh
  viên", answer "1.200"), the rest of the clause kept verbatim. At most `per_context` a
  context, chosen with the seed. They are easy (the question repeats the clause) but they
  show the reader figures and dates over texts of every kind.

Rows are `bench.train_reader`'s: question, context, answer, start (-1: no answer), set.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable

from assistant.evaluate.squad import SquadContext

KINDS = ("negatives", "templates")
_YEAR = re.compile(r"\b([Nn]ăm) (\d{4})\b")
_DATE = re.compile(r"\b([Nn]gày) (\d{1,2}/\d{1,2}(?:/\d{4})?)\b")
_FIGURE = re.compile(r"(?<![\w/.,-])(\d[\d.,]*\d|\d)(?![\w/])(?= ([^\W\d_]+))")
_CLAUSE = re.compile(r"(?:[^,;:()]|[,;:](?! ))+")  # a comma inside a figure (6,5) splits nothing
_NOT_A_UNIT = frozenset({"và", "là", "của", "với", "thì", "hoặc", "hay", "trong", "đến", "tới", "từ", "ngày",
                         "tháng", "năm"})
MIN_WORDS, MAX_WORDS, PER_SET = 6, 30, 300


def negatives(contexts: Iterable[SquadContext]) -> list[dict]:
    """One near-miss unanswerable row per answerable UIT question (see the module's docstring)."""
    import numpy as np

    from assistant.search.hashing import fast_fold
    from assistant.search.lexical import LexicalIndex, build_bm25, query_terms

    by_set: dict[str, list[SquadContext]] = {}
    for ctx in contexts:
        if ctx.set.startswith("uit"):
            by_set.setdefault(ctx.set, []).append(ctx)
    rows = []
    for name, group in sorted(by_set.items()):
        index = LexicalIndex(build_bm25(c.context for c in group))
        folded = [fast_fold(c.context) for c in group]
        vocab = index.bm25.vocab_dict
        for own, ctx in enumerate(group):
            for q in ctx.questions:
                if not q.answerable:
                    continue
                ids = [vocab[t] for t in query_terms(q.question) if t in vocab]
                if not ids:
                    continue
                scores = index.scores(ids)
                for other in np.argsort(-scores, kind="stable")[:5]:
                    other = int(other)
                    if other == own or scores[other] <= 0:
                        continue
                    if not any(fast_fold(a) in folded[other] for a in q.answers):
                        rows.append({"question": q.question, "context": group[other].context, "answer": "",
                                     "start": -1, "set": name + ":negative"})
                        break
    return rows


def templates(contexts: Iterable[SquadContext], per_context: int = 2, per_set: int = PER_SET,
              seed: int = 13) -> list[dict]:
    """Rule-written questions over figures, years and dates (see the module's docstring), at
    most `per_context` a context and `per_set` a set (the news set has 20 times the UIT
    sets' contexts, and the UIT sets are where the reader is weakest)."""
    from assistant.ingest.text import split_sentences

    rng = random.Random(seed)
    by_set: dict[str, list[dict]] = {}
    texts: set[str] = set()
    for ctx in contexts:
        if ctx.context in texts:  # a news snippet is asked about several times
            continue
        texts.add(ctx.context)
        rows = by_set.setdefault(ctx.set, [])
        made = []
        for s0, _s1, sentence in split_sentences(ctx.context):
            for c in _CLAUSE.finditer(sentence):
                made.extend(_from_clause(ctx, s0 + c.start(), c.group()))
        rng.shuffle(made)
        seen: set[str] = set()
        for row in made:
            if len(seen) < per_context and row["answer"] not in seen:
                seen.add(row["answer"])
                rows.append(row)
    out = []
    for _name, rows in sorted(by_set.items()):
        out += rng.sample(rows, min(per_set, len(rows)))
    return out


def _from_clause(ctx: SquadContext, at: int, clause: str) -> list[dict]:
    """Every template question of one clause (`at`: where it starts in the context)."""
    lead = len(clause) - len(clause.lstrip())
    clause, at = clause.strip(), at + lead
    if not MIN_WORDS <= len(clause.split()) <= MAX_WORDS:
        return []
    out = []
    for pattern, asked, group in ((_YEAR, "năm nào", 2), (_DATE, "ngày nào", 2), (_FIGURE, "bao nhiêu", 1)):
        for m in pattern.finditer(clause):
            answer = m.group(group)
            if pattern is _FIGURE and (_YEAR.search(clause[max(0, m.start() - 4) : m.end()]) or _DATE.search(
                    clause[max(0, m.start() - 5) : m.end()]) or m.group(2)[0].isupper()
                    or m.group(2).lower() in _NOT_A_UNIT or clause[max(0, m.start() - 6) : m.start()].rstrip()
                    .lower().endswith(("ngày", "tháng")) or (answer.isdigit() and 1500 <= int(answer) <= 2100)):
                continue  # years and dates are asked as such; a figure before a name is no quantity
            lo, hi = (m.start(), m.end()) if pattern is not _FIGURE else m.span(1)
            question = (clause[:lo] + asked + clause[hi:]).rstrip(" .!?…") + "?"
            question = question[0].upper() + question[1:]
            start = at + m.start(group)
            if ctx.context[start : start + len(answer)] == answer:
                out.append({"question": question, "context": ctx.context, "answer": answer, "start": start,
                            "set": ctx.set + ":template"})
    return out


def extra_rows(kinds: Iterable[str], contexts: list[SquadContext], seed: int = 13) -> list[dict]:
    """The rows of each named kind, over these (training) contexts."""
    rows: list[dict] = []
    for kind in kinds:
        if kind not in KINDS:
            raise SystemExit(f"unknown --signal {kind!r}: choose from {', '.join(KINDS)}")
        rows += negatives(contexts) if kind == "negatives" else templates(contexts, seed=seed)
    return rows
