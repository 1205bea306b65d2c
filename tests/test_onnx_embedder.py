"""The embedder on ONNX Runtime (`assistant/search/onnx_runtime.py`) and the shared tokenizer
(`assistant/search/tokens.py`): the vectors and windows are the ones PyTorch and transformers
give, a damaged export is made again, a missing ONNX Runtime falls back to PyTorch with a
warning, and a process that asks a question never imports torch or transformers."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from assistant.search import onnx_runtime, tokens
from assistant.search.bundled_embedder import BundledEmbeddings
from assistant.search.model import ensure_model_dir, intact

from .conftest import ARTICLE_PATH, ROOT, damaged_copy

pytest.importorskip("onnxruntime", reason="the onnx extra is not installed (pip install -e '.[onnx]')")
pytestmark = pytest.mark.slow

ARTICLE = ARTICLE_PATH.read_text(encoding="utf-8")
TEXTS = [*[p for p in ARTICLE.split("\n") if p.strip()][:20], ARTICLE * 2, "", "Ａｂｃ ﬁ 🙂", "e\u0301 tổ hợp"]


@pytest.fixture(scope="module")
def embedders(model_cache: Path) -> tuple[BundledEmbeddings, BundledEmbeddings]:
    with pytest.MonkeyPatch.context() as mp:  # the session's model cache, not the user's
        mp.setenv("ASSISTANT_MODEL_CACHE", str(model_cache))
        onnx, torch = BundledEmbeddings(runtime="onnx"), BundledEmbeddings(runtime="torch")
        assert onnx.model and torch.model  # loaded (the ONNX one exported once per session)
    return onnx, torch


def test_onnx_gives_the_vectors_torch_gives(embedders: tuple[BundledEmbeddings, BundledEmbeddings]) -> None:
    onnx, torch = embedders
    assert (onnx.used, torch.used) == ("onnx", "torch")
    for query in (False, True):  # the long text is cut at 512 tokens alike; batches mix lengths
        a, b = onnx.embed_array(TEXTS, query=query), torch.embed_array(TEXTS, query=query)
        assert a.shape == b.shape == (len(TEXTS), onnx.info.dim)
        assert np.abs(a - b).max() < 1e-5
        assert np.allclose(np.linalg.norm(a, axis=1), 1.0, atol=1e-5)
    assert onnx.info == torch.info


def test_the_shared_tokenizer_gives_transformers_ids_offsets_and_windows(model_cache: Path) -> None:
    """`tokens.py` drives the Rust tokenizer itself so that asking never imports transformers;
    the reader was trained on transformers' windows, so they must stay the same."""
    from transformers import AutoTokenizer

    path = ensure_model_dir()
    ours, theirs = tokens.load_tokenizer(path), AutoTokenizer.from_pretrained(str(path))
    questions = ["Ai là Giám đốc?", "Trong nhiệm kỳ 2010 – 2015 kết nạp được bao nhiêu đảng viên mới?",
                 "Xin hãy đọc kỹ " * 80 + "ai?"] * 2  # the last one is clipped to its end
    contexts = [ARTICLE, ARTICLE[:300], "", ARTICLE[1000:5000], "Ａｂｃ ﬁ 🙂", ARTICLE[:2000]]
    clipped = [tokens.clip_question(ours, q, 96) for q in questions]
    assert clipped[2].endswith("ai?") and len(tokens.token_ids(ours, clipped[2], special=False)) == 96
    enc = theirs(clipped, contexts, truncation="only_second", max_length=384, stride=128,
                 return_overflowing_tokens=True, return_offsets_mapping=True, padding=False)
    windows = tokens.encode_pairs(ours, questions, contexts, 384, 128, 96)
    assert len(windows.owners) > len(questions)  # the article overflows into several windows
    assert windows.owners == enc["overflow_to_sample_mapping"] and windows.input_ids == enc["input_ids"]
    assert windows.offsets == [[tuple(o) for o in row] for row in enc["offset_mapping"]]
    assert windows.sequence_ids == [enc.sequence_ids(w) for w in range(len(windows.owners))]
    texts = ["passage: " + ARTICLE, "query: x", "passage: "]
    ids, mask = tokens.encode_texts(ours, texts, 512)
    batch = theirs(texts, truncation=True, max_length=512, padding=True, return_tensors="np")
    assert (ids == batch["input_ids"]).all() and (mask == batch["attention_mask"]).all()
    assert len(tokens.token_ids(ours, texts[0])) == len(theirs(texts[0])["input_ids"]) > 512  # counted whole


def test_a_damaged_export_is_made_again(embedders: tuple[BundledEmbeddings, BundledEmbeddings], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    copy = damaged_copy(embedders[0].model[0].directory, onnx_runtime.FILE, tmp_path)
    monkeypatch.setattr(onnx_runtime, "export_dir", lambda _path: copy)
    said: list[str] = []
    fresh = BundledEmbeddings(runtime="onnx", announce=said.append)
    vectors = fresh.embed_array(TEXTS[:3])
    assert fresh.used == "onnx" and intact(copy)
    assert said == [f"Exporting the embedding model to ONNX into {copy} (once)."]  # not a silent pause
    assert np.abs(vectors - embedders[1].embed_array(TEXTS[:3])).max() < 1e-5


def test_without_onnx_runtime_the_embedder_runs_on_torch(monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails
    monkeypatch.setattr(logging.getLogger("assistant.search.bundled_embedder"), "disabled", False)
    embedder = BundledEmbeddings()
    with caplog.at_level(logging.WARNING, logger="assistant.search.bundled_embedder"):
        vector = embedder.embed_array(["Ai là Giám đốc?"], query=True)
    assert embedder.used == "torch" and vector.shape == (1, 384)
    assert any("runs on PyTorch" in r.getMessage() and "onnxruntime" in r.getMessage() for r in caplog.records)


def test_the_runtime_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(onnx_runtime.ENV, " Torch")
    assert BundledEmbeddings().runtime == "torch"
    monkeypatch.setenv(onnx_runtime.ENV, "cuda")
    with pytest.raises(ValueError, match=r"onnx, torch.*'cuda'.*ASSISTANT_EMBEDDER_RUNTIME"):
        BundledEmbeddings()


def test_asking_imports_neither_torch_nor_transformers(tmp_path: Path,
                                                       embedders: tuple[BundledEmbeddings, BundledEmbeddings]) -> None:
    """The cold-start contract: with both exports made, a process that loads the index, embeds
    the question and reads it loads only ONNX Runtime (torch and transformers were 5 of the 9
    seconds of a cold ask)."""
    from assistant import Assistant
    from assistant.answer.reader import Reader

    index = tmp_path / "index"
    Assistant.load(index, model="bundled", articles=[ARTICLE_PATH])  # built with the bundled model
    Reader().warm_up()  # the reader's export too, made once per session
    code = ("import json, sys; from assistant import Assistant; "
            f"a = Assistant.load({str(index)!r}); answer = a.ask('Ai là Giám đốc Công an tỉnh?'); "
            "print(json.dumps([answer.answered, a.reader.used, a.embedder.used, "
            "sorted(m for m in ('torch', 'transformers', 'sentence_transformers') if m in sys.modules)]))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=dict(os.environ), capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [True, "onnx", "onnx", []]
