"""The reader's runtimes at equal quality: PyTorch fp32, ONNX Runtime fp32 (shipped), ONNX Runtime int8.

    .venv/bin/python -m bench.reader_runtime                  # dev + held-out of the QA sets (about 25 min)
    .venv/bin/python -m bench.reader_runtime --limit 40       # a quick look
    .venv/bin/python -m bench.reader_runtime --only-latency   # the latency again, on an idle machine

Every context of the `dev` and `heldout` splits of the sets in `index/qa/` gets its own
index (as `assistant eval --squad`); each of its questions is asked once per variant, the
variants taking turns question by question so that a busy machine slows them alike:

- `torch`: the merged reader on PyTorch (fp32), the previous default;
- `onnx`: the same weights exported to ONNX Runtime (`assistant/answer/runtime.py`), shipped;
- `onnx-int8`: that export with ONNX Runtime's dynamic int8 quantisation of its MatMuls
  (`quantize_dynamic`, per-channel weights), read at the shipped threshold;
- `k=2`: the shipped runtime reading the best 2 retrieved passages instead of 4;
- `peer` (needs `pip install -e .[bench]`): what a user would assemble, LangChain's retriever
  (`bench/peer.py`: recursive splitter, FAISS + BM25 ensemble, k=4) and the same merged
  weights on plain transformers (PyTorch), the best span over the retrieved chunks, answered
  at the shipped threshold. transformers 5 removed `pipeline("question-answering")` (its
  error: "The task question-answering has been removed from transformers"), so the peer's
  reading is the model's forward pass with the same span decoding as ours.

Per variant and split: the metrics of `assistant eval --squad` (F1, EM, contains, false
refusals, abstention, with 95 % intervals) and the share of questions whose answer
(answered or not, and its short answer) equals `torch`'s. Then each variant's warm ask and
read latency (p50 / p95, ms) over 200 news QA held-out contexts, each variant alone in a
fresh process: taking turns in one process, the two runtimes' thread pools slow each other.
A variant counts only where the held-out metrics stay inside `torch`'s intervals.
Results: artifacts/bench/reader_runtime.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from .common import ROOT, bench_env, machine, stats

SPLITS = ("dev", "heldout")
VARIANTS = ("torch", "onnx", "onnx-int8", "k=2")
LATENCY_CONTEXTS = 200  # news QA held-out contexts timed per variant, each in its own process


class Timed:
    """A reader whose `read` calls are timed (ms) into `times`."""

    def __init__(self, reader: Any):
        self.reader, self.times = reader, []

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reader, name)

    def read(self, *args: Any, **kwargs: Any) -> Any:
        start = time.perf_counter()
        try:
            return self.reader.read(*args, **kwargs)
        finally:
            self.times.append((time.perf_counter() - start) * 1000)


def int8_reader(work: Path) -> Any:
    """The shipped reader with its ONNX export quantised to int8 (dynamic, per channel)."""
    from onnxruntime.quantization import QuantType, quantize_dynamic

    from assistant.answer.reader import Reader
    from assistant.answer.runtime import EMBEDDINGS, FILE, OnnxForward
    from assistant.search.model import model_dir

    reader = Reader(runtime="onnx")
    forward, tokenizer = reader._load()
    source = forward.directory
    work.mkdir(parents=True, exist_ok=True)
    quantize_dynamic(source / FILE, work / FILE, weight_type=QuantType.QInt8, per_channel=True)
    if (source / EMBEDDINGS).is_file():  # an export with its own word embeddings
        (work / EMBEDDINGS).symlink_to(source / EMBEDDINGS)
    reader._loaded = (OnnxForward(work, reader._threads(), model_dir()), tokenizer)
    return reader


def peer_answer(retriever: Any, reader: Any, question: str) -> tuple[bool, str]:
    """The peer's answer: the best span over the retrieved chunks when its margin clears the threshold."""
    from assistant.answer.reading import READER_THRESHOLD

    texts = [d.page_content for d in retriever.invoke(question)]
    spans = reader.read(question, texts)
    if not spans or spans[0].margin < READER_THRESHOLD:
        return False, ""
    return True, texts[spans[0].passage][spans[0].start : spans[0].end].strip()


def make_variants(work: Path, embedder: Any, names: list[str]) -> tuple[dict[str, Any], Any]:
    """Timed readers by variant name (`k=2` shares the shipped runtime), and the peer's parts or None."""
    from assistant.answer.reader import Reader

    variants: dict[str, Any] = {}
    for name in names:
        if name in ("torch", "onnx"):
            variants[name] = Timed(Reader(runtime=name))
        elif name == "onnx-int8":
            variants[name] = Timed(int8_reader(work / "int8"))
        elif name == "k=2":
            variants[name] = Timed(Reader(runtime="onnx"))
    for v in variants.values():
        v.warm_up()
    peer = None
    if "peer" in names:
        try:
            import langchain_classic.retrievers  # noqa: F401  (the bench extra; build_peer imports lazily)
            import langchain_community.retrievers  # noqa: F401

            from bench.peer import build_peer

            peer = (build_peer, Reader(runtime="torch"))
        except ImportError as err:
            print(f"peer left out: {err} (pip install -e '.[bench]')")
    return variants, peer


def ask_all(names: list[str], limit: int, sets: list[str], splits: tuple[str, ...]) -> dict[str, Any]:
    """Every question of `splits` asked once per variant in `names`, variants taking turns."""
    from assistant.evaluate.squad import bundled_sets, load_squad
    from assistant.evaluate.squad_eval import _assistant, _record
    from assistant.evaluate.testset import exact_match, f1_score
    from assistant.search.resolve import resolve_embedder

    embedder = resolve_embedder()
    work = Path(tempfile.mkdtemp(prefix="reader-runtime-"))
    variants, peer = make_variants(work, embedder, names)
    labels = [*variants, *(["peer"] if peer else [])]
    records: dict[str, list[dict[str, Any]]] = {name: [] for name in labels}
    ask_ms: dict[str, list[float]] = {name: [] for name in labels}
    for name, path in bundled_sets().items():
        if name not in sets:
            continue
        for split in splits:
            contexts = [c for c in load_squad(path, name) if c.split == split]
            contexts = contexts[:limit] if limit else contexts
            for i, ctx in enumerate(contexts):
                bot = _assistant([ctx], embedder, None, work / f"{name}-{split}-{i}")
                retriever = peer[0](ctx.context, embedder) if peer else None
                for q in ctx.questions:
                    for label, reader in variants.items():
                        bot.reader = reader
                        start = time.perf_counter()
                        records[label].append(_record(bot, ctx, q, 0, None, k=2 if label == "k=2" else 4))
                        ask_ms[label].append((time.perf_counter() - start) * 1000)
                    if peer:
                        start = time.perf_counter()
                        said, short = peer_answer(retriever, peer[1], q.question)
                        ask_ms["peer"].append((time.perf_counter() - start) * 1000)
                        rec: dict[str, Any] = {"set": name, "split": split, "answerable": q.answerable,
                                               "answered": said, "short": short}
                        if q.answerable:
                            rec.update(f1=f1_score(short, list(q.answers)) if said else 0.0,
                                       em=exact_match(short, list(q.answers)) if said else 0.0,
                                       false_refusal=float(not said))
                        else:
                            rec["abstention"] = float(not said)
                        records["peer"].append(rec)
            print(f"{name}/{split}: {len(contexts)} contexts", flush=True)
    return {"records": records, "ask_ms": {k: stats(v, 1) for k, v in ask_ms.items()},
            "read_ms": {k: stats(v.times, 1) for k, v in variants.items()}}


def quality(limit: int, no_peer: bool) -> dict[str, Any]:
    """Every variant's answers over the dev and held-out splits, beside torch's."""
    from assistant.evaluate.squad_eval import summarize

    names = [*VARIANTS, *([] if no_peer else ["peer"])]
    got = ask_all(names, limit, ["news_qa_dev", "uit_train_reg", "uit_train_wiki"], SPLITS)
    base = got["records"]["torch"]
    result: dict[str, Any] = {"machine": machine(), "variants": {}}
    for label, recs in got["records"].items():
        same = [a["answered"] == b["answered"] and (not a["answered"] or a["short"] == b["short"])
                for a, b in zip(recs, base)]
        result["variants"][label] = {"quality": summarize(recs),
                                     "same_as_torch": round(sum(same) / max(len(same), 1), 4),
                                     "interleaved_ask_ms": got["ask_ms"][label]}
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=0, help="at most this many contexts per set and split")
    ap.add_argument("--no-peer", action="store_true", help="leave the LangChain + transformers peer out")
    ap.add_argument("--latency", help=argparse.SUPPRESS)  # a child: one variant, its timings as JSON
    ap.add_argument("--only-latency", action="store_true",
                    help="measure the latency again (on an idle machine) into --out, keeping its quality rows")
    ap.add_argument("--out", type=Path, default=ROOT / "artifacts" / "bench" / "reader_runtime.json")
    args = ap.parse_args()
    if args.latency:
        got = ask_all([args.latency], args.limit, ["news_qa_dev"], ("heldout",))
        print("RESULT " + json.dumps({"ask_ms": got["ask_ms"][args.latency], "read_ms": got["read_ms"][args.latency]}))
        return
    if args.only_latency:
        result = json.loads(args.out.read_text(encoding="utf-8"))
        result["latency_machine"] = machine()
    else:
        result = quality(args.limit, args.no_peer)
    # Latency, each variant alone in a fresh process (one runtime per process, as deployed):
    # taking turns in one process, ONNX Runtime's and torch's thread pools slow each other.
    for label in VARIANTS:
        cmd = [sys.executable, "-m", "bench.reader_runtime", "--latency", label,
               "--limit", str(args.limit or LATENCY_CONTEXTS)]
        proc = subprocess.run(cmd, cwd=ROOT, env=bench_env(), capture_output=True, text=True, timeout=3600)
        lines = [x for x in proc.stdout.splitlines() if x.startswith("RESULT ")]
        result["variants"][label].update(json.loads(lines[-1][7:]) if lines else {"error": proc.stderr[-400:]})
    for label, row in result["variants"].items():
        print(f"{label:10} same as torch {row['same_as_torch']:.3f}  ask {row.get('ask_ms')}  "
              f"read {row.get('read_ms')}")
        for key, metrics in row["quality"].items():
            print("   ", key, {m: v["mean"] for m, v in metrics.items()})
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
