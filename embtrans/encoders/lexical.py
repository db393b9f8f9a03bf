"""A lexical embedding model: TF-IDF + truncated SVD (latent semantic analysis)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from embtrans.data.format import fingerprint
from embtrans.encoders import l2_normalize


class TfidfLsa:
  """Word 1-2-gram TF-IDF, reduced to `dim` by truncated SVD, L2-normalised.

  Fitted on the training split only (`fit`), then applied to every text, so
  test texts never influence the vocabulary or the projection.
  """

  needs_fit = True
  normalized = True

  def __init__(self, dim: int = 256, max_features: int = 50_000,
               min_df: int = 2, seed: int = 0):
    from sklearn.decomposition import TruncatedSVD  # pylint: disable=g-import-not-at-top
    from sklearn.feature_extraction.text import TfidfVectorizer  # pylint: disable=g-import-not-at-top
    self.name, self.dim = "tfidf_lsa", int(dim)
    self.config = dict(dim=dim, max_features=max_features, min_df=min_df,
                       seed=seed, ngram_range=(1, 2), sublinear_tf=True)
    self.vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True,
                                      min_df=min_df, max_features=max_features,
                                      dtype=np.float32)
    self.svd = TruncatedSVD(n_components=self.dim, n_iter=7,
                            random_state=seed)
    self._fitted = False

  def fingerprint(self) -> str:
    return fingerprint("tfidf_lsa", self.config)

  def fit(self, texts: Sequence[str]) -> None:
    tfidf = self.vectorizer.fit_transform(list(texts))
    limit = min(tfidf.shape) - 1
    if self.dim > limit:
      raise ValueError(
          f"tfidf_lsa: dim={self.dim} needs more than {limit + 1} training "
          f"texts and vocabulary terms (got {tfidf.shape[0]} texts, "
          f"{tfidf.shape[1]} terms). Use more texts or a smaller dim.")
    self.svd.fit(tfidf)
    self._fitted = True

  def encode(self, texts: Sequence[str]) -> np.ndarray:
    if not self._fitted:
      raise RuntimeError("tfidf_lsa must be fitted on training texts first.")
    return l2_normalize(self.svd.transform(self.vectorizer.transform(
        list(texts))))
