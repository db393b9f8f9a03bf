"""Real MiniLM token states on a few texts: masked mean pooling of them is
the sentence-transformers embedding of the same model (an independent
implementation of the pooling), lengths are the tokenizer's, padding is 0."""

import chex
import numpy as np

from embtrans import encoders
from embtrans.encoders import token_states

TEXTS = ["Return the sum of two numbers.",
         "Open a file and read every line into a list of strings, then "
         "close it.",
         "x"]


def test_minilm_token_states_pool_to_the_sentence_embedding():
  states, lengths = token_states.minilm_token_states(TEXTS, max_tokens=32)
  chex.assert_shape(states, (3, 32, 384))
  from transformers import AutoTokenizer  # pylint: disable=g-import-not-at-top
  from embtrans.encoders.sentence_transformer import minilm_path  # pylint: disable=g-import-not-at-top
  tok = AutoTokenizer.from_pretrained(minilm_path(), local_files_only=True)
  want = [len(tok(t)["input_ids"]) for t in TEXTS]   # [CLS] ... [SEP]
  assert list(lengths) == want and max(want) < 32 and min(want) == 3
  for i, n in enumerate(lengths):
    assert not states[i, n:].any()           # padding is zero
    assert np.abs(states[i, :n]).min(axis=1).max() > 0  # real tokens are not
  pooled = states.sum(1) / lengths[:, None]
  pooled /= np.linalg.norm(pooled, axis=1, keepdims=True)
  ref = encoders.get_encoder("minilm").encode(TEXTS)
  np.testing.assert_allclose(pooled, ref, atol=2e-5)
