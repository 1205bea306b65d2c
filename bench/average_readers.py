"""Average the weights of span readers trained from one another (a checkpoint "soup").

    python -m bench.average_readers /tmp/reader-1 /tmp/reader-2 --out /tmp/reader-avg
    python -m bench.compare_readers /tmp/reader-1 /tmp/reader-2 /tmp/reader-avg   # dev only

An ensemble of checkpoints at the cost of one reader: every tensor of the adapters (LoRA
matrices, the layers trained whole, the span head) is the mean of the inputs', weighted by
`--weights`. The inputs must share one adapter configuration, and for the LoRA matrices the
mean is only meaningful between runs that continue one another (`train_reader --init`):
their A and B matrices stay close, so the mean of the products is near the product of
the means. The result is written as `train_reader` writes its weights (fp16 safetensors,
a manifest with every file's sha256 and where it came from), so `Reader(out)`,
`compare_readers` and `answer_policy` take it as they are.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

from bench.train_reader import seal

ADAPTER = "adapter/adapter_model.safetensors"


def like(config: dict) -> dict:
    """An adapter configuration as far as averaging cares: peft writes `target_modules` from
    a set, so its order differs from one save to the next without meaning anything."""
    return {k: sorted(v) if isinstance(v, list) and all(isinstance(x, str) for x in v) else v
            for k, v in config.items()}


def average(inputs: list[Path], out: Path, weights: list[float] | None = None) -> dict:
    """Write the weighted mean of `inputs`' adapters to `out`; returns its manifest fields."""
    from safetensors.torch import load_file, save_file

    from assistant.answer.reader import check_weights

    if len(inputs) < 2:
        raise SystemExit("average_readers: give at least two weights directories")
    weights = weights or [1.0] * len(inputs)
    if len(weights) != len(inputs) or min(weights) < 0 or sum(weights) <= 0:
        raise SystemExit("average_readers: --weights needs one non-negative weight per input, not all zero")
    manifests = [check_weights(d) for d in inputs]
    configs = [like(json.loads((d / "adapter" / "adapter_config.json").read_text(encoding="utf-8"))) for d in inputs]
    if any(c != configs[0] for c in configs[1:]):
        raise SystemExit("average_readers: the inputs' adapter configurations differ; only like adapters average")
    tensors = [load_file(str(d / ADAPTER)) for d in inputs]
    if any(t.keys() != tensors[0].keys() for t in tensors[1:]):
        raise SystemExit("average_readers: the inputs hold different tensors")
    total = sum(weights)
    mean = {k: sum(w / total * t[k].float() for w, t in zip(weights, tensors, strict=True)).half()
            for k in tensors[0]}
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "adapter").mkdir(parents=True)
    shutil.copy(inputs[0] / "adapter" / "adapter_config.json", tmp / "adapter" / "adapter_config.json")
    save_file(mean, str(tmp / ADAPTER), metadata={"format": "pt"})
    # No training fields of its own (lr, loss, epochs): those of each input are kept beside it.
    meta: dict = {"base": manifests[0].get("base", "")}
    meta["averaged_from"] = [{"weight": w, **{k: v for k, v in m.items() if k != "files"}}
                             for w, m in zip(weights, manifests, strict=True)]
    meta["command"] = ("python -m bench.average_readers " + " ".join(str(d) for d in inputs)
                       + f" --weights {' '.join(f'{w:g}' for w in weights)} --out {out}")
    seal(tmp, out, meta)
    return meta


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="+", type=Path, help="weights directories as train_reader writes them")
    ap.add_argument("--weights", nargs="+", type=float, help="one weight per input (default: equal)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    meta = average(args.inputs, args.out, args.weights)
    print(f"wrote {args.out}: the mean of {len(args.inputs)} readers ({meta['command']})")


if __name__ == "__main__":
    main()
