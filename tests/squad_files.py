"""Small SQuAD-format files for the tests of `squad.py` and `squad_eval.py`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CONTEXT = ("Trường Tiểu học Hoàng Văn Thụ khánh thành thư viện xanh với hơn 2.000 đầu sách dành cho học sinh. "
           "Thư viện được xây dựng trong 3 tháng với tổng kinh phí 450 triệu đồng, do phụ huynh đóng góp. "
           "Cô Nguyễn Thị Hoà là Hiệu trưởng nhà trường.")
HOSTILE = "<script>alert('x')</script> Thư viện được xây dựng trong bao lâu?"


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def _qa(qid: str, question: str, answers: list[tuple[str, int]], **extra: Any) -> dict[str, Any]:
    return {"id": qid, "question": question, "answers": [{"text": t, "answer_start": s} for t, s in answers], **extra}


def tiny_v2(path: Path, context: str = CONTEXT) -> Path:
    """One context, SQuAD v2: two answerable questions (one hostile), one impossible."""
    at = context.find
    qas = [
        _qa("q1", "Thư viện có bao nhiêu đầu sách?", [("hơn 2.000 đầu sách", at("hơn 2.000 đầu sách"))],
            is_impossible=False),
        _qa("q2", HOSTILE, [("3 tháng", at("3 tháng"))], is_impossible=False),
        _qa("q3", "Ai là hiệu phó nhà trường?", [], is_impossible=True, plausible_answers=[]),
    ]
    return _write(path, {"version": "v2.0", "data": [{"title": "Thư viện", "paragraphs": [
        {"context": context, "qas": qas}]}]})
