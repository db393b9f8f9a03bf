"""Offline real alignment pairs from standard-library docstrings.

A docstring of the `pydocs` source gives two texts: its summary (first
paragraph) and its body (the rest), with ids `pydocs:<file>:<qualname>:summary`
and `...:body`. A pair joins them by `pydocs:<file>:<qualname>`:

  item   = the body, as the last-layer hidden states of frozen all-MiniLM-L6-v2
           (token level, before pooling, [CLS] and [SEP] included, at most
           `max_tokens`): [T, 384], like a ViT's patch tokens.
  target = the summary, embedded by a different model (`tfidf_lsa` by
           default: a lexical TF-IDF + LSA model fitted on training summaries).

This is a fair stand-in for image patch tokens -> caption embedding: a frozen
encoder's token sequence of one view is matched with another encoder's pooled
vector of a paired but different view, one-to-one, against every other test
pair as distractors, and the head has to pool the tokens into the target
space. Split: `format.split_of(pair id)` (80/20). Both datasets are cached
under $EMBTRANS_CACHE/align/ and reused; the token states come from
`encoders.token_states`.
"""

from __future__ import annotations

import collections
import os
import pathlib

from absl import logging

from embtrans import encoders as encoders_lib
from embtrans.data import build as build_lib
from embtrans.data import format as fmt
from embtrans.data import sources
from embtrans.data import token_pairs
from embtrans.data import tokens as tokens_lib
from embtrans.encoders import token_states

TOKEN_ENCODER = "minilm"


def pairs(limit: int | None = None) -> list[tuple[str, str, str]]:
  """(pair id, body, summary) for docstrings that have both, sorted by id.

  `limit` caps the source records read (the first `limit` texts), not the
  pairs: a quick subset for tests and smoke runs.
  """
  parts: dict[str, dict[str, str]] = collections.defaultdict(dict)
  for rec in sources.pydocs_records(limit):
    base, _, part = rec.id.rpartition(":")
    parts[base][part] = rec.text
  return [(k, v["body"], v["summary"]) for k, v in sorted(parts.items())
          if "body" in v and "summary" in v]


def _cache_paths(max_tokens: int, target: str, limit: int | None,
                 cache_dir: os.PathLike | None) -> tuple[pathlib.Path, ...]:
  src = sources.get_source("pydocs").fingerprint()
  root = pathlib.Path(cache_dir or build_lib.default_cache_dir()) / "align"
  fp_tok = fmt.fingerprint(src, "body", TOKEN_ENCODER, max_tokens, limit or 0)
  fp_tgt = fmt.fingerprint(src, "summary", target, limit or 0)
  return (root / f"pydocs-body-{TOKEN_ENCODER}-tokens{max_tokens}-{fp_tok}",
          root / f"pydocs-summary-{target}-{fp_tgt}")


def _build_tokens(path: pathlib.Path, found, max_tokens: int) -> None:
  ids = [p[0] for p in found]
  logging.info("Extracting MiniLM token states of %d docstring bodies (once;"
               " cached at %s).", len(ids), path)
  states, lengths = token_states.minilm_token_states(
      [p[1] for p in found], max_tokens)
  extra = {"name": f"pydocs-body/{TOKEN_ENCODER}-tokens",
           "model": TOKEN_ENCODER, "layer": "last_hidden_state",
           "text_source": "pydocs", "view": "body"}
  with tokens_lib.TokenDatasetWriter(path, len(ids), max_tokens,
                                     states.shape[-1], "float16", extra) as w:
    w.add(ids, states, lengths, texts=[p[1] for p in found])


def _build_targets(path: pathlib.Path, found, target: str) -> None:
  ids, texts = [p[0] for p in found], [p[2] for p in found]
  enc = encoders_lib.get_encoder(target)
  if enc.needs_fit:
    enc.fit([t for i, t in zip(ids, texts) if fmt.split_of(i) == "train"])
  extra = {"name": f"pydocs-summary/{target}", "model": target,
           "model_fingerprint": enc.fingerprint(), "text_source": "pydocs",
           "view": "summary", "normalized": bool(enc.normalized)}
  fmt.write_dataset(path, ids, enc.encode(texts), texts, manifest_extra=extra)


def load(max_tokens: int = 64, target: str = "tfidf_lsa",
         limit: int = 0, cache_dir: str = "") -> token_pairs.AlignmentData:
  """The pydocs body-tokens -> summary-embedding pairs (built once, cached).

  Args:
    max_tokens: MiniLM tokens kept per body ([CLS] ... [SEP], truncated).
    target: encoder of the summaries (a registered encoder other than
      minilm's token states: tfidf_lsa by default, or minilm_static, ...).
    limit: read only the first `limit` pydocs texts (0 = all: 1,809 pairs on
      Python 3.11).
    cache_dir: default $EMBTRANS_CACHE.
  """
  if max_tokens < 2:
    raise ValueError(f"pydocs: max_tokens must be >= 2, got {max_tokens}.")
  tok_path, tgt_path = _cache_paths(max_tokens, target, limit or None,
                                    cache_dir or None)
  tok_path.parent.mkdir(parents=True, exist_ok=True)
  found = None
  with build_lib.build_lock(tok_path):
    if not (tok_path / fmt.MANIFEST).is_file():
      found = pairs(limit or None)
      _build_tokens(tok_path, found, max_tokens)
  with build_lib.build_lock(tgt_path):
    if not fmt.is_complete(tgt_path):
      _build_targets(tgt_path, found or pairs(limit or None), target)
  return token_pairs.from_datasets(tokens_lib.open_token_dataset(tok_path),
                                fmt.open_dataset(tgt_path))
