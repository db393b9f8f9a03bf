"""COCO captions -> CLIP ViT patch tokens + caption embeddings (needs a hub).

  python -m embtrans.data.coco --data_dir=~/tensorflow_datasets \
      --clip=/path/to/clip-vit-large-patch14 --out=/data/coco_clip
  python -m embtrans.main --config=configs/align_perceiver.py:size=full,\
data=coco,tokens=/data/coco_clip/images,targets=/data/coco_clip/captions \
      --workdir=W

Reads TFDS `coco_captions` (COCO 2014 with the Karpathy & Li splits: 'train'
82,783 + 'restval' 30,504 images for training, 'val' and 'test' 5,000 each;
the COCO 5k retrieval protocol is the Karpathy 'test' split) prepared in the
ArrayRecord format, as a random-access data source: no TensorFlow. tfds
4.9.10's `tfds.data_source("coco_captions")` constructs the code builder,
whose `_info()` imports TensorFlow, so the prepared directory is opened with
`tfds.builder_from_directory(...).as_data_source(split)`, the same
ArrayRecord source `tfds.data_source` returns. (Prepare it once on a machine
with TensorFlow: `tfds build coco_captions --file_format=array_record`.)

Writes, under --out:
  images/    token dataset: CLIP vision tokens [n, num_patches + 1, d_hidden]
             (float16), id `coco:<image id>`, split 'train' | 'test'
  captions/  embedding dataset: CLIP text embeddings of the first
             `captions_per_image` (5) captions per image, lowercased and
             whitespace-normalised (big_vision #166: casing changes T->I R@1
             by ~3.5 points), id `coco:<image id>#<k>`, column item_id
  images_pooled/  embedding dataset: CLIP's own pooled image embeddings (the
             frozen-CLIP, no-head reference)

The CLIP adapter comes from `embtrans.encoders.clip` (imported lazily):
`ClipVisionEncoder(path).encode_images(images, return_tokens=True) ->
(pooled [n, d], tokens [n, num_patches + 1, d_hidden])` and
`ClipTextEncoder(path).encode(texts) -> [n, d]`.
"""

from __future__ import annotations

import os
import pathlib
from typing import Any, Callable, Iterator, Sequence

import numpy as np
from absl import app
from absl import flags
from absl import logging

from embtrans.data import format as fmt
from embtrans.data import tokens as tokens_lib

DATASET = "coco_captions"
CONFIG = "2014"
CAPTIONS_PER_IMAGE = 5
# Our split name <- TFDS splits (Karpathy train + restval = the 113k train).
SPLITS = {"train": ("train", "restval"), "test": ("test",)}


def normalise_caption(text: Any) -> str:
  """Lowercased, whitespace-collapsed caption text (bytes or str)."""
  if isinstance(text, bytes):
    text = text.decode("utf-8")
  return " ".join(str(text).lower().split())


def builder_dir(data_dir: str, version: str | None = None) -> pathlib.Path:
  """`<data_dir>/coco_captions/2014/<version>` (newest version if None)."""
  root = pathlib.Path(os.path.expanduser(data_dir)) / DATASET / CONFIG
  if version:
    path = root / version
  else:
    versions = sorted((p for p in root.glob("*.*.*") if p.is_dir()),
                      key=lambda p: tuple(int(x) for x in p.name.split(".")))
    path = versions[-1] if versions else root / "<version>"
  if not (path / "dataset_info.json").is_file():
    raise FileNotFoundError(
        f"No prepared {DATASET}/{CONFIG} at {path}. Prepare it on a machine "
        "with TensorFlow and a hub: tfds build coco_captions "
        f"--file_format=array_record --data_dir={data_dir}")
  return path


def open_split(data_dir: str, split: str, version: str | None = None):
  """The random-access data source of one TFDS split (len, __getitem__)."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  builder = tfds.builder_from_directory(str(builder_dir(data_dir, version)))
  return builder.as_data_source(split)


def examples(source, captions_per_image: int = CAPTIONS_PER_IMAGE
             ) -> Iterator[tuple[int, np.ndarray, list[str]]]:
  """Yields (image id, image uint8 [H, W, 3], its first k captions).

  Images with fewer than k captions keep the ones they have.
  """
  for i in range(len(source)):
    ex = source[i]
    texts = ex["captions"]["text"]
    caps = [normalise_caption(t) for t in list(texts)[:captions_per_image]]
    if not caps:
      raise ValueError(f"COCO image {ex['image/id']} has no captions.")
    yield int(ex["image/id"]), np.asarray(ex["image"]), caps


def _default_encoders(clip_path: str):
  from embtrans.encoders import clip  # pylint: disable=g-import-not-at-top
  return clip.ClipVisionEncoder(clip_path), clip.ClipTextEncoder(clip_path)


def _batches(sources, captions_per_image: int, batch_size: int):
  """Yields (our split, [(image id, image, captions), ...]) batches."""
  for ours, src, n in sources:
    batch = []
    for _, ex in zip(range(n), examples(src, captions_per_image)):
      batch.append(ex)
      if len(batch) == batch_size:
        yield ours, batch
        batch = []
    if batch:
      yield ours, batch


def _open_sources(data_dir: str, splits: Sequence[str], max_images: int,
                  version: str | None) -> list[tuple[str, Any, int]]:
  sources = []
  for ours in splits:
    if ours not in SPLITS:
      raise ValueError(f"split must be one of {sorted(SPLITS)}, got {ours!r}.")
    for theirs in SPLITS[ours]:
      src = open_split(data_dir, theirs, version)
      sources.append((ours, src, min(len(src), max_images) if max_images
                      else len(src)))
  return sources


def extract(data_dir: str, clip_path: str, out: str,
            splits: Sequence[str] = ("train", "test"),
            captions_per_image: int = CAPTIONS_PER_IMAGE,
            batch_size: int = 64, max_images: int = 0,
            version: str | None = None,
            encoders: Callable[[str], tuple[Any, Any]] = _default_encoders
            ) -> dict[str, pathlib.Path]:
  """Encodes COCO images (tokens) and captions; returns the three dirs."""
  sources = _open_sources(data_dir, splits, max_images, version)
  vision, text = encoders(clip_path)
  paths = {k: pathlib.Path(out) / k
           for k in ("images", "captions", "images_pooled")}
  paths["images"].parent.mkdir(parents=True, exist_ok=True)
  batches = _batches(sources, captions_per_image, batch_size)
  split, batch = next(batches)
  pooled, toks = vision.encode_images([b[1] for b in batch],
                                      return_tokens=True)
  model = pathlib.Path(clip_path).name
  with tokens_lib.TokenDatasetWriter(
      paths["images"], sum(n for _, _, n in sources), toks.shape[1],
      toks.shape[2], "float16", {"name": f"coco/images-{model}",
                                 "model": clip_path}) as tok_w, \
      fmt.DatasetWriter(paths["captions"], text.dim, {
          "name": f"coco/captions-{model}", "model": clip_path,
          "lowercased": True, "captions_per_image": captions_per_image}
                        ) as cap_w, \
      fmt.DatasetWriter(paths["images_pooled"], pooled.shape[1], {
          "name": f"coco/images-pooled-{model}", "model": clip_path}
                        ) as pool_w:
    while True:
      ids = [f"coco:{b[0]}" for b in batch]
      tok_w.add(ids, toks, np.full(len(ids), toks.shape[1]),
                splits=[split] * len(ids))
      pool_w.add(ids, pooled)
      caps = [(f"{i}#{k}", i, c) for i, b in zip(ids, batch)
              for k, c in enumerate(b[2])]
      cap_w.add([c[0] for c in caps], text.encode([c[2] for c in caps]),
                texts=[c[2] for c in caps],
                metadata={"item_id": [c[1] for c in caps]})
      nxt = next(batches, None)
      if nxt is None:
        break
      split, batch = nxt
      pooled, toks = vision.encode_images([b[1] for b in batch],
                                          return_tokens=True)
  logging.info("COCO: wrote %s", {k: str(v) for k, v in paths.items()})
  return paths


def _define_flags() -> None:
  flags.DEFINE_string("data_dir", "~/tensorflow_datasets", "TFDS data dir.")
  flags.DEFINE_string("clip", None, "Local CLIP model directory.")
  flags.DEFINE_string("out", None, "Output directory.")
  flags.DEFINE_list("splits", ["train", "test"], "train and/or test.")
  flags.DEFINE_integer("max_images", 0, "Per TFDS split; 0 = all.")
  flags.DEFINE_integer("batch_size", 64, "Images per encoder call.")
  flags.mark_flags_as_required(["clip", "out"])


def main(argv: Sequence[str]) -> None:
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  from embtrans import cli  # pylint: disable=g-import-not-at-top
  f = flags.FLAGS
  cli.check_workdir(f.out, "--out")
  cli.start(devices=False)
  paths = extract(f.data_dir, f.clip, f.out, f.splits,
                  batch_size=f.batch_size, max_images=f.max_images)
  print("Wrote " + ", ".join(str(p) for p in paths.values()))


if __name__ == "__main__":
  from embtrans import cli  # pylint: disable=g-import-not-at-top
  _define_flags()
  cli.run(main, "embtrans.data.coco")
