"""Token states: a frozen text model's last hidden states, before pooling.

  states, lengths = token_states(path, texts, max_tokens)   # [n, T, h], [n]
  states, lengths = minilm_token_states(texts, max_tokens)  # all-MiniLM-L6-v2

The sequence-level sibling of the pooled encoders (`get_encoder`): what an
alignment head pools, the text analogue of a ViT's patch tokens. Special
tokens ([CLS], [SEP]) are kept; positions past a text's length are zero.
Local directories only, safetensors weights only (`hf.check_model_dir`).
"""

from __future__ import annotations

import os

import numpy as np

from embtrans.encoders import hf


def token_states(path: str | os.PathLike, texts: list[str], max_tokens: int,
                 batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
  """Last hidden states of the model at `path`: ([n, T, h], lengths [n]).

  Each text is tokenised to at most `max_tokens` (= T) tokens, truncated.
  """
  model_dir = hf.check_model_dir(path, "token_states")
  os.environ.setdefault("HF_HUB_OFFLINE", "1")
  import torch  # pylint: disable=g-import-not-at-top
  from transformers import AutoModel, AutoTokenizer  # pylint: disable=g-import-not-at-top
  tokenizer = AutoTokenizer.from_pretrained(model_dir, local_files_only=True)
  model = AutoModel.from_pretrained(model_dir, local_files_only=True,
                                    use_safetensors=True).eval()
  states = np.zeros((len(texts), max_tokens, model.config.hidden_size),
                    np.float32)
  lengths = np.zeros(len(texts), np.int32)
  with torch.no_grad():
    for s in range(0, len(texts), batch_size):
      enc = tokenizer(texts[s:s + batch_size], padding="max_length",
                      truncation=True, max_length=max_tokens,
                      return_tensors="pt")
      mask = enc["attention_mask"].numpy()
      hidden = model(**enc).last_hidden_state.numpy()
      states[s:s + batch_size] = hidden * mask[..., None]
      lengths[s:s + batch_size] = mask.sum(1)
  return states, lengths


def minilm_token_states(texts: list[str], max_tokens: int,
                        batch_size: int = 64
                        ) -> tuple[np.ndarray, np.ndarray]:
  """all-MiniLM-L6-v2's token states: ([n, T, 384], lengths [n])."""
  from embtrans.encoders.sentence_transformer import minilm_path  # pylint: disable=g-import-not-at-top
  return token_states(minilm_path(), texts, max_tokens, batch_size)
