"""The `assistant` command line: retrieve, build, info, and one-line errors."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from assistant.cli import main
from assistant.ingest.article import Article


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, err: str, *fragments: str) -> None:
    assert code != 0
    assert "Traceback" not in err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    for fragment in fragments:
        assert fragment in errors[0]


def test_retrieve_json_on_the_bundled_article(capsys: pytest.CaptureFixture[str], home_index: Path,
                                              bundled_article_path: Path) -> None:
    code, out, err = run(capsys, "retrieve", "lop cam tinh dang", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["question"] == "lop cam tinh dang" and data["mode"] == "hybrid"
    passages = data["passages"]
    assert len(passages) == 4 and [p["rank"] for p in passages] == [1, 2, 3, 4]
    assert "lớp cảm tình Đảng" in passages[0]["text"]
    text = Article.read(bundled_article_path).text
    for p in passages:
        assert text[p["start"] : p["end"]] == p["text"]
        assert {"chunk_id", "score", "paragraph", "section", "dense_score", "lexical_score"} <= set(p)
    assert "Building" not in err  # the copied index was reused


def test_retrieve_options(capsys: pytest.CaptureFixture[str], home_index: Path) -> None:
    code, out, _ = run(capsys, "retrieve", "dang vien moi", "-k", "2", "--mode", "lexical", "--json", "-q")
    assert code == 0
    passages = json.loads(out)["passages"]
    assert len(passages) == 2 and all("đảng viên mới" in p["text"].lower() for p in passages)


def test_retrieve_plain_text_output(capsys: pytest.CaptureFixture[str], home_index: Path) -> None:
    code, out, _ = run(capsys, "retrieve", "lop cam tinh dang", "-k", "2")
    assert code == 0
    assert out.startswith("[1] c")
    assert "[2] " in out and "lớp cảm tình Đảng" in out


def test_quiet_prints_nothing_on_stderr(capsys: pytest.CaptureFixture[str], home_index: Path) -> None:
    code, _, err = run(capsys, "retrieve", "Đảng viên mới", "-q")
    assert code == 0 and err == ""


def test_first_retrieve_builds_the_bundled_index(capsys: pytest.CaptureFixture[str], assistant_home: Path) -> None:
    code, out, err = run(capsys, "retrieve", "lop cam tinh dang", "--json")
    assert code == 0
    assert "Building the index" in err and "multilingual-e5-small (bundled 4-bit weights)" in err
    assert (assistant_home / "index" / "default" / "manifest.json").is_file()
    assert "lớp cảm tình Đảng" in json.loads(out)["passages"][0]["text"]


def test_build_then_retrieve_another_article(capsys: pytest.CaptureFixture[str], small_article_path: Path,
                                             tmp_path: Path) -> None:
    index_dir = tmp_path / "D"
    code, out, err = run(capsys, "build", str(small_article_path), "--index-dir", str(index_dir), "--model",
                         "offline")
    assert code == 0, err
    assert "Indexed 1 article(s)" in out and str(index_dir) in out
    assert "Embedder: offline hashing embedder" in out
    code, out, err = run(capsys, "retrieve", "--index-dir", str(index_dir), "tong kinh phi xay dung thu vien",
                         "--json")
    assert code == 0, err
    passages = json.loads(out)["passages"]
    assert "450 triệu đồng" in passages[0]["text"]
    text = Article.read(small_article_path).text
    assert all(text[p["start"] : p["end"]] == p["text"] for p in passages)
    assert err == ""  # the index remembers its embedder ("offline"): no notice, no rebuild


def test_build_with_chunking_options(capsys: pytest.CaptureFixture[str], small_article_path: Path,
                                     tmp_path: Path) -> None:
    index_dir = tmp_path / "D"
    code, _, err = run(capsys, "build", str(small_article_path), "--index-dir", str(index_dir), "--model", "offline",
                       "--max-tokens", "20", "--overlap", "1", "-q")
    assert code == 0, err
    manifest = json.loads((index_dir / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["chunking"] == {"max_tokens": 20, "overlap": 1, "section_labels": True}


def test_info(capsys: pytest.CaptureFixture[str], home_index: Path) -> None:
    code, out, _ = run(capsys, "info")
    assert code == 0
    lines = out.splitlines()
    embedder = [line for line in lines if line.startswith("Embedder:")]
    assert len(embedder) == 1 and "offline hashing embedder" in embedder[0]
    assert any(line.startswith("Article:") and "Đảng bộ Công an tỉnh chú trọng phát triển Đảng" in line
               and "02/12/2022" in line and "NÔNG ĐÌNH QUANG" in line for line in lines)
    assert any(line.startswith("Index:") and str(home_index) in line for line in lines)


def test_info_json(capsys: pytest.CaptureFixture[str], home_index: Path) -> None:
    code, out, _ = run(capsys, "info", "--json", "-q")
    assert code == 0
    info = json.loads(out)
    assert info["embedder_config"]["kind"] == "hashing"
    assert info["chunks"] > 0 and info["faiss"]["index_type"] == "IndexFlatIP"


# --- errors -------------------------------------------------------------------------------


def test_build_missing_file_is_one_error_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    missing = tmp_path / "khong-co.txt"
    code, out, err = run(capsys, "build", str(missing), "--index-dir", str(tmp_path / "D"), "--model", "offline")
    assert_one_line_error(code, err, "not found", str(missing))
    assert out == ""
    assert not (tmp_path / "D").exists()


@pytest.mark.parametrize("question", ["", "   "])
def test_empty_question_is_one_error_line(capsys: pytest.CaptureFixture[str], question: str) -> None:
    code, out, err = run(capsys, "retrieve", question)
    assert_one_line_error(code, err, "empty")
    assert err.startswith("error:")  # checked before anything is loaded or built
    assert out == ""


def test_bad_article_is_one_error_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "bai.pdf"
    path.write_bytes(b"%PDF-1.4")
    code, _, err = run(capsys, "build", str(path), "--index-dir", str(tmp_path / "D"), "-q")
    assert_one_line_error(code, err, "unsupported file type")


def test_bad_chunking_option_is_one_error_line(capsys: pytest.CaptureFixture[str], small_article_path: Path,
                                               tmp_path: Path) -> None:
    code, _, err = run(capsys, "build", str(small_article_path), "--index-dir", str(tmp_path / "D"), "--max-tokens",
                       "3", "--model", "offline")
    assert_one_line_error(code, err, "max_tokens", "3")


def test_missing_index_dir_is_one_error_line(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, _, err = run(capsys, "retrieve", "Đảng viên", "--index-dir", str(tmp_path / "none"), "-q")
    assert_one_line_error(code, err, "no index yet")


def test_damaged_user_index_is_one_error_line(capsys: pytest.CaptureFixture[str], small_article_path: Path,
                                              tmp_path: Path) -> None:
    index_dir = tmp_path / "D"
    assert run(capsys, "build", str(small_article_path), "--index-dir", str(index_dir), "--model", "offline")[0] == 0
    small_article_path.unlink()
    (index_dir / "vectors.faiss").write_bytes(b"garbage")
    code, _, err = run(capsys, "retrieve", "thư viện", "--index-dir", str(index_dir))
    assert_one_line_error(code, err, "vectors.faiss")


def test_unknown_command_exits_with_usage(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["frobnicate"])
    assert exc.value.code == 2
    assert "usage:" in capsys.readouterr().err


# --- the installed console script ----------------------------------------------------------


def _console_command() -> list[str]:
    script = Path(sys.executable).parent / ("assistant.exe" if os.name == "nt" else "assistant")
    return [str(script)] if script.is_file() else [sys.executable, "-m", "assistant.cli"]


def test_console_script_retrieve(tmp_path: Path, bundled_index: Path, bundled_article_path: Path) -> None:
    home = tmp_path / "home"
    shutil.copytree(bundled_index, home / "index" / "default")
    env = {
        **{k: v for k, v in os.environ.items() if k not in {"ASSISTANT_MODEL", "ASSISTANT_LLM"}},
        "ASSISTANT_HOME": str(home),
        "ASSISTANT_MODEL": "offline",  # the copied index was built with it
        "HF_HUB_OFFLINE": "1",
        "HF_HUB_CACHE": str(tmp_path / "hf-cache"),
    }
    proc = subprocess.run([*_console_command(), "retrieve", "lop cam tinh dang", "--json"], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    passage = json.loads(proc.stdout)["passages"][0]
    assert "lớp cảm tình Đảng" in passage["text"]
    assert Article.read(bundled_article_path).text[passage["start"] : passage["end"]] == passage["text"]
    assert "Building" not in proc.stderr

    proc = subprocess.run([*_console_command(), "retrieve", "   "], env=env, cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: the question is empty"


@pytest.mark.parametrize("command", ["build", "retrieve", "ask", "eval", "info"])
def test_help_names_the_model_a_user_gets(capsys: pytest.CaptureFixture[str], command: str) -> None:
    """The default is the bundled multilingual-e5-small (offline), not a hub model."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "'bundled' (the default) is multilingual-e5-small" in text
    assert "default: intfloat" not in text


def test_download_model_without_a_model_prepares_the_bundled_one(capsys: pytest.CaptureFixture[str],
                                                                 monkeypatch: pytest.MonkeyPatch,
                                                                 tmp_path: Path) -> None:
    import assistant.search.model as model

    monkeypatch.setattr(model, "ensure_model_dir", lambda: tmp_path)
    code, out, err = run(capsys, "download-model")
    assert code == 0, err
    assert "needs no download" in out and str(tmp_path) in out


def test_eval_squad_bundled_without_the_sets_says_so(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """An installed package has no index/qa/: 'bundled' must not evaluate nothing silently."""
    monkeypatch.setattr("assistant.evaluate.squad.bundled_qa_dir", lambda: tmp_path)
    code, _, err = run(capsys, "eval", "--squad", "bundled", "--out", str(tmp_path / "out"))
    assert code == 2
    assert_one_line_error(code, err, "no SQuAD sets found", "index/qa/")
