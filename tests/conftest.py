"""Shared fixtures: no network, an isolated state directory, a prebuilt offline index of
the bundled article (built once per session) and a tiny sentence-transformers model built
from scratch (no download).

Every test runs with:
- sockets limited to loopback (127.0.0.0/8, ::1) and AF_UNIX: anything else raises
  `OSError("network blocked in tests")`;
- `ASSISTANT_HOME` pointing at a fresh temporary directory;
- `HF_HUB_OFFLINE=1` and an empty, private Hugging Face cache (so a model cached on the
  developer's machine never changes what a test sees);
- no `ASSISTANT_MODEL` / `ASSISTANT_LLM` from the caller's environment.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
ARTICLE_PATH = ROOT / "index" / "article.txt"
TESTSET_PATH = ROOT / "index" / "testset.jsonl"

NETWORK_BLOCKED = "network blocked in tests"

# A second, small Vietnamese article (not the bundled one) for build/retrieve tests. Lines
# of one paragraph are joined with spaces when the article is read.
SMALL_ARTICLE = """Thứ hai, 05/06/2023

Trường Tiểu học Hoàng Văn Thụ khánh thành thư viện xanh

LSO- Sáng 05/6, Trường Tiểu học Hoàng Văn Thụ, TP. Lạng Sơn tổ chức lễ khánh thành thư viện xanh
với hơn 2.000 đầu sách dành cho học sinh.

Thư viện được xây dựng trong 3 tháng với tổng kinh phí 450 triệu đồng, do phụ huynh và các nhà hảo tâm
đóng góp. Mỗi tuần, học sinh được đọc sách tại thư viện 2 tiết.

Cô Nguyễn Thị Hoà, Hiệu trưởng nhà trường cho biết: “Thư viện giúp các em hình thành thói quen đọc sách.
Nhà trường sẽ bổ sung thêm sách tiếng Anh.” Sau lễ khánh thành, các em học sinh đã tham gia ngày hội
đọc sách.

Bài, ảnh: MINH ANH
"""


# --- network ------------------------------------------------------------------------------


def _is_loopback_host(host: object) -> bool:
    if host is None:
        return True  # getaddrinfo(None, port): the local host
    if isinstance(host, bytes):
        host = host.decode("ascii", "replace")
    name = str(host).strip("[]").split("%")[0].lower()
    if name in {"", "localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback"}:
        return True
    try:
        ip = ipaddress.ip_address(name)
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or bool(mapped and mapped.is_loopback)


def _check_address(family: int, address: object) -> None:
    if getattr(socket, "AF_UNIX", None) is not None and family == socket.AF_UNIX:
        return
    if isinstance(address, (str, bytes)):  # an AF_UNIX path on a socket of unknown family
        return
    host = address[0] if isinstance(address, tuple) and address else address
    if not _is_loopback_host(host):
        raise OSError(NETWORK_BLOCKED)


@pytest.fixture(autouse=True)
def _block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_create_connection = socket.create_connection
    real_getaddrinfo = socket.getaddrinfo

    def connect(self: socket.socket, address: object) -> None:
        _check_address(self.family, address)
        return real_connect(self, address)

    def connect_ex(self: socket.socket, address: object) -> int:
        _check_address(self.family, address)
        return real_connect_ex(self, address)

    def create_connection(address: tuple, *args: object, **kwargs: object) -> socket.socket:
        if not _is_loopback_host(address[0]):
            raise OSError(NETWORK_BLOCKED)
        return real_create_connection(address, *args, **kwargs)

    def getaddrinfo(host: object, *args: object, **kwargs: object) -> list:
        if not _is_loopback_host(host):
            raise OSError(NETWORK_BLOCKED)
        return real_getaddrinfo(host, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "create_connection", create_connection)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


# --- environment --------------------------------------------------------------------------


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One converted copy of the bundled model for the whole session (converting takes
    seconds and 465 MB; tests that damage it use their own `ASSISTANT_MODEL_CACHE`)."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture(autouse=True)
def assistant_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, model_cache: Path) -> Path:
    """A fresh `ASSISTANT_HOME`, offline Hugging Face hub with an empty private cache, the
    session's converted bundled model."""
    home = tmp_path / "assistant-home"
    home.mkdir()
    hf_cache = tmp_path / "hf-cache"
    hf_cache.mkdir()
    monkeypatch.setenv("ASSISTANT_HOME", str(home))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(hf_cache))
    monkeypatch.setenv("ASSISTANT_MODEL_CACHE", str(model_cache))
    monkeypatch.delenv("ASSISTANT_MODEL", raising=False)
    monkeypatch.delenv("ASSISTANT_LLM", raising=False)
    # huggingface_hub reads its environment once, at import: patch the values it uses.
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(hf_cache))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    return home


@pytest.fixture
def hub_online(monkeypatch: pytest.MonkeyPatch) -> None:
    """Undo HF_HUB_OFFLINE for one test (the socket guard still blocks the network)."""
    from huggingface_hub import constants

    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", False)


# --- articles and indexes -----------------------------------------------------------------


@pytest.fixture(scope="session")
def bundled_article_path() -> Path:
    from assistant.paths import bundled_article

    path = bundled_article()
    assert path.is_file()
    return path


@pytest.fixture(scope="session")
def article(bundled_article_path: Path):  # type: ignore[no-untyped-def]
    from assistant.ingest.article import Article

    return Article.read(bundled_article_path)


@pytest.fixture(scope="session")
def bundled_index(tmp_path_factory: pytest.TempPathFactory, bundled_article_path: Path) -> Path:
    """The bundled article indexed once with the offline embedder. Do not modify it:
    copy it (`home_index`) for tests that damage or rebuild an index."""
    from assistant import Assistant

    directory = tmp_path_factory.mktemp("bundled") / "index"
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("ASSISTANT_LLM", raising=False)
        mp.delenv("ASSISTANT_MODEL", raising=False)
        Assistant.build([bundled_article_path], index_dir=directory, model="offline", announce=lambda _m: None)
    return directory


@pytest.fixture(scope="session")
def bot(bundled_index: Path):  # type: ignore[no-untyped-def]
    """A read-only assistant over the session's bundled index (offline embedder)."""
    from assistant import Assistant

    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("ASSISTANT_LLM", raising=False)
        mp.delenv("ASSISTANT_MODEL", raising=False)
        messages: list[str] = []
        assistant = Assistant.load(bundled_index, model="offline", announce=messages.append)
    assert not any("Building" in m for m in messages), messages
    return assistant


@pytest.fixture
def home_index(assistant_home: Path, bundled_index: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the bundled index at the default location under `ASSISTANT_HOME`, so
    `Assistant.load()` and the CLI find it without building. `ASSISTANT_MODEL=offline`
    keeps it fitting (it was built with the hashing embedder): these tests are about index
    files and commands, not the model, and a rebuild with the real model costs seconds."""
    from assistant.paths import default_index_dir

    monkeypatch.setenv("ASSISTANT_MODEL", "offline")

    target = default_index_dir()
    assert target.is_relative_to(assistant_home)
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copytree(bundled_index, target)
    return target


@pytest.fixture
def small_article_path(tmp_path: Path) -> Path:
    path = tmp_path / "thu-vien.txt"
    path.write_text(SMALL_ARTICLE, encoding="utf-8")
    return path


# --- a tiny sentence-transformers model ---------------------------------------------------


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory, bundled_article_path: Path) -> Iterator[Path]:
    """A 1-layer BERT (hidden 32) with a WordPiece vocabulary trained on the article, saved
    as a sentence-transformers model in a directory named `e5-tiny`, so the e5 query /
    passage prefixes of `MODEL_PREFIXES` apply. Built offline in well under a second
    (plus the torch import)."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from assistant.ingest.article import Article

    base = tmp_path_factory.mktemp("models")
    lines = [line for line in Article.read(bundled_article_path).text.split("\n") if line]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=500, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"], show_progress=False
    )
    tokenizer.train_from_iterator(lines, trainer)
    fast = BertTokenizerFast(
        tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
        sep_token="[SEP]", mask_token="[MASK]", model_max_length=128,
    )
    config = BertConfig(
        vocab_size=tokenizer.get_vocab_size(), hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
        intermediate_size=64, max_position_embeddings=128,
    )
    torch.manual_seed(0)
    hf_dir = base / "hf-bert-tiny"
    BertModel(config).save_pretrained(hf_dir)
    fast.save_pretrained(hf_dir)
    transformer = Transformer(str(hf_dir), max_seq_length=128)
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    st_dir = base / "e5-tiny"
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(st_dir))
    yield st_dir

class Held:
    """The assistant, but every answer waits until `gate` opens (a slow handler)."""

    def __init__(self, bot: Any, gate: threading.Event):
        self.bot, self.gate = bot, gate
        self.article, self.llm, self.info = bot.article, None, bot.info
        self.entered = threading.Event()  # set once a call is being handled (and held)

    def ask(self, *args: Any, **kwargs: Any) -> Any:
        self.entered.set()
        self.gate.wait(30)
        return self.bot.ask(*args, **kwargs)

    def stream(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        self.entered.set()
        self.gate.wait(30)
        yield from self.bot.stream(*args, **kwargs)


# --- Chromium for the browser tests -------------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    """Debian's Chromium through playwright (it cannot download browsers here); skipped when
    missing, except in CI, where the browser tests must run."""
    import os

    if not CHROMIUM.is_file():
        message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"browser tests must run in CI: {message}")
        pytest.skip(message)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def damaged_copy(source: Path, name: str, tmp_path: Path) -> Path:
    """A copy of the checked directory `source` under `tmp_path` with one byte of its file
    `name` flipped, the process's checks forgotten: `intact()` now fails on it."""
    import shutil

    from assistant.search.model import forget_checks, intact

    copy = tmp_path / source.name
    shutil.copytree(source, copy)
    data = bytearray((copy / name).read_bytes())
    data[len(data) // 2] ^= 0x01
    (copy / name).write_bytes(bytes(data))
    forget_checks()
    assert not intact(copy)
    return copy
