"""The measured cases, each run in its own process: `python -m bench.cases NAME '{"param": ...}'`.

Cases on the bundled article (index builds, warm latency per stage, the tiny
sentence-transformers model) live here; the scale cases are in `bench.scale` and the
LangChain peer in `bench.peer`. Every case prints one `BENCH_RESULT` line (see
`bench.common`) with its peak memory.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .common import emit, stats, stopwatch

QUIET = {"announce": lambda _m: None}


def case_build_article(runs: int = 5) -> dict[str, Any]:
    """`Assistant.build` of the bundled article (offline embedder), `runs` times in one process."""
    from assistant import Assistant

    times, chunks = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(runs + 1):
            with stopwatch() as t:
                bot = Assistant.build([], Path(tmp) / f"i{r}", "offline", **QUIET)
            chunks = len(bot.stored.chunks)
            if r:  # the first build pays for imports and caches
                times.append(t[0] * 1000)
    return {"build_ms": stats(times), "passages": chunks}


def case_build_corpus(articles: int = 100, runs: int = 3, seed: int = 0) -> dict[str, Any]:
    """`Assistant.build` of `articles` synthetic articles (seeded, written to a temp dir)."""
    from assistant import Assistant

    from .synth import write_articles

    times, chunks = [], 0
    with tempfile.TemporaryDirectory() as tmp:
        files = write_articles(Path(tmp) / "src", articles, seed=seed)
        for r in range(runs):
            with stopwatch() as t:
                bot = Assistant.build(files, Path(tmp) / f"i{r}", "offline", **QUIET)
            chunks = len(bot.stored.chunks)
            times.append(t[0] * 1000)
    return {"build_ms": stats(times), "articles": articles, "passages": chunks,
            "passages_per_s": round(chunks / (stats(times)["p50"] / 1000), 1)}


def case_warm(index_dir: str, rounds: int = 5, model: str = "offline") -> dict[str, Any]:
    """Warm latency of `retrieve` and `ask`, and of each stage, over the test set's questions."""
    from assistant import Assistant
    from assistant.answer.question import analyse
    from assistant.evaluate.testset import load_testset
    from assistant.paths import bundled_testset
    from assistant.search.retrieval import rrf, search_one

    bot = Assistant.load(index_dir, model=model, **QUIET)
    s = bot.searcher
    questions = [c.question for c in load_testset(bundled_testset())]
    pool = min(max(4, s.fusion.candidates), len(s.chunks))
    for q in questions:  # warm up caches (the hashing embedder's word cache, lazy imports)
        bot.ask(q)
    stages: dict[str, list[float]] = {k: [] for k in ("analyse", "embed", "dense", "bm25", "fusion", "answer",
                                                      "retrieve", "ask")}
    clock = time.perf_counter
    for _ in range(rounds):
        for q in questions:
            analyse.cache_clear()
            ta = clock()
            analyse(q)  # what `Assistant.retrieve` runs first (assistant/answer/question.py): is it English?
            stages["analyse"].append((clock() - ta) * 1000)
            t0 = clock()
            vec = s.embedder.embed_array([q], query=True)
            t1 = clock()
            _scores, ids = search_one(s.vectors, vec, pool)
            t2 = clock()
            lexical = s.lexical_scores(q, pool)
            t3 = clock()
            rrf([[int(i) for i in ids[0] if i >= 0], [i for i, _ in lexical]],
                [s.fusion.dense_weight, s.fusion.lexical_weight], s.fusion.rrf_k)
            analyse.cache_clear()  # each public call meets its question for the first time
            t4 = clock()
            bot.retrieve(q)
            t5 = clock()
            analyse.cache_clear()
            t5 = clock()
            answer = bot.ask(q)
            t6 = clock()
            for key, value in (("embed", t1 - t0), ("dense", t2 - t1), ("bm25", t3 - t2), ("fusion", t4 - t3),
                               ("retrieve", t5 - t4), ("ask", t6 - t5)):
                stages[key].append(value * 1000)
            stages["answer"].append(answer.timings_ms.get("answer", 0.0))
    return {"questions": len(questions), "rounds": rounds, "passages": len(s.chunks),
            "latency_ms": {k: stats(v, 4) for k, v in stages.items()}}


def build_tiny_model(directory: Path) -> Path:
    """The tests' tiny sentence-transformers model (tests/conftest.py `tiny_model_dir`), built
    from scratch: a 1-layer BERT (hidden 32) with a WordPiece vocabulary trained on the article."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.modules import Pooling, Transformer
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    from transformers import BertConfig, BertModel, BertTokenizerFast

    from assistant.ingest.article import Article
    from assistant.paths import bundled_article

    lines = [line for line in Article.read(bundled_article()).text.split("\n") if line]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True, strip_accents=False)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(vocab_size=500, special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
                                        show_progress=False)
    tokenizer.train_from_iterator(lines, trainer)
    fast = BertTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]",
                             sep_token="[SEP]", mask_token="[MASK]", model_max_length=128)
    config = BertConfig(vocab_size=tokenizer.get_vocab_size(), hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=128)
    torch.manual_seed(0)
    hf_dir = directory / "hf-bert-tiny"
    BertModel(config).save_pretrained(hf_dir)
    fast.save_pretrained(hf_dir)
    transformer = Transformer(str(hf_dir), max_seq_length=128)
    pooling = Pooling(transformer.get_embedding_dimension(), pooling_mode="mean")
    st_dir = directory / "e5-tiny"
    SentenceTransformer(modules=[transformer, pooling], device="cpu").save(str(st_dir))
    return st_dir


def case_tiny_model(workdir: str, rounds: int = 2) -> dict[str, Any]:
    """The real-model code path with a tiny stand-in model: torch import, model build, index
    build, warm latency. Real-model figures need the real model (not measured here)."""
    with stopwatch() as t_import:
        import sentence_transformers  # noqa: F401
        import torch  # noqa: F401
    with stopwatch() as t_model:
        model_dir = build_tiny_model(Path(workdir))
    from assistant import Assistant

    index_dir = Path(workdir) / "index"
    with stopwatch() as t_build:
        Assistant.build([], index_dir, str(model_dir), **QUIET)
    warm = case_warm(str(index_dir), rounds=rounds, model=str(model_dir))
    return {"model_dir": str(model_dir), "import_torch_st_ms": round(t_import[0] * 1000, 1),
            "make_model_ms": round(t_model[0] * 1000, 1), "build_ms": round(t_build[0] * 1000, 1), **warm}


def _cases() -> dict[str, Callable[..., dict[str, Any]]]:
    from . import milvus_scale, peer, scale

    return {"build_article": case_build_article, "build_corpus": case_build_corpus, "warm": case_warm,
            "tiny_model": case_tiny_model, "peer": peer.case_peer, "peer_corpus": peer.case_peer_corpus,
            "scale_build": scale.case_scale_build,
            "scale_query": scale.case_scale_query,
            "scale_assistant": scale.case_scale_assistant, "optimisations": scale.case_optimisations,
            "milvus_build": milvus_scale.case_milvus_build, "milvus_query": milvus_scale.case_milvus_query}


def main(argv: list[str]) -> None:
    name, params = argv[0], json.loads(argv[1]) if len(argv) > 1 else {}
    emit(_cases()[name](**params))


if __name__ == "__main__":
    main(sys.argv[1:])
