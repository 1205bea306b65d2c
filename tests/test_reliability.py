"""Damaged, foreign and old indexes: detected on load, named, and the bundled one rebuilt.

tests/test_store.py already covers bit flips of the three original files, edited chunks,
missing files, another format version and a changed article or chunking. Added here:
every file of today's format damaged; a truncated, emptied or swapped vector file (a valid
FAISS file of the right dimension); a manifest from another model, another dimension or
another index; an index written by format version 1 (tests/data/index-v1). Builds that
are killed or run at once, and pickle, are in tests/test_build_faults.py.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from assistant import Assistant
from assistant.errors import IndexCorruptError, IndexStaleError
from assistant.search.store import FILES, load_index, sha256_file

from .conftest import ROOT

V1 = ROOT / "tests" / "data" / "index-v1"
FIGURE_Q = "Trong nhiệm kỳ 2010 – 2015 kết nạp được bao nhiêu đảng viên mới?"
SMALL_Q = "Thư viện xanh có bao nhiêu đầu sách?"


class Messages(list):
    def building(self) -> list[str]:
        return [m for m in self if m.startswith("Building")]


@pytest.fixture
def user_index(tmp_path: Path, small_article_path: Path) -> Path:
    """A user index of the small article whose article file is gone (it cannot be rebuilt)."""
    directory = tmp_path / "user-index"
    Assistant.build([small_article_path], directory, model="offline", announce=lambda _m: None)
    small_article_path.unlink()
    return directory


def answers_small(bot: Assistant) -> None:
    answer = bot.ask(SMALL_Q)
    assert "2.000 đầu sách" in answer.text
    assert all(bot.article.text[c.start : c.end] == c.text for c in answer.citations)


def answers_bundled(bot: Assistant) -> None:
    answer = bot.ask(FIGURE_Q)
    assert "261" in answer.text and answer.citations
    assert all(bot.article.text[c.start : c.end] == c.text for c in answer.citations)


def rewrite_manifest(directory: Path, **changes: Any) -> None:
    path = directory / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    for dotted, value in changes.items():
        node = manifest
        *parents, last = dotted.split("__")
        for part in parents:
            node = node[part]
        node[last] = value
    path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def refresh_checksum(directory: Path, name: str) -> None:
    path = directory / "manifest.json"
    manifest = json.loads(path.read_text(encoding="utf-8"))
    manifest["files"][name] = sha256_file(directory / name)
    path.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")


def swap_in_valid_faiss(path: Path) -> None:
    """Replace a FAISS file by another valid one: same type, dimension and size, other vectors."""
    import faiss

    old = faiss.read_index(str(path))
    vectors = np.random.default_rng(0).standard_normal((old.ntotal, old.d)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    new = faiss.IndexFlatIP(old.d)
    new.add(vectors)
    faiss.write_index(new, str(path))


VECTOR_DAMAGE = {
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: p.stat().st_size // 2]),
    "emptied": lambda p: p.write_bytes(b""),
    "swapped for a valid faiss file": swap_in_valid_faiss,
}


# --- damaged files ------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", FILES)
def test_every_index_file_damaged_is_named(user_index: Path, name: str) -> None:
    path = user_index / name
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x55
    path.write_bytes(bytes(data))
    with pytest.raises(IndexCorruptError) as err:
        Assistant.load(user_index)
    assert err.value.path == str(path) and "checksum" in str(err.value)
    assert "assistant build" in str(err.value)


@pytest.mark.parametrize("damage", list(VECTOR_DAMAGE))
def test_damaged_vector_file_is_refused(user_index: Path, damage: str) -> None:
    VECTOR_DAMAGE[damage](user_index / "vectors.faiss")
    with pytest.raises(IndexCorruptError) as err:
        Assistant.load(user_index)
    assert err.value.path == str(user_index / "vectors.faiss")
    assert "checksum does not match the manifest" in str(err.value) and "assistant build" in str(err.value)


@pytest.mark.parametrize("damage", list(VECTOR_DAMAGE))
def test_damaged_vector_file_of_the_bundled_index_is_rebuilt(home_index: Path, damage: str) -> None:
    VECTOR_DAMAGE[damage](home_index / "vectors.faiss")
    messages = Messages()
    bot = Assistant.load(announce=messages.append)
    assert len(messages.building()) == 1 and "vectors.faiss" in messages.building()[0]
    load_index(home_index)
    answers_bundled(bot)


def test_swapped_faiss_file_is_only_accepted_with_its_checksum(user_index: Path) -> None:
    """The manifest's checksum is what vouches for a vector file: without it nothing from
    another place is loaded (with it, the manifest itself was rewritten: see the report)."""
    swap_in_valid_faiss(user_index / "vectors.faiss")
    with pytest.raises(IndexCorruptError, match="checksum"):
        load_index(user_index)
    refresh_checksum(user_index, "vectors.faiss")
    assert load_index(user_index).vectors.ntotal > 0


# --- foreign manifests -----------------------------------------------------------------------------------


def test_manifest_of_another_model_and_dimension(user_index: Path) -> None:
    rewrite_manifest(user_index, embedder__kind="sentence-transformers", embedder__dim=768,
                     embedder__model="intfloat/multilingual-e5-base",
                     embedder__requested="intfloat/multilingual-e5-base")
    messages = Messages()
    with pytest.raises(IndexCorruptError) as err:
        Assistant.load(user_index, announce=messages.append)
    assert err.value.path == str(user_index / "vectors.faiss")
    assert "dim 512" in str(err.value) and "assistant build" in str(err.value)


def test_manifest_of_another_model_with_the_same_dimension(user_index: Path) -> None:
    rewrite_manifest(user_index, embedder__model="hashing-v9-35")
    with pytest.raises(IndexStaleError) as err:
        Assistant.load(user_index, model="offline")
    assert "embedder changed" in str(err.value) and str(user_index) in str(err.value)
    assert "assistant build" in str(err.value)


def test_manifest_of_another_dimension(user_index: Path) -> None:
    rewrite_manifest(user_index, embedder__dim=256, faiss__dim=256)
    with pytest.raises(IndexCorruptError) as err:
        Assistant.load(user_index)
    assert err.value.path == str(user_index / "vectors.faiss") and "dimension" in str(err.value)


def test_manifest_copied_from_another_index(user_index: Path, tmp_path: Path) -> None:
    """A manifest from another index whose article file is gone too: the first file whose
    checksum differs is named. (When the other manifest's article file does exist, load
    rebuilds the index from that article, announcing it: the manifest is what says which
    article an index is of.)"""
    other_article = tmp_path / "other.txt"
    other_article.write_text("Tin khác\n\nLSO- Một bài báo khác về 12 hộ nghèo.\n\nBài: AN", encoding="utf-8")
    Assistant.build([other_article], tmp_path / "other", model="offline", announce=lambda _m: None)
    other_article.unlink()
    shutil.copyfile(tmp_path / "other" / "manifest.json", user_index / "manifest.json")
    with pytest.raises(IndexCorruptError) as err:
        Assistant.load(user_index)
    assert err.value.path == str(user_index / FILES[0]) and "checksum" in str(err.value)


@pytest.mark.parametrize("change", ["other model", "other dimension", "foreign manifest"])
def test_bundled_index_with_a_foreign_manifest_is_rebuilt(home_index: Path, bundled_index: Path,
                                                          small_article_path: Path, change: str) -> None:
    if change == "other model":
        rewrite_manifest(home_index, embedder__model="hashing-v9-35")
    elif change == "other dimension":
        rewrite_manifest(home_index, embedder__dim=256, faiss__dim=256)
    else:
        other = home_index.parent / "other"
        Assistant.build([small_article_path], other, model="offline", announce=lambda _m: None)
        shutil.copyfile(other / "manifest.json", home_index / "manifest.json")
    messages = Messages()
    bot = Assistant.load(model="offline", announce=messages.append)
    assert len(messages.building()) == 1
    answers_bundled(bot)
    assert load_index(home_index).manifest["embedder"]["model"] != "hashing-v9-35"


# --- an index directory written by an older version ----------------------------------------------------


def test_format_1_user_index_loads_or_says_what_to_do(tmp_path: Path) -> None:
    copy = tmp_path / "old"
    shutil.copytree(V1 / "small", copy)
    assert json.loads((copy / "manifest.json").read_text(encoding="utf-8"))["format_version"] == 1
    try:
        bot = Assistant.load(copy)
    except IndexCorruptError as err:  # a version that cannot read format 1 must say so
        assert err.path == str(copy / "manifest.json") and "format version 1" in str(err)
        assert "assistant build" in str(err)
        return
    answers_small(bot)


def test_format_1_bundled_index_is_used_or_rebuilt(assistant_home: Path) -> None:
    from assistant.paths import default_index_dir

    target = default_index_dir()
    target.parent.mkdir(parents=True)
    shutil.copytree(V1 / "bundled", target)
    messages = Messages()
    answers_bundled(Assistant.load(announce=messages.append))
    assert len(messages.building()) <= 1
    answers_bundled(Assistant.load(announce=messages.append))  # and stays usable
    assert len(messages.building()) <= 1


def test_damaged_format_1_index_is_named(tmp_path: Path) -> None:
    copy = tmp_path / "old"
    shutil.copytree(V1 / "small", copy)
    (copy / "chunks.jsonl").write_text("{}\n", encoding="utf-8")
    with pytest.raises(IndexCorruptError) as err:
        Assistant.load(copy)
    assert err.value.path == str(copy / "chunks.jsonl")
