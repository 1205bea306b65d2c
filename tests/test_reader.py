"""The span reader and its faults: damaged or missing weights (checked by sha256, a one-line
fix in the message, the rules answering instead with a notice), reading a Vietnamese
passage, over-long questions, other scripts, empty passages, `plain_question`, and the
reproducible training smoke run CI does (`python -m bench.train_reader`)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import pytest

from assistant.answer.reader import MAX_QUESTION_TOKENS, WEIGHTS_DIR, Reader, Span, check_weights, plain_question
from assistant.errors import ModelUnavailableError
from tests.conftest import SMALL_ARTICLE

ROOT = Path(__file__).resolve().parents[1]
ADAPTER = "adapter/adapter_model.safetensors"
FIX = "python -m bench.train_reader"
PASSAGE = "Thư viện được khánh thành với hơn 2.000 đầu sách dành cho học sinh."
QUESTION = "Thư viện có bao nhiêu đầu sách?"


@pytest.fixture(scope="module")
def reader() -> Reader:
    """One reader per module; it loads (seconds) on the first `read`."""
    return Reader()


@pytest.fixture(scope="module")
def small_bot(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """An assistant over the small library article, offline embedder, an index of its own
    (its `reader` is replaced freely by these tests)."""
    from assistant import Assistant

    base = tmp_path_factory.mktemp("reader-bot")
    path = base / "thu-vien.txt"
    path.write_text(SMALL_ARTICLE, encoding="utf-8")
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("ASSISTANT_LLM", raising=False)
        mp.delenv("ASSISTANT_MODEL", raising=False)
        return Assistant.build([path], index_dir=base / "index", model="offline", announce=lambda _m: None)


def weights_copy(tmp_path: Path) -> Path:
    target = tmp_path / "reader_weights"
    shutil.copytree(WEIGHTS_DIR, target)
    return target


def flip_byte(path: Path, at: int | None = None) -> None:
    data = bytearray(path.read_bytes())
    i = len(data) // 2 if at is None else at
    data[i] ^= 0x01
    path.write_bytes(bytes(data))


# --- damaged weights --------------------------------------------------------------------------


def test_shipped_weights_verify() -> None:
    manifest = check_weights()
    assert ADAPTER in manifest["files"] and "adapter/adapter_config.json" in manifest["files"]
    assert check_weights(WEIGHTS_DIR) == manifest


def test_intact_copy_verifies(tmp_path: Path) -> None:
    assert check_weights(weights_copy(tmp_path))["files"] == check_weights()["files"]


def test_one_flipped_byte_fails_the_check(tmp_path: Path) -> None:
    weights = weights_copy(tmp_path)
    flip_byte(weights / ADAPTER)
    with pytest.raises(ModelUnavailableError) as info:
        check_weights(weights)
    message = str(info.value)
    assert str(weights / ADAPTER) in message and "sha256" in message
    assert "reinstall" in message and FIX in message


@pytest.mark.parametrize("damage", ["missing", "not json", "no files"])
def test_missing_or_unreadable_manifest(tmp_path: Path, damage: str) -> None:
    weights = weights_copy(tmp_path)
    manifest = weights / "manifest.json"
    if damage == "missing":
        manifest.unlink()
    elif damage == "not json":
        manifest.write_text("{half a manif", encoding="utf-8")
    else:
        manifest.write_text(json.dumps({"base": "x"}), encoding="utf-8")
    with pytest.raises(ModelUnavailableError) as info:
        check_weights(weights)
    message = str(info.value)
    assert str(manifest) in message and "missing or unreadable" in message
    assert "reinstall" in message and FIX in message


def test_missing_weights_file_names_it(tmp_path: Path) -> None:
    weights = weights_copy(tmp_path)
    (weights / ADAPTER).unlink()
    with pytest.raises(ModelUnavailableError, match="adapter_model.safetensors"):
        check_weights(weights)


def test_missing_weights_file_says_how_to_fix_it(tmp_path: Path) -> None:
    weights = weights_copy(tmp_path)
    (weights / ADAPTER).unlink()
    with pytest.raises(ModelUnavailableError, match="bench.train_reader"):
        check_weights(weights)


def test_damaged_reader_refuses_to_read(tmp_path: Path) -> None:
    weights = weights_copy(tmp_path)
    flip_byte(weights / ADAPTER)
    damaged = Reader(weights)
    for _ in range(2):  # still refused the second time (nothing half-loaded is kept)
        with pytest.raises(ModelUnavailableError, match="sha256"):
            damaged.read(QUESTION, [PASSAGE])
    assert damaged.read(QUESTION, []) == []  # nothing to read: no need to load


def assert_reader_notice(notice: str | None, weights: Path) -> None:
    """The notice says the reader is unavailable (Vietnamese or English wording) and why."""
    assert notice, "no notice"
    assert any(phrase in notice.lower() for phrase in ("unavailable", "không dùng được")), notice
    assert str(weights / ADAPTER) in notice and "sha256" in notice  # the reason, with its file


@pytest.mark.parametrize("answerer", ["reader", "auto"])
def test_ask_falls_back_to_the_rules_with_a_notice(small_bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  answerer: str) -> None:
    weights = weights_copy(tmp_path)
    flip_byte(weights / ADAPTER)
    monkeypatch.setattr(small_bot, "reader", Reader(weights))
    monkeypatch.setattr(small_bot, "_readers", {})  # ReaderAnswerers keep the reader they were built with
    # "auto" asks the rules first: a question they abstain on reaches the reader
    question = QUESTION if answerer == "reader" else "Thư viện mở cửa vào những ngày nào trong tuần?"
    answer = small_bot.ask(question, answerer=answerer)
    assert_reader_notice(answer.notice, weights)
    assert answer.text  # an answer (or a plain "does not say"), not a traceback
    if answerer == "reader":
        assert answer.answered and "2.000" in answer.text  # the rules found it


@pytest.mark.slow
def test_replacing_the_reader_after_use_takes_effect(small_bot, reader: Reader, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(small_bot, "_readers", {})
    monkeypatch.setattr(small_bot, "reader", reader)
    first = small_bot.ask(QUESTION, answerer="reader")
    assert first.notice is None
    weights = weights_copy(tmp_path)
    flip_byte(weights / ADAPTER)
    small_bot.reader = Reader(weights)
    second = small_bot.ask(QUESTION, answerer="reader")
    assert_reader_notice(second.notice, weights)


# --- reading ---------------------------------------------------------------------------------


def assert_inside(span: Span, passages: list[str]) -> str:
    assert 0 <= span.passage < len(passages)
    text = passages[span.passage]
    assert 0 <= span.start < span.end <= len(text)
    return text[span.start : span.end]


@pytest.mark.slow
def test_reads_the_answer_from_a_vietnamese_passage(reader: Reader) -> None:
    (span,) = reader.read(QUESTION, [PASSAGE])
    found = assert_inside(span, [PASSAGE])
    assert "2.000" in found and found in PASSAGE  # measured: " 2.000 đầu sách dành cho học sinh"
    spans = reader.read(QUESTION, ["Trời hôm nay nắng đẹp.", PASSAGE], top=3)
    assert 1 <= len(spans) <= 3
    assert spans[0].passage == 1 and "2.000" in assert_inside(spans[0], ["Trời hôm nay nắng đẹp.", PASSAGE])
    assert [s.margin for s in spans] == sorted((s.margin for s in spans), reverse=True)
    # the margin is the score less its window's no-answer score: one window, one difference
    same_window = [s for s in spans if s.passage == 1]
    assert len({round(s.score - s.margin, 3) for s in same_window}) == 1
    assert len({(s.passage, s.start, s.end) for s in spans}) == len(spans)


def test_several_forms_of_a_question_are_read_in_one_pass(reader: Reader) -> None:
    """An English question and its glossary form are read together: the best span of either,
    its passage index into `passages` (not into the doubled batch), its margin as read alone."""
    passages = ["Trời hôm nay nắng đẹp.", PASSAGE]
    english = "How many books does the library have?"
    alone = {form: reader.read(form, passages, top=3) for form in (english, QUESTION)}
    both = reader.read([english, QUESTION], passages, top=3)
    assert both and all(0 <= s.passage < len(passages) for s in both)
    pooled = sorted((s for spans in alone.values() for s in spans), key=lambda s: s.margin, reverse=True)
    assert (both[0].passage, both[0].start, both[0].end) == (pooled[0].passage, pooled[0].start, pooled[0].end)
    assert both[0].margin == pytest.approx(pooled[0].margin, abs=1e-3)
    assert "2.000" in assert_inside(both[0], passages)
    assert len({(s.passage, s.start, s.end) for s in both}) == len(both)


@pytest.mark.slow
def test_a_question_longer_than_the_window_keeps_its_end(reader: Reader) -> None:
    filler = "Xin hãy đọc kỹ bài báo sau đây rồi trả lời thật ngắn gọn, "
    question = (filler * 60)[:3000] + " " + QUESTION
    assert len(question) > 3000
    from assistant.search.tokens import clip_question, token_ids

    tokenizer = reader._load()[1]
    assert len(token_ids(tokenizer, question, special=False)) > reader.max_length  # really too long
    clipped = clip_question(tokenizer, question, MAX_QUESTION_TOKENS)
    assert clipped.endswith(QUESTION) and len(token_ids(tokenizer, clipped, special=False)) <= MAX_QUESTION_TOKENS
    spans = reader.read(question, [PASSAGE])
    assert len(spans) == 1
    assert_inside(spans[0], [PASSAGE])


@pytest.mark.slow
@pytest.mark.parametrize("passage", [
    "北京是中华人民共和国的首都，人口超过两千万。",
    "القاهرة هي عاصمة جمهورية مصر العربية.",
    "🙂🎉🚀 👍🏽 ❤️",
    "\u200b\u200b",  # zero-width spaces: not whitespace to str.strip
])
def test_passages_in_other_scripts_read_without_error(reader: Reader, passage: str) -> None:
    for span in reader.read("Thủ đô là thành phố nào?", [passage], top=2):
        assert_inside(span, [passage])


@pytest.mark.slow
def test_a_long_passage_is_read_in_windows(reader: Reader) -> None:
    filler = " ".join(f"Câu thứ {i} kể về một ngày bình thường ở thành phố." for i in range(120))
    passage = filler + " " + PASSAGE
    from assistant.search.tokens import token_ids

    assert len(token_ids(reader._load()[1], passage)) > 2 * reader.max_length
    (span,) = reader.read(QUESTION, [passage])
    assert "2.000" in assert_inside(span, [passage])


@pytest.mark.parametrize("passages", [[], [""], ["   ", "\n\t"]])
def test_nothing_to_read_gives_no_span(passages: list[str]) -> None:
    # nothing is loaded for an empty read: a reader with no weights at all answers it too
    assert Reader(Path("/nonexistent/reader-weights")).read(QUESTION, passages) == []


def test_reader_rejects_a_tiny_window() -> None:
    with pytest.raises(ValueError, match="max_length"):
        Reader(max_length=32)


# --- plain_question ---------------------------------------------------------------------------


@pytest.mark.parametrize(("question", "expected"), [
    ("Thư viện có bao nhiêu đầu sách? 🙂", QUESTION),
    ("🙂🙂 Thư viện có bao nhiêu đầu sách?🎉", QUESTION),
    ("Thư viện\x00 có\x07 bao nhiêu\u200b đầu sách?\u202e", QUESTION),
    ("Ai là Hiệu trưởng, “cô Hòa” hay thầy Đức (năm 2023)?", "Ai là Hiệu trưởng, “cô Hòa” hay thầy Đức (năm 2023)?"),
    ("Cô Hoà là Hiệu trưởng từ năm nào?", "Cô Hòa là Hiệu trưởng từ năm nào?"),  # old tone placement
    ("  Giá   vé\tlà\nbao nhiêu – 50% hay 100.000 đồng?  ", "Giá vé là bao nhiêu – 50% hay 100.000 đồng?"),
    ("👍🏽👨‍👩‍👧 Ở đâu?", "Ở đâu?"),
])
def test_plain_question(question: str, expected: str) -> None:
    assert plain_question(question) == expected


def test_plain_question_keeps_decomposed_vietnamese() -> None:
    nfd = unicodedata.normalize("NFD", "Ở đâu có bao nhiêu đầu sách?")
    assert plain_question(nfd) == unicodedata.normalize("NFC", nfd)  # accents are letters' marks, not symbols


def test_plain_question_drops_emoji_variation_selectors() -> None:
    assert plain_question(QUESTION + " ❤️") == QUESTION
    assert plain_question("Có 1️⃣ phòng?") == "Có 1 phòng?"


# --- the training smoke run CI does -----------------------------------------------------------


@pytest.mark.slow
def test_training_smoke_run_writes_verifiable_weights(tmp_path: Path) -> None:
    """`python -m bench.train_reader --max-steps 2 --limit 16`: measured 43 s on 2 busy cores
    with the default --max-length 384 (a smaller --max-length does not help: the first step's
    set-up dominates, and the stride is capped at a third of it)."""
    out = tmp_path / "weights"
    env = {**os.environ, "TQDM_DISABLE": "1"}
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "bench.train_reader", "--qa-only", "--max-steps", "2", "--limit", "16",
                           "--out", str(out)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = check_weights(out)
    assert set(manifest["files"]) == {"adapter/README.md", "adapter/adapter_config.json", ADAPTER}
    assert manifest["questions"] == 16 and manifest["max_steps"] == 2 and manifest["seed"] == 13
    assert manifest == json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    assert not out.with_name(out.name + ".tmp").exists()  # written atomically
    assert time.perf_counter() - t0 < 300
    # a continued run starts from that adapter and records the whole recipe
    more = tmp_path / "continued"
    proc = subprocess.run([sys.executable, "-m", "bench.train_reader", "--max-steps", "1", "--limit", "8",
                           "--init", str(out), "--out", str(more), "--signal", "negatives,templates"], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    continued = check_weights(more)
    assert continued["continued_from"]["max_steps"] == 2
    assert continued["command"] == ("python -m bench.train_reader --qa-only --out /tmp/reader-1 && python -m "
                                    "bench.train_reader --init /tmp/reader-1 --epochs 6 --lr 0.0005 "
                                    "--signal negatives,templates")
    assert "testset" not in manifest["data"] and "train half" in continued["data"]  # stage 2 adds the article
    assert "rows added (negatives,templates)" in proc.stdout and "negatives,templates made" in continued["data"]
    flip_byte(out / ADAPTER)  # and the check really reads these files
    with pytest.raises(ModelUnavailableError):
        check_weights(out)


def test_top_layers_trained_whole_ship_inside_the_adapter(tmp_path: Path) -> None:
    """`--full-top N`: the top N encoder layers are trained whole and saved with the adapter
    (peft's `modules_to_save`), LoRA below; the reader loads and merges them as it does LoRA."""
    from safetensors import safe_open

    out = tmp_path / "top1"
    proc = subprocess.run([sys.executable, "-m", "bench.train_reader", "--qa-only", "--max-steps", "1", "--limit", "8",
                           "--full-top", "1", "--lr", "2e-4", "--out", str(out)], cwd=ROOT,
                          env={**os.environ, "TQDM_DISABLE": "1"}, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = check_weights(out)
    assert manifest["full_top_layers"] == 1 and manifest["command"].endswith("--full-top 1 --lr 0.0002")
    with safe_open(str(out / ADAPTER), "pt") as f:
        keys = list(f.keys())
        dtypes = {f.get_slice(k).get_dtype() for k in keys}
    assert dtypes == {"F16"}  # stored in half precision: 3.5 MB a whole layer, not 7
    assert any("layer.11." in k and "lora_" not in k and "attention.self.query.weight" in k for k in keys)
    assert not any("layer.11." in k and "lora_" in k for k in keys)  # LoRA only below the whole layers
    assert any("layer.10." in k and "lora_" in k for k in keys)
    spans = Reader(out, runtime="torch").read(QUESTION, [PASSAGE])
    assert spans and 0 <= spans[0].start < spans[0].end <= len(PASSAGE)
