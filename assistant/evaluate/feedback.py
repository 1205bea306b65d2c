"""Web-chat feedback (👍/👎 JSON lines) -> candidate test-set lines for a person to check.

A liked answer becomes an answerable question whose gold answer is the short answer (or
the first cited quote) and whose evidence is the first cited quote; a liked refusal
becomes an unanswerable question; a disliked answer keeps the question with empty gold
fields. Every line carries `"needs_review": true`: feedback is a lead, not a label.
"""

from __future__ import annotations

import json
from pathlib import Path


def feedback_to_testset(feedback: Path, out_dir: Path) -> tuple[Path, int]:
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "testset_from_feedback.jsonl"
    count = 0
    with target.open("w", encoding="utf-8") as fh:
        for i, line in enumerate(feedback.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            rec = json.loads(line)
            cites = rec.get("citations") or []
            liked = bool(rec.get("liked"))
            answered = bool(rec.get("answered"))
            quote = cites[0]["text"] if cites else None
            case = {
                "id": f"fb{i:04d}",
                "question": rec.get("question", ""),
                "answers": [rec.get("short_answer") or quote] if liked and answered and quote else [],
                "evidence": quote if liked and answered else None,
                "answerable": answered if liked else True,
                "type": "unanswerable" if liked and not answered else "feedback",
                "split": "dev",
                "needs_review": True,
                "liked": liked,
                "answer_given": rec.get("answer", ""),
            }
            fh.write(json.dumps(case, ensure_ascii=False) + "\n")
            count += 1
    return target, count
