"""The bundled encoder on ONNX Runtime: query and passage vectors without torch or transformers.

A cold `assistant ask` spent most of its time importing transformers and torch (about 5 s
of 9 on this 2-core host, 2026-12-07) to embed one question. The embedder's encoder is
therefore exported once to ONNX (`torch.onnx.export`, the TorchScript exporter, opset 18),
mean pooling and unit length included, from its input embeddings: the graph takes the
tokens' embedding rows and the attention mask and gives the sentence vectors. The word
embeddings (250,037 x 384, four fifths of the weights) are not copied: their rows are read
through a memory map of the converted directory's `model.safetensors` (a documented layout:
an 8-byte header size, a JSON header, the raw tensors). The export lives beside the
converted model, keyed by that file's sha256, is written to a temporary directory and
renamed into place under a file lock, and is checked by sha256 like the converted model.
Its vectors equal PyTorch's to 1e-5 (`tests/test_model.py`).

`ASSISTANT_EMBEDDER_RUNTIME=torch` keeps PyTorch; where ONNX Runtime is missing or the
export fails the embedder says so in the log and runs on PyTorch. The span reader's own
export (`assistant/answer/runtime.py`) shares `chosen_runtime`, `session` and `exported`.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

RUNTIMES = ("onnx", "torch")
ENV = "ASSISTANT_EMBEDDER_RUNTIME"
FORMAT = 1  # bump when the export changes (inputs, opset): old exports are redone
FILE = "encoder.onnx"
WORDS = "embeddings.word_embeddings.weight"
WEIGHTS = "model.safetensors"
OPSET = 18


def chosen_runtime(runtime: str | None = None, env: str = ENV) -> str:
    """`runtime`, else `$env`, else "onnx"; anything else is an error naming the ones that work."""
    value = (runtime or os.environ.get(env) or "onnx").strip().lower()
    if value not in RUNTIMES:
        raise ValueError(f"the runtime must be one of {', '.join(RUNTIMES)}, got {value!r}"
                         f"{'' if runtime else f' (from {env})'}")
    return value


def default_threads() -> int | None:
    """As many threads as torch uses where it is loaded (`assistant serve` sets those per
    replica), else ONNX Runtime's own default (the physical cores)."""
    torch = sys.modules.get("torch")
    return int(torch.get_num_threads()) if torch is not None else None


def session(path: Path, threads: int | None = None) -> Any:
    """An ONNX Runtime CPU session over `path`, errors-only logging, threads that sleep between calls."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: its graph-fusion notices are not the user's
    if threads:
        options.intra_op_num_threads = threads
    # Its threads sleep between calls instead of spinning: spinning, they hold the cores the
    # other model's next call needs (measured: a query took twice as long).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def exported(target: Path, write: Callable[[Path], None], what: str, fix: str,
             announce: Callable[[str], None] | None = None, **about: Any) -> Path:
    """`target`, after writing it with `write(tmp)` (under a file lock, atomically) when no
    intact copy exists; `announce` is told first, since an export takes seconds."""
    import onnxruntime  # noqa: F401  (missing: the caller falls back before any export)
    from filelock import FileLock

    from assistant.search.model import build_dir, intact

    if not intact(target):
        target.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(str(target.parent / f".{target.name}.lock")):
            if not intact(target):  # another process exported it meanwhile
                if announce:
                    announce(f"Exporting {what} to ONNX into {target} (once).")
                build_dir(target, write, fix, **about)
    return target


def memmap_tensor(path: Path, name: str) -> np.ndarray:
    """Tensor `name` of the safetensors file `path` as a read-only float32 memory map."""
    with open(path, "rb") as f:
        size = struct.unpack("<Q", f.read(8))[0]
        entry = json.loads(f.read(size))[name]
    if entry["dtype"] != "F32":
        raise ValueError(f"{path}: {name} is {entry['dtype']}, not F32")
    begin, _end = entry["data_offsets"]
    return np.memmap(path, dtype="<f4", mode="r", offset=8 + size + begin, shape=tuple(entry["shape"]))


class OnnxEncoder:
    """Unit-length mean-pooled vectors from the exported encoder: ids and mask in."""

    def __init__(self, directory: Path, model_path: Path, threads: int | None = None):
        self.directory = directory
        self.words = memmap_tensor(model_path / WEIGHTS, WORDS)
        self.session = session(directory / FILE, threads)

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        embeds = np.ascontiguousarray(self.words[input_ids], dtype=np.float32)
        (vectors,) = self.session.run(["embeddings"], {"inputs_embeds": embeds, "attention_mask": attention_mask})
        return np.asarray(vectors, dtype=np.float32)


def export_dir(model_path: Path) -> Path:
    """Where the export of the converted model at `model_path` lives (keyed by its weights' sha256)."""
    from assistant.search.model import CHECKSUMS

    digest = json.loads((model_path / CHECKSUMS).read_text(encoding="utf-8"))["files"][WEIGHTS]
    return model_path.parent / f"encoder-onnx-{digest[:16]}-v{FORMAT}"


def onnx_encoder(model_path: Path, load_model: Callable[[], Any], threads: int | None = None,
                 announce: Callable[[str], None] | None = None) -> OnnxEncoder:
    """The encoder on ONNX Runtime, exporting `load_model()` (the PyTorch encoder) first when needed."""
    target = exported(export_dir(model_path), lambda tmp: _write_export(load_model(), tmp), "the embedding model",
                      "set ASSISTANT_EMBEDDER_RUNTIME=torch", announce, format=FORMAT, source=model_path.name)
    return OnnxEncoder(target, model_path, threads)


def pooled(hidden: Any, attention_mask: Any) -> Any:
    """sentence-transformers' mean pooling and unit length (torch tensors): what the export's
    graph computes and what the embedder computes on PyTorch."""
    import torch

    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(mean, p=2, dim=1)


def _write_export(encoder: Any, directory: Path) -> None:
    import torch

    class Pooled(torch.nn.Module):  # the graph's inputs: embeddings, not token ids; its output: the vectors
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, inputs_embeds: Any, attention_mask: Any) -> Any:
            hidden = self.encoder(inputs_embeds=inputs_embeds, attention_mask=attention_mask).last_hidden_state
            return pooled(hidden, attention_mask)

    # Traced on a padded batch of two, so the padding path of the attention mask is the one kept.
    ids = torch.tensor([[0, 100, 200, 2, 300, 2], [0, 100, 2, 1, 1, 1]])
    mask = (ids != 1).long()
    words = encoder.get_input_embeddings().weight.detach()
    axes = {"inputs_embeds": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "embeddings": {0: "batch"}}
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes taken as constants
        torch.onnx.export(Pooled().eval(), (words[ids], mask), str(directory / FILE),
                          input_names=["inputs_embeds", "attention_mask"], output_names=["embeddings"],
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
