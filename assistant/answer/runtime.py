"""The reader's forward pass: ONNX Runtime by default, PyTorch where ONNX Runtime is missing.

The span reader (`reader.py`: the LoRA adapter merged into the bundled e5-small) is exported
once to ONNX (`torch.onnx.export`, the TorchScript exporter, opset 18) from its input
embeddings, and run by ONNX Runtime's CPU provider. The word-embedding matrix (250,037 x 384,
four fifths of the weights) is not in the graph: the adapter leaves it as it is, so the
reader reads its rows through the same memory map of the converted `model.safetensors` as
the embedder (`assistant/search/onnx_runtime.py`): a question touches only its tokens' rows,
and the two share them in the page cache. An adapter that changed them gets them saved
beside the graph as a NumPy file (memory-mapped too). Its logits equal PyTorch's to 1e-5, so the answers are the
same; on 2 cores a read takes about 0.7 of PyTorch's time (`bench/reader_runtime.py`,
README "Performance"). The export lives beside the converted model (`model_dir()`), in a
directory keyed by the adapter manifest's sha256: new weights get a new export, and a copy
whose sha256 no longer matches is exported again. It is written to a temporary directory
and renamed into place under a file lock, like the converted model.

`ASSISTANT_READER_RUNTIME=torch` (or `Reader(runtime="torch")`) keeps PyTorch. Where ONNX
Runtime is not installed or the export fails, the reader says so in the log and runs on
PyTorch: slower, never without an answer.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from assistant.search import onnx_runtime

RUNTIMES = onnx_runtime.RUNTIMES
ENV = "ASSISTANT_READER_RUNTIME"
FORMAT = 3  # bump when the export changes (inputs, opset): old exports are redone
FILE = "reader.onnx"
EMBEDDINGS = "word_embeddings.npy"
OPSET = 18
Forward = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


def chosen_runtime(runtime: str | None = None) -> str:
    """`runtime`, else `$ASSISTANT_READER_RUNTIME`, else "onnx"; anything else is an error."""
    return onnx_runtime.chosen_runtime(runtime, ENV)


def export_dir(key: str) -> Path:
    """Where the export of the weights whose manifest has sha256 `key` lives."""
    from assistant.search.model import model_dir

    return model_dir().parent / f"reader-onnx-{key[:16]}-v{FORMAT}"


class TorchForward:
    """Start and end logits from the PyTorch model."""

    def __init__(self, model: Any):
        self.model = model

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        import torch

        with torch.inference_mode():
            out = self.model(input_ids=torch.from_numpy(input_ids), attention_mask=torch.from_numpy(attention_mask))
        return out.start_logits.float().numpy(), out.end_logits.float().numpy()


class OnnxForward:
    """Start and end logits from an ONNX Runtime session over the exported reader: the
    tokens' rows of the memory-mapped word embeddings in, the logits out. The word
    embeddings are the bundled encoder's (`base_dir`'s `model.safetensors`, the rows the
    embedder reads too) unless the export holds its own (an adapter that trained them, or
    an export made before they were shared)."""

    def __init__(self, directory: Path, threads: int | None = None, base_dir: Path | None = None):
        self.directory = directory
        own = directory / EMBEDDINGS
        if own.is_file() or base_dir is None:
            self.embeddings: np.ndarray = np.load(own, mmap_mode="r")
        else:
            self.embeddings = onnx_runtime.memmap_tensor(base_dir / onnx_runtime.WEIGHTS, onnx_runtime.WORDS)
        self.session = onnx_runtime.session(directory / FILE, threads)

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        embeds = np.ascontiguousarray(self.embeddings[input_ids], dtype=np.float32)
        starts, ends = self.session.run(["start_logits", "end_logits"],
                                        {"inputs_embeds": embeds, "attention_mask": attention_mask.astype(np.int64)})
        return starts, ends


def onnx_forward(key: str, load_model: Callable[[], Any], base_dir: Path, threads: int | None = None,
                 announce: Callable[[str], None] | None = None) -> OnnxForward:
    """The ONNX Runtime forward pass, exporting `load_model()` first when no intact export
    exists; `base_dir` is the converted encoder the adapter was merged into."""
    target = onnx_runtime.exported(export_dir(key), lambda tmp: _write_export(load_model(), tmp, base_dir),
                                   "the span reader",
                                   "set ASSISTANT_READER_RUNTIME=torch", announce, format=FORMAT,
                                   source="assistant/answer/reader_weights", manifest_sha256=key)
    return OnnxForward(target, threads, base_dir)


def _write_export(model: Any, directory: Path, base_dir: Path) -> None:
    """An ONNX graph from input embeddings; the word embeddings as NumPy only where they
    differ from the bundled encoder's (which the reader otherwise reads, as the embedder does)."""
    import torch

    class FromEmbeddings(torch.nn.Module):  # the graph's inputs: embeddings, not token ids
        def __init__(self) -> None:
            super().__init__()
            self.model = model

        def forward(self, inputs_embeds: Any, attention_mask: Any) -> tuple[Any, Any]:
            out = self.model(inputs_embeds=inputs_embeds, attention_mask=attention_mask)
            return out.start_logits, out.end_logits

    # Traced on a padded batch of two, so the padding path of the attention mask is the one kept.
    ids = torch.tensor([[0, 100, 200, 2, 2, 300, 400, 2], [0, 100, 2, 2, 300, 2, 1, 1]])
    mask = (ids != 1).long()
    words = model.get_input_embeddings().weight.detach()
    axes = {"inputs_embeds": {0: "batch", 1: "tokens"}, "attention_mask": {0: "batch", 1: "tokens"},
            "start_logits": {0: "batch", 1: "tokens"}, "end_logits": {0: "batch", 1: "tokens"}}
    base = onnx_runtime.memmap_tensor(base_dir / onnx_runtime.WEIGHTS, onnx_runtime.WORDS)
    if base.shape != tuple(words.shape) or not np.array_equal(base, words.float().numpy()):
        np.save(directory / EMBEDDINGS, words.float().numpy())
    with warnings.catch_warnings(), torch.inference_mode():
        warnings.simplefilter("ignore")  # the tracer's notes on shapes taken as constants
        torch.onnx.export(FromEmbeddings().eval(), (words[ids], mask), str(directory / FILE),
                          input_names=["inputs_embeds", "attention_mask"], output_names=["start_logits", "end_logits"],
                          dynamic_axes=axes, opset_version=OPSET, dynamo=False)
