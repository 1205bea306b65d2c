"""assistant.search.embeddings without torch: the hashing embedder, prefixes, and choosing (or
falling back from) a model with the network blocked."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from assistant.errors import ModelUnavailableError
from assistant.search.bundled_embedder import BundledEmbeddings
from assistant.search.embeddings import (
    DEFAULT_MODEL,
    HashingEmbeddings,
    SentenceTransformerEmbeddings,
    prefixes_for,
)
from assistant.search.resolve import hub_reachable, resolve_embedder

from .conftest import ROOT

MISSING_MODEL = "no-such-org/no-such-model-for-tests"


# --- hashing embedder ---------------------------------------------------------------------


def test_hashing_is_deterministic_across_instances() -> None:
    texts = ["Đảng viên mới", "lớp cảm tình Đảng", "Giám đốc Công an tỉnh"]
    a, b = HashingEmbeddings(), HashingEmbeddings()
    assert np.array_equal(a.embed_array(texts), b.embed_array(texts))
    assert a.embed_query(texts[0]) == b.embed_query(texts[0])


def test_hashing_is_deterministic_across_processes() -> None:
    """Vectors are saved in the index by one process and queried by another: they must not
    depend on Python's per-process string hash seed."""
    code = (
        "import hashlib; from assistant.search.embeddings import HashingEmbeddings; "
        "v = HashingEmbeddings().embed_array(['Đảng viên mới 2022']); "
        "print(hashlib.sha256(v.tobytes()).hexdigest())"
    )
    import hashlib

    seed = "1" if os.environ.get("PYTHONHASHSEED") != "1" else "2"  # a seed other than ours
    env = {**os.environ, "PYTHONHASHSEED": seed}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True,
                         timeout=60, check=True)
    here = hashlib.sha256(HashingEmbeddings().embed_array(["Đảng viên mới 2022"]).tobytes()).hexdigest()
    assert out.stdout.strip() == here


def test_hashing_vectors_are_unit_norm_float32() -> None:
    emb = HashingEmbeddings()
    vecs = emb.embed_array(["Đảng viên mới", "Thứ sáu, 02/12/2022", "a"])
    assert vecs.dtype == np.float32 and vecs.shape == (3, emb.dim)
    assert np.allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    assert np.isclose(np.linalg.norm(emb.embed_query("lớp cảm tình Đảng")), 1.0, atol=1e-5)
    assert emb.embed_array([]).shape == (0, emb.dim)


def test_hashing_is_accent_and_case_insensitive() -> None:
    emb = HashingEmbeddings()
    assert emb.embed_query("dang vien moi") == emb.embed_query("đảng viên mới")
    assert emb.embed_query("ĐẢNG VIÊN MỚI") == emb.embed_query("đảng viên mới")
    assert emb.embed_documents(["dang vien moi"])[0] == emb.embed_query("đảng viên mới")


def test_hashing_separates_different_texts() -> None:
    emb = HashingEmbeddings()
    q = np.array(emb.embed_query("lớp cảm tình Đảng"))
    near = np.array(emb.embed_query("các lớp cảm tình Đảng cho quần chúng"))
    far = np.array(emb.embed_query("thư viện xanh của trường tiểu học"))
    assert q @ near > q @ far + 0.2


def test_hashing_rejects_tiny_dimensions() -> None:
    with pytest.raises(ValueError, match="8"):
        HashingEmbeddings(dim=8)


def test_hashing_info() -> None:
    emb = HashingEmbeddings()
    assert emb.info.kind == "hashing" and emb.info.dim == emb.dim
    assert emb.info.describe() == "offline hashing embedder"
    assert emb.count_tokens("Đảng viên mới.") == 4


# --- prefixes -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("intfloat/multilingual-e5-base", ("query: ", "passage: ")),
        ("intfloat/e5-small-v2", ("query: ", "passage: ")),
        ("/models/e5-tiny", ("query: ", "passage: ")),
        ("BAAI/bge-m3", ("", "")),
        ("sentence-transformers/paraphrase-multilingual-MiniLM-L12-v2", ("", "")),
    ],
)
def test_prefixes_from_the_model_table(model: str, expected: tuple[str, str]) -> None:
    assert prefixes_for(model) == expected


def test_instruct_e5_uses_an_instruction_for_queries_only() -> None:
    query, passage = prefixes_for("intfloat/multilingual-e5-large-instruct")
    assert query.startswith("Instruct:") and query.endswith("Query: ")
    assert passage == ""


def test_prefixes_from_the_model_config_win(tmp_path: Path) -> None:
    model = tmp_path / "e5-custom"
    model.mkdir()
    (model / "config_sentence_transformers.json").write_text(
        json.dumps({"prompts": {"query": "hỏi: ", "document": "đoạn: "}}), encoding="utf-8"
    )
    assert prefixes_for(str(model)) == ("hỏi: ", "đoạn: ")
    emb = resolve_embedder(str(model))
    assert isinstance(emb, SentenceTransformerEmbeddings)
    assert (emb.query_prefix, emb.passage_prefix) == ("hỏi: ", "đoạn: ")


def test_empty_prompts_in_the_config_fall_back_to_the_table(tmp_path: Path) -> None:
    model = tmp_path / "e5-tiny"
    model.mkdir()
    (model / "config_sentence_transformers.json").write_text(
        json.dumps({"prompts": {"query": "", "document": ""}}), encoding="utf-8"
    )
    assert prefixes_for(str(model)) == ("query: ", "passage: ")


def test_explicit_prefixes_override_the_automatic_ones(tmp_path: Path) -> None:
    emb = SentenceTransformerEmbeddings("intfloat/multilingual-e5-base", path=str(tmp_path), query_prefix="",
                                        passage_prefix="")
    assert (emb.query_prefix, emb.passage_prefix) == ("", "")


# --- resolve_embedder ---------------------------------------------------------------------


@pytest.mark.parametrize("name", ["offline", "hashing"])
def test_offline_names_give_the_hashing_embedder(name: str) -> None:
    messages: list[str] = []
    emb = resolve_embedder(name, announce=messages.append)
    assert isinstance(emb, HashingEmbeddings)
    assert emb.info.fallback_reason is None
    assert messages == []


def test_assistant_model_environment_variable_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSISTANT_MODEL", "offline")
    assert isinstance(resolve_embedder(), HashingEmbeddings)


def test_local_directory_resolves_without_loading(tmp_path: Path) -> None:
    emb = resolve_embedder(str(tmp_path))
    assert isinstance(emb, SentenceTransformerEmbeddings)
    assert emb.path == str(tmp_path.resolve())
    assert emb._model is None  # nothing heavy happens until the first embedding


def test_missing_model_with_network_blocked_falls_back_quickly(hub_online: None) -> None:
    messages: list[str] = []
    t0 = time.monotonic()
    emb = resolve_embedder(MISSING_MODEL, announce=messages.append)
    elapsed = time.monotonic() - t0
    assert elapsed < 5.0
    # a hub model that cannot be had falls back to the bundled multilingual model, said once
    assert isinstance(emb, BundledEmbeddings)
    assert emb.info.fallback_reason and MISSING_MODEL in emb.info.fallback_reason
    assert "unreachable" in emb.info.fallback_reason
    assert emb.info.requested == MISSING_MODEL
    assert len(messages) == 1
    assert MISSING_MODEL in messages[0] and "multilingual-e5-small" in messages[0]
    assert "fallback" in emb.info.describe() and "multilingual-e5-small" in emb.info.describe()


def test_missing_model_without_fallback_raises(hub_online: None) -> None:
    messages: list[str] = []
    t0 = time.monotonic()
    with pytest.raises(ModelUnavailableError, match=MISSING_MODEL):
        resolve_embedder(MISSING_MODEL, allow_fallback=False, announce=messages.append)
    assert time.monotonic() - t0 < 5.0
    assert messages == []


def test_hf_hub_offline_falls_back_without_probing(monkeypatch: pytest.MonkeyPatch) -> None:
    import assistant.search.resolve as embeddings

    def no_probe(*_args: object, **_kwargs: object) -> bool:
        raise AssertionError("the hub must not be probed when HF_HUB_OFFLINE is set")

    monkeypatch.setattr(embeddings, "hub_reachable", no_probe)
    messages: list[str] = []
    # the default is the bundled model: nothing to probe, nothing to say
    assert isinstance(resolve_embedder(DEFAULT_MODEL, announce=messages.append), BundledEmbeddings)
    assert messages == []
    emb = resolve_embedder(MISSING_MODEL, announce=messages.append)
    assert isinstance(emb, BundledEmbeddings)
    assert "HF_HUB_OFFLINE" in (emb.info.fallback_reason or "")
    assert len(messages) == 1 and "HF_HUB_OFFLINE" in messages[0]
    with pytest.raises(ModelUnavailableError, match="HF_HUB_OFFLINE"):
        resolve_embedder(MISSING_MODEL, allow_fallback=False)


def test_hub_probe_is_false_when_the_network_is_blocked(hub_online: None) -> None:
    t0 = time.monotonic()
    assert hub_reachable(MISSING_MODEL, timeout=3.0) is False
    assert time.monotonic() - t0 < 3.5


def test_hub_probe_gives_up_on_a_hanging_request(monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub

    def hang(self: object, *args: object, **kwargs: object) -> None:
        time.sleep(10)

    monkeypatch.setattr(huggingface_hub.HfApi, "model_info", hang)
    t0 = time.monotonic()
    assert hub_reachable(MISSING_MODEL, timeout=0.3) is False
    assert time.monotonic() - t0 < 2.0


def test_offline_path_does_not_import_torch(tmp_path: Path) -> None:
    """Importing the package, building and querying with the offline embedder must not
    pull in torch or sentence-transformers (seconds of start-up)."""
    code = (
        "import sys\n"
        "from assistant import Assistant\n"
        "assert 'torch' not in sys.modules and 'sentence_transformers' not in sys.modules\n"
        f"bot = Assistant.build([], {str(tmp_path / 'idx')!r}, model='offline')\n"
        "assert bot.retrieve('lop cam tinh dang')\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers') if m in sys.modules))\n"
    )
    env = {**os.environ, "ASSISTANT_HOME": str(tmp_path / "home")}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"
