"""assistant.search.store and Assistant.load(): checked manifests, rebuilds when stale or damaged,
clear errors when an index cannot be rebuilt, atomic writes, no pickle."""

from __future__ import annotations

import ast
import json
import shutil
from pathlib import Path

import pytest

from assistant import Assistant, ChunkingConfig
from assistant.errors import IndexCorruptError, IndexStaleError
from assistant.search.store import FILES, FORMAT_VERSION, load_index, sha256_file

from .conftest import ROOT

INDEX_FILES = {"manifest.json", *FILES}


class Announcements(list):
    def building(self) -> list[str]:
        return [m for m in self if m.startswith("Building")]


@pytest.fixture
def user_index(tmp_path: Path, small_article_path: Path) -> tuple[Path, Path]:
    """A user index of the small article built with the offline embedder."""
    directory = tmp_path / "user-index"
    Assistant.build([small_article_path], directory, model="offline", announce=lambda _m: None)
    return directory, small_article_path


def flip_byte(path: Path, at: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if at is None else at
    data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def no_leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if ".tmp-" in p.name or ".old-" in p.name]


# --- the bundled index under ASSISTANT_HOME -----------------------------------------------


def test_first_load_builds_then_second_load_reuses(assistant_home: Path) -> None:
    first = Announcements()
    bot = Assistant.load(announce=first.append)
    directory = assistant_home / "index" / "default"
    assert bot.index_dir == directory
    assert len(first.building()) == 1 and "no index yet" in first.building()[0]
    # the default is the bundled multilingual model: no network, no fallback notice
    assert not [m for m in first if "unavailable" in m], first
    assert bot.info()["embedder_config"]["kind"] == "sentence-transformers"
    assert "multilingual-e5-small" in bot.info()["embedder"]
    assert {p.name for p in directory.iterdir()} == INDEX_FILES
    stamp = (directory / "manifest.json").read_text(encoding="utf-8")

    second = Announcements()
    again = Assistant.load(announce=second.append)
    assert second.building() == []
    assert (directory / "manifest.json").read_text(encoding="utf-8") == stamp
    assert [c.text for c in again.stored.chunks] == [c.text for c in bot.stored.chunks]
    assert no_leftovers(directory.parent) == []


def test_copied_session_index_is_reused(home_index: Path) -> None:
    messages = Announcements()
    bot = Assistant.load(announce=messages.append)
    assert messages.building() == []
    assert bot.index_dir == home_index


@pytest.mark.parametrize("name", ["vectors.faiss", "chunks.jsonl", "articles.jsonl"])
def test_damaged_bundled_index_is_rebuilt_automatically(home_index: Path, name: str) -> None:
    flip_byte(home_index / name)
    messages = Announcements()
    bot = Assistant.load(announce=messages.append)
    assert len(messages.building()) == 1
    assert name in messages.building()[0]
    assert load_index(home_index).manifest["files"][name] == sha256_file(home_index / name)
    assert bot.retrieve("lop cam tinh dang")[0].text


def test_missing_file_in_bundled_index_is_rebuilt(home_index: Path) -> None:
    (home_index / "chunks.jsonl").unlink()
    messages = Announcements()
    Assistant.load(announce=messages.append)
    assert len(messages.building()) == 1
    assert "chunks.jsonl" in messages.building()[0] and "missing" in messages.building()[0]
    assert (home_index / "chunks.jsonl").is_file()


def test_other_format_version_of_bundled_index_is_rebuilt(home_index: Path) -> None:
    manifest_path = home_index / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["format_version"] = FORMAT_VERSION + 1
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    messages = Announcements()
    Assistant.load(announce=messages.append)
    assert len(messages.building()) == 1 and "format version" in messages.building()[0]
    assert json.loads(manifest_path.read_text(encoding="utf-8"))["format_version"] == FORMAT_VERSION


def test_rebuild_requested(home_index: Path) -> None:
    messages = Announcements()
    Assistant.load(rebuild=True, announce=messages.append)
    assert len(messages.building()) == 1 and "rebuild requested" in messages.building()[0]


# --- staleness ----------------------------------------------------------------------------


def test_changed_article_triggers_a_rebuild(user_index: tuple[Path, Path], tmp_path: Path) -> None:
    directory, source = user_index
    changed = tmp_path / "changed.txt"
    changed.write_text(source.read_text(encoding="utf-8").replace("450 triệu đồng", "500 triệu đồng"),
                       encoding="utf-8")
    messages = Announcements()
    bot = Assistant.load(index_dir=directory, articles=[changed], announce=messages.append)
    assert len(messages.building()) == 1 and "article text changed" in messages.building()[0]
    assert "500 triệu đồng" in bot.article.text and "450 triệu đồng" not in bot.article.text
    passage = bot.retrieve("tổng kinh phí xây dựng thư viện", k=1)[0]
    assert "500 triệu đồng" in passage.text
    assert bot.article.text[passage.start : passage.end] == passage.text


def test_unchanged_article_is_not_rebuilt(user_index: tuple[Path, Path]) -> None:
    directory, source = user_index
    messages = Announcements()
    Assistant.load(index_dir=directory, articles=[source], announce=messages.append)
    Assistant.load(index_dir=directory, announce=messages.append)  # source found through the manifest
    assert messages == []


def test_changed_chunking_triggers_a_rebuild(user_index: tuple[Path, Path]) -> None:
    directory, source = user_index
    messages = Announcements()
    bot = Assistant.load(index_dir=directory, articles=[source], chunking=ChunkingConfig(max_tokens=20),
                         announce=messages.append)
    assert len(messages.building()) == 1 and "chunking changed" in messages.building()[0]
    assert bot.stored.manifest["chunking"]["max_tokens"] == 20
    assert all(len(c.text.split()) <= 20 for c in bot.stored.chunks)


def test_changed_chunking_without_the_article_is_a_stale_error(user_index: tuple[Path, Path]) -> None:
    directory, source = user_index
    source.unlink()
    with pytest.raises(IndexStaleError, match="chunking changed"):
        Assistant.load(index_dir=directory, chunking=ChunkingConfig(max_tokens=20))


# --- damage to a user index whose article is gone ------------------------------------------


@pytest.mark.parametrize("name", ["vectors.faiss", "chunks.jsonl", "articles.jsonl"])
def test_damaged_user_index_names_the_file(user_index: tuple[Path, Path], name: str) -> None:
    directory, source = user_index
    source.unlink()
    Assistant.load(index_dir=directory)  # intact: loads without its article file
    flip_byte(directory / name)
    with pytest.raises(IndexCorruptError) as err:
        Assistant.load(index_dir=directory)
    assert str(directory / name) in str(err.value)
    assert "checksum" in str(err.value)


def test_edited_chunks_file_names_the_file(user_index: tuple[Path, Path]) -> None:
    directory, source = user_index
    source.unlink()
    path = directory / "chunks.jsonl"
    path.write_text(path.read_text(encoding="utf-8").replace("thư viện", "thu vien"), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match=r"chunks\.jsonl"):
        Assistant.load(index_dir=directory)


def test_edited_chunk_with_matching_checksum_is_still_refused(user_index: tuple[Path, Path]) -> None:
    """Checksums catch accidents; the verbatim check catches a chunk that no longer matches
    the article even when the manifest was updated to match."""
    directory, _ = user_index
    path = directory / "chunks.jsonl"
    path.write_text(path.read_text(encoding="utf-8").replace("thư viện xanh", "thư viện XANH"), encoding="utf-8")
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["files"]["chunks.jsonl"] = sha256_file(path)
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexCorruptError) as err:
        load_index(directory)
    assert err.value.path == str(path)
    assert "does not match the article text" in str(err.value)


def test_unreadable_vectors_with_matching_checksum_are_refused(user_index: tuple[Path, Path]) -> None:
    directory, _ = user_index
    vectors = directory / "vectors.faiss"
    vectors.write_bytes(b"not a faiss index")
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["files"]["vectors.faiss"] = sha256_file(vectors)
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexCorruptError) as err:
        load_index(directory)
    assert err.value.path == str(vectors) and "faiss" in str(err.value)


@pytest.mark.parametrize("name", ["manifest.json", "vectors.faiss", "chunks.jsonl", "articles.jsonl"])
def test_missing_file_is_named(user_index: tuple[Path, Path], name: str) -> None:
    directory, source = user_index
    source.unlink()
    (directory / name).unlink()
    with pytest.raises(IndexCorruptError) as err:
        Assistant.load(index_dir=directory)
    assert str(directory / name) in str(err.value) and "missing" in str(err.value)
    with pytest.raises(IndexCorruptError) as err:
        load_index(directory)
    assert err.value.path == str(directory / name)


def test_other_format_version_is_an_error_for_a_user_index(user_index: tuple[Path, Path]) -> None:
    directory, source = user_index
    source.unlink()
    manifest_path = directory / "manifest.json"
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    manifest["format_version"] = 99
    manifest_path.write_text(json.dumps(manifest), encoding="utf-8")
    with pytest.raises(IndexCorruptError, match="format version 99"):
        Assistant.load(index_dir=directory)


@pytest.mark.parametrize("content", ["{not json", json.dumps({"format": "something-else"}), "[]"])
def test_foreign_or_broken_manifest_is_refused(user_index: tuple[Path, Path], content: str) -> None:
    directory, _ = user_index
    (directory / "manifest.json").write_text(content, encoding="utf-8")
    with pytest.raises(IndexCorruptError) as err:
        load_index(directory)
    assert err.value.path == str(directory / "manifest.json")


def test_load_error_keeps_the_bad_file_path(user_index: tuple[Path, Path]) -> None:
    # regression: Assistant.load() once re-wrapped the error: err.path was the directory
    # and the message said "index file ..." and the rebuild hint twice
    directory, source = user_index
    source.unlink()
    flip_byte(directory / "vectors.faiss")
    with pytest.raises(IndexCorruptError) as err:
        Assistant.load(index_dir=directory)
    assert err.value.path == str(directory / "vectors.faiss")
    assert str(err.value).count("index file") == 1
    assert str(err.value).count("rebuild it with") == 1


def test_loading_a_directory_that_is_not_an_index(tmp_path: Path) -> None:
    with pytest.raises(IndexCorruptError, match="no index yet"):
        Assistant.load(index_dir=tmp_path / "nothing-here")


# --- writing ------------------------------------------------------------------------------


def test_index_directory_holds_exactly_the_documented_files(user_index: tuple[Path, Path]) -> None:
    directory, _ = user_index
    assert {p.name for p in directory.iterdir()} == INDEX_FILES
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["format_version"] == FORMAT_VERSION
    assert set(manifest["files"]) == set(FILES)
    for name, digest in manifest["files"].items():
        assert sha256_file(directory / name) == digest
    assert manifest["embedder"]["kind"] == "hashing"
    assert manifest["faiss"]["ntotal"] == sum(1 for _ in (directory / "chunks.jsonl").open(encoding="utf-8"))


def test_rebuilding_leaves_no_temporary_directories(user_index: tuple[Path, Path]) -> None:
    directory, source = user_index
    for max_tokens in (20, 40):
        Assistant.build([source], directory, model="offline", chunking=ChunkingConfig(max_tokens=max_tokens))
    assert no_leftovers(directory.parent) == []
    assert {p.name for p in directory.iterdir()} == INDEX_FILES
    assert load_index(directory).manifest["chunking"]["max_tokens"] == 40


def test_a_failed_build_keeps_the_previous_index(user_index: tuple[Path, Path],
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    import assistant.search.store as store

    directory, source = user_index
    before = {name: (directory / name).read_bytes() for name in INDEX_FILES}

    def explode(_article: object) -> dict:
        raise RuntimeError("disk full")

    monkeypatch.setattr(store, "article_record", explode)
    with pytest.raises(RuntimeError, match="disk full"):
        Assistant.build([source], directory, model="offline", chunking=ChunkingConfig(max_tokens=20))
    assert {name: (directory / name).read_bytes() for name in INDEX_FILES} == before
    assert no_leftovers(directory.parent) == []
    monkeypatch.undo()
    assert load_index(directory).manifest["chunking"]["max_tokens"] == 160


def test_multi_article_index_keeps_offsets_per_article(tmp_path: Path, small_article_path: Path,
                                                       bundled_article_path: Path) -> None:
    bot = Assistant.build([bundled_article_path, small_article_path], tmp_path / "two", model="offline")
    assert len(bot.articles) == 2
    ids = [c.chunk_id for c in bot.stored.chunks]
    assert len(set(ids)) == len(ids) and ids[0] == "a0-c000" and any(i.startswith("a1-") for i in ids)
    reloaded = Assistant.load(tmp_path / "two")
    passage = reloaded.retrieve("kinh phí xây dựng thư viện xanh", k=1)[0]
    assert passage.article == 1
    assert reloaded.articles[1].text[passage.start : passage.end] == passage.text
    other = reloaded.retrieve("lớp cảm tình Đảng", k=1)[0]
    assert other.article == 0 and reloaded.articles[0].text[other.start : other.end] == other.text


def test_no_pickle_anywhere_in_the_package() -> None:
    """Index files are JSON and FAISS only; loading an index must never unpickle."""
    offenders = []
    for path in sorted((ROOT / "assistant").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""] + [a.name for a in node.names]
            elif isinstance(node, ast.Name):
                names = [node.id]
            elif isinstance(node, ast.Attribute):
                names = [node.attr]
            elif (isinstance(node, ast.keyword) and node.arg == "allow_pickle"
                  and not (isinstance(node.value, ast.Constant) and node.value.value is False)):
                offenders.append(f"{path.name}:{node.value.lineno}: allow_pickle")
            for name in names:
                base = name.split(".")[0].lower()
                if base in {"pickle", "cpickle", "dill", "cloudpickle", "joblib", "shelve", "marshal"}:
                    offenders.append(f"{path.name}:{node.lineno}: {name}")
    assert offenders == []


def test_loading_a_copy_elsewhere_works(user_index: tuple[Path, Path], tmp_path: Path) -> None:
    directory, _ = user_index
    copy = tmp_path / "moved" / "idx"
    shutil.copytree(directory, copy)
    bot = Assistant.load(index_dir=copy)
    assert bot.retrieve("thư viện xanh", k=1)[0].text
