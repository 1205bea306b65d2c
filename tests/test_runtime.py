"""The reader's runtimes (`assistant/answer/runtime.py`): ONNX Runtime reads what PyTorch reads,
a damaged export is made again, a missing ONNX Runtime falls back to PyTorch with a warning,
and a wrong runtime name is refused with the names that work."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import pytest

from assistant.answer import runtime
from assistant.answer.reader import Reader
from assistant.search.model import intact

from .conftest import damaged_copy

pytest.importorskip("onnxruntime", reason="the onnx extra is not installed (pip install -e '.[onnx]')")

QUESTION = "Thư viện có bao nhiêu đầu sách?"
PASSAGES = [
    "Thư viện được khánh thành với hơn 2.000 đầu sách dành cho học sinh.",
    "Ông Nguyễn Văn An, Giám đốc Sở, cho biết năm nay tỉnh xây thêm 12 phòng đọc ở các xã vùng cao.",
    "Sách.",  # a short passage: the batch is padded
]


@pytest.fixture(scope="module")
def readers(model_cache: Path) -> tuple[Reader, Reader]:
    with pytest.MonkeyPatch.context() as mp:  # the session's model cache, not the user's
        mp.setenv("ASSISTANT_MODEL_CACHE", str(model_cache))
        onnx, torch = Reader(runtime="onnx"), Reader(runtime="torch")
        onnx.warm_up()
        torch.warm_up()
    return onnx, torch


def test_onnx_reads_the_same_spans_as_torch(readers: tuple[Reader, Reader]) -> None:
    onnx, torch = readers
    assert (onnx.used, torch.used) == ("onnx", "torch")
    long = " ".join(PASSAGES * 60)  # read in overlapping windows
    for question, passages in [(QUESTION, PASSAGES), ("Tỉnh xây thêm bao nhiêu phòng đọc?", [long, PASSAGES[2]])]:
        a, b = onnx.read(question, passages, top=5), torch.read(question, passages, top=5)
        assert [(s.passage, s.start, s.end) for s in a] == [(s.passage, s.start, s.end) for s in b]
        assert all(abs(x.margin - y.margin) < 1e-3 for x, y in zip(a, b))
    best = onnx.read(QUESTION, PASSAGES)[0]
    assert "2.000" in PASSAGES[best.passage][best.start : best.end]
    # The adapter leaves the word embeddings alone: the export reads the encoder's rows (as
    # the embedder does) instead of keeping its own 384 MB copy.
    assert not (onnx._load()[0].directory / runtime.EMBEDDINGS).exists()  # type: ignore[attr-defined]


def test_a_damaged_export_is_made_again(readers: tuple[Reader, Reader], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    copy = damaged_copy(readers[0]._load()[0].directory, runtime.FILE, tmp_path)  # type: ignore[attr-defined]
    monkeypatch.setattr(runtime, "export_dir", lambda _key: copy)
    said: list[str] = []
    fresh = Reader(runtime="onnx", announce=said.append)
    spans = fresh.read(QUESTION, PASSAGES)
    assert fresh.used == "onnx" and intact(copy)
    assert said == [f"Exporting the span reader to ONNX into {copy} (once)."]  # not a silent pause
    assert "2.000" in PASSAGES[spans[0].passage][spans[0].start : spans[0].end]


def test_without_onnx_runtime_the_reader_runs_on_torch(monkeypatch: pytest.MonkeyPatch,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    # import-linter (tests/test_architecture.py, same process) configures logging with
    # `disable_existing_loggers`: the order of the test files must not hide this warning
    monkeypatch.setattr(logging.getLogger("assistant.answer.reader"), "disabled", False)
    reader = Reader(runtime="onnx")
    with caplog.at_level(logging.WARNING, logger="assistant.answer.reader"):
        spans = reader.read(QUESTION, PASSAGES)
    assert reader.used == "torch"
    assert "2.000" in PASSAGES[spans[0].passage][spans[0].start : spans[0].end]
    assert any("runs on PyTorch" in r.getMessage() and "onnxruntime" in r.getMessage() for r in caplog.records)


def test_the_runtime_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(runtime.ENV, "Torch ")
    assert Reader().runtime == "torch"
    monkeypatch.setenv(runtime.ENV, "tensorrt")
    with pytest.raises(ValueError, match=r"onnx, torch.*'tensorrt'.*ASSISTANT_READER_RUNTIME"):
        Reader()
    monkeypatch.delenv(runtime.ENV)
    with pytest.raises(ValueError, match="got 'gpu'"):
        Reader(runtime="gpu")
