"""Token pairs: (token sequence of a frozen encoder, target embedding).

One interface for every source. An *item* has a token sequence (an image's
ViT patch tokens, a docstring body's MiniLM hidden states); a *target* has an
embedding from another encoder (a caption, a summary line) and belongs to
exactly one item; an item has one or more targets (COCO: 5 captions).

  data = from_datasets(token_dataset, embedding_dataset)  # AlignmentData
  sampler = PairSampler(data.train, batch_size=128, seed=0)
  items, targets = sampler.indices(step)       # one target per item
  tokens, lengths, y = PairBatches(data.train, 128, 0).batch(step)  # gathered

Sources (`config.data.name` of the align task):
  synthetic  planted structure, the right answer known (`data/planted.py`).
  pydocs     offline real pairs: MiniLM token states of a stdlib docstring's
             body -> TF-IDF/LSA embedding of the same docstring's summary
             (`data/pydocs_pairs.py`).
  dirs       a token dataset + an embedding dataset on disk, joined by the
             targets' `item_id` column (or by id): e.g. COCO from
             `data/coco.py` (`open_dirs`).
"""

from __future__ import annotations

import dataclasses
import numpy as np

from embtrans.data import batching
from embtrans.data import format as fmt
from embtrans.data import tokens as tokens_lib

ITEM_COLUMN = "item_id"


@dataclasses.dataclass
class TokenSplit:
  """One split of items (token sequences) and their targets (embeddings).

  Attributes:
    tokens: [n_rows, T, d] token store (array or memmap, float16/32); this
      split's items are rows `rows` of it, so huge stores stay on disk.
    rows: [n_items] int64 row of each item in `tokens`.
    lengths: [n_items] int32 valid tokens per item (>= 1).
    targets: [n_targets, d_t] float32 target embeddings.
    target_item: [n_targets] int32 item index of each target.
    item_ids: [n_items] str.
  """

  tokens: np.ndarray
  rows: np.ndarray
  lengths: np.ndarray
  targets: np.ndarray
  target_item: np.ndarray
  item_ids: np.ndarray

  def __post_init__(self):
    n = len(self.rows)
    if len(self.lengths) != n or len(self.item_ids) != n:
      raise ValueError(f"{n} rows but {len(self.lengths)} lengths and "
                       f"{len(self.item_ids)} ids.")
    if len(self.target_item) != len(self.targets):
      raise ValueError(f"{len(self.targets)} targets but "
                       f"{len(self.target_item)} target_item entries.")
    counts = np.bincount(self.target_item, minlength=n)
    if len(counts) != n or (counts == 0).any():
      raise ValueError("every item needs >= 1 target and every target an "
                       f"item in [0, {n}).")
    order = np.argsort(self.target_item, kind="stable")
    self._by_item = order.astype(np.int64)
    self._offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)

  @property
  def num_items(self) -> int:
    return len(self.rows)

  @property
  def num_targets(self) -> int:
    return len(self.targets)

  def item_tokens(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Items `index: [b]` -> (tokens [b, T, d] float32, lengths [b] int32)."""
    rows = self.rows[index]
    order = np.argsort(rows)  # Sorted reads are faster on a memmap.
    out = np.empty((len(rows),) + self.tokens.shape[1:], np.float32)
    out[order] = self.tokens[rows[order]]
    return out, self.lengths[index]

  def positives(self, max_per_item: int | None = None) -> np.ndarray:
    """[n_items, p] target indices of each item, -1 padded (image -> text)."""
    counts = np.diff(self._offsets)
    p = int(counts.max()) if max_per_item is None else int(max_per_item)
    out = np.full((self.num_items, p), -1, np.int32)
    for j in range(p):
      has = counts > j
      out[has, j] = self._by_item[self._offsets[:-1][has] + j]
    return out

  def sample_targets(self, items: np.ndarray, rng: np.random.Generator
                     ) -> np.ndarray:
    """One target index per item of `items: [b]`, uniformly among its own."""
    counts = self._offsets[items + 1] - self._offsets[items]
    pick = np.minimum((rng.random(len(items)) * counts).astype(np.int64),
                      counts - 1)
    return self._by_item[self._offsets[items] + pick]


@dataclasses.dataclass
class AlignmentData:
  """train / test splits; `info` is JSON-able (data.json); `extras` is not."""

  name: str
  train: TokenSplit
  test: TokenSplit
  info: dict
  extras: dict = dataclasses.field(default_factory=dict)

  @property
  def token_dim(self) -> int:
    return int(self.train.tokens.shape[-1])

  @property
  def max_tokens(self) -> int:
    return int(self.train.tokens.shape[1])

  @property
  def target_dim(self) -> int:
    return int(self.train.targets.shape[-1])


class PairSampler:
  """Deterministic training batches: the batch of step s depends on (seed, s).

  Items are shuffled without replacement each epoch (`EpochBatches`); each
  item brings one of its targets, drawn afresh per step with
  `rng([seed, step, 7])`, so no item appears twice in a batch (no false
  negatives from a repeated image).
  """

  def __init__(self, split: TokenSplit, batch_size: int, seed: int):
    self.split, self.seed = split, int(seed)
    self._epochs = batching.EpochBatches(split.num_items, batch_size, seed)

  def indices(self, step: int) -> tuple[np.ndarray, np.ndarray]:
    """-> (items [b] int32, targets [b] int32): rows of the split."""
    items = self._epochs.indices(step)
    rng = np.random.default_rng([self.seed, step, 7])
    chosen = self.split.sample_targets(items, rng)
    return items.astype(np.int32), chosen.astype(np.int32)


class PairBatches:
  """`PairSampler`'s batches gathered on the host (data too big to keep on
  the devices): `batch(step) -> tokens, lengths, targets`."""

  def __init__(self, split: TokenSplit, batch_size: int, seed: int):
    self.split = split
    self.sampler = PairSampler(split, batch_size, seed)

  def batch(self, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """-> tokens [b, T, d] float32, lengths [b] int32, targets [b, d_t]."""
    items, chosen = self.sampler.indices(step)
    tokens, lengths = self.split.item_tokens(items)
    return tokens, lengths, np.asarray(self.split.targets[chosen], np.float32)


def from_datasets(tok: tokens_lib.TokenDataset, tgt: fmt.EmbeddingDataset,
                  train_split: str = "train", test_split: str = "test"
                  ) -> AlignmentData:
  """Joins a token dataset (items) and an embedding dataset (targets).

  A target's item is its `item_id` column when present (COCO: a caption's
  image), else its own id (one-to-one pairs share ids). A target is in the
  split of its item. Targets whose item is absent and items without a target
  are dropped and counted in `info`.
  """
  item_key = (tgt.column(ITEM_COLUMN).astype(str) if ITEM_COLUMN in
              tgt.rows.column_names else tgt.ids)
  row_of = {i: r for r, i in enumerate(tok.ids)}
  known = np.array([k in row_of for k in item_key], bool)
  tgt_rows = np.flatnonzero(known)
  tgt_tok_row = np.array([row_of[k] for k in item_key[known]], np.int64)
  has_target = np.zeros(len(tok), bool)
  has_target[tgt_tok_row] = True
  made = {}
  for split in (train_split, test_split):
    rows = np.flatnonzero((tok.splits == split) & has_target)
    if not len(rows):
      raise fmt.DatasetError(
          f"{tok.path}: no items with targets in split {split!r} (splits "
          f"there: {sorted(set(tok.splits))}).")
    index_of = np.full(len(tok), -1, np.int64)
    index_of[rows] = np.arange(len(rows))
    sel = index_of[tgt_tok_row] >= 0
    made[split] = TokenSplit(
        tok.tokens, rows, tok.lengths[rows],
        np.asarray(tgt.vectors[tgt_rows[sel]], np.float32),
        index_of[tgt_tok_row[sel]].astype(np.int32), tok.ids[rows])
  info = dict(source=str(tok.manifest.get("name", tok.path.name)),
              target_source=str(tgt.name), token_dim=tok.dim,
              max_tokens=tok.max_tokens, target_dim=tgt.dim,
              num_train_items=made[train_split].num_items,
              num_train_targets=made[train_split].num_targets,
              num_test_items=made[test_split].num_items,
              num_test_targets=made[test_split].num_targets,
              dropped_targets=int((~known).sum()),
              dropped_items=int((~has_target).sum()))
  return AlignmentData(info["source"], made[train_split], made[test_split],
                       info)


def open_dirs(tokens: str, targets: str, train_split: str = "train",
              test_split: str = "test") -> AlignmentData:
  """`from_datasets` of a token-dataset dir and an embedding-dataset dir."""
  return from_datasets(tokens_lib.open_token_dataset(tokens),
                       fmt.open_dataset(targets), train_split, test_split)
