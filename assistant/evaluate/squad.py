"""SQuAD-format QA sets (v1 and v2): read them and split them by context, reproducibly.

A file holds `data[].paragraphs[].context` with `qas[]` of `question`, `answers[]` (`text`,
`answer_start`) and, in v2, `is_impossible`. Every context becomes one article.

Splits are made by group, never by question, so no context is both trained on and
measured: the group of a UIT context is the context itself; in the news QA set one
question is asked over several snippets, so its group is the question (no question is
seen in training and again in held-out), and a held-out snippet whose text also occurs
in train moves to dev (`_no_shared_text`). A group's split is fixed by the sha256 of its
key: the same on every machine, and stable when other groups are added.

>>> split_of("any context")
'train'
"""

from __future__ import annotations

import hashlib
import json
import unicodedata
from dataclasses import dataclass, replace
from pathlib import Path

from assistant.paths import bundled_qa_dir

# share of groups per split: train (fine-tuning), dev (calibration, choices), heldout (reported only)
SPLITS = (("train", 70), ("dev", 10), ("heldout", 20))


@dataclass(frozen=True)
class SquadQuestion:
    """One question over one context; `answers` empty and `answerable` False in v2 impossibles."""

    id: str
    question: str
    answers: tuple[str, ...]
    starts: tuple[int, ...]
    answerable: bool


@dataclass(frozen=True)
class SquadContext:
    """One context (an article of its own) with its questions and split."""

    set: str
    title: str
    context: str
    questions: tuple[SquadQuestion, ...]
    split: str


def split_of(key: str) -> str:
    """The split of a group key: its sha256 mapped onto 100 buckets."""
    bucket = int(hashlib.sha256(key.encode("utf-8")).hexdigest()[:8], 16) % 100
    edge = 0
    for name, share in SPLITS:
        edge += share
        if bucket < edge:
            return name
    return SPLITS[-1][0]


def _nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def load_squad(path: str | Path, name: str | None = None) -> list[SquadContext]:
    """Every context of a SQuAD v1/v2 file, NFC-normalised, with answer offsets re-found
    where normalisation moved them. `ValueError` names the file for anything malformed."""
    path = Path(path)
    set_name = name or path.stem
    try:
        data = json.loads(path.read_text(encoding="utf-8"))["data"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        raise ValueError(f"{path}: not a SQuAD-format file ({err})") from None
    contexts: list[SquadContext] = []
    for article in data:
        title = _nfc(str(article.get("title") or ""))
        for para in article.get("paragraphs", []):
            context = _nfc(para["context"])
            questions = []
            for qa in para.get("qas", []):
                answers: list[str] = []
                starts: list[int] = []
                for ans in qa.get("answers") or []:
                    text = _nfc(ans["text"]).strip()
                    start = _locate(context, text, int(ans.get("answer_start", -1)))
                    if text and start >= 0 and (text, start) not in zip(answers, starts):
                        answers.append(text)
                        starts.append(start)
                impossible = bool(qa.get("is_impossible", False)) or not answers
                questions.append(SquadQuestion(str(qa.get("id", "")), _nfc(qa["question"]).strip(), tuple(answers),
                                               tuple(starts), not impossible))
            key = questions[0].question if set_name.startswith("news") and len(questions) == 1 else context
            contexts.append(SquadContext(set_name, title, context, tuple(questions), split_of(key)))
    return _no_shared_text(contexts)


def _no_shared_text(contexts: list[SquadContext]) -> list[SquadContext]:
    """A news snippet asked about by several questions can fall in several groups: where
    its text is also in `train`, a `heldout` copy goes to `dev`, so held-out figures never
    read text the reader was trained on (train itself is left as it was trained on)."""
    trained = {c.context for c in contexts if c.split == "train"}
    return [replace(c, split="dev") if c.split == "heldout" and c.context in trained else c for c in contexts]


def _locate(context: str, answer: str, hint: int) -> int:
    """The answer's offset: `hint` when it still points at it, else the occurrence nearest it."""
    if context[hint : hint + len(answer)] == answer:
        return hint
    found, at = [], context.find(answer)
    while at >= 0:
        found.append(at)
        at = context.find(answer, at + 1)
    return min(found, key=lambda a: abs(a - hint)) if found else -1


def bundled_sets(root: str | Path | None = None) -> dict[str, Path]:
    """The SQuAD-format sets shipped in `index/qa/` (name -> path; empty where none are)."""
    base = Path(root) if root else bundled_qa_dir()
    return {p.stem: p for p in sorted(base.glob("*.json"))}
