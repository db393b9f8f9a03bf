"""The COCO path: TFDS coco_captions (mocked) + a fake CLIP -> token data;
the same path with a real (tiny, random) CLIP against transformers."""

import numpy as np
import pytest
import tensorflow_datasets as tfds

from embtrans.data import coco
from embtrans.data import format as fmt
from embtrans.data import token_pairs
from embtrans.data import tokens as tokens_lib
from embtrans.tasks import align_scores
from tests import embed_helpers
from tests.align_helpers import fast_compile  # pylint: disable=unused-import

pytestmark = pytest.mark.usefixtures("fast_compile")

PATCHES, HIDDEN, DIM = 5, 4, 3


def _example(image_id, n_captions, size):
  image = np.full(size + (3,), image_id % 256, np.uint8)
  texts = [f"  A Photo of  THING {image_id} number {k} " for k in
           range(n_captions)]
  return {"image": image, "image/id": image_id,
          "image/filename": f"COCO_{image_id}.jpg",
          "captions": {"text": np.array([t.encode() for t in texts]),
                       "id": np.arange(n_captions)}}


# TFDS split -> examples; one image has 6 captions (COCO has a few).
EXAMPLES = {
    "train": [_example(1, 5, (4, 6)), _example(2, 6, (5, 5))],
    "restval": [_example(3, 5, (3, 3))],
    "test": [_example(7, 5, (6, 4)), _example(8, 5, (2, 2)),
             _example(9, 5, (3, 5))],
    "val": [_example(11, 5, (3, 3))],
}


class FakeVision:
  """Implements ClipVisionEncoder's interface from the image's pixel value."""

  dim = DIM

  def encode_images(self, images, return_tokens=False):
    assert return_tokens
    value = np.array([float(im.mean()) for im in images], np.float32)
    tokens = value[:, None, None] + np.arange(PATCHES * HIDDEN).reshape(
        1, PATCHES, HIDDEN) / 10
    pooled = np.stack([value, -value, np.ones_like(value)], 1)
    return pooled, tokens.astype(np.float32)


class FakeText:
  dim = DIM

  def __init__(self):
    self.seen = []

  def encode(self, texts):
    self.seen.extend(texts)
    nums = [[float(w) for w in t.split() if w.isdigit()] for t in texts]
    return np.array([[a, b, 1.0] for a, b in nums], np.float32)


def _metadata(root):
  """dataset_info.json + features.json of coco_captions/2014 (no TF)."""
  features = tfds.features.FeaturesDict({
      "image": tfds.features.Image(encoding_format="jpeg"),
      "image/id": np.int64, "image/filename": tfds.features.Text(),
      "captions": tfds.features.Sequence({"text": tfds.features.Text(),
                                          "id": np.int64})})
  path = root / "coco_captions" / "2014" / "1.1.0"
  path.mkdir(parents=True)
  splits = [tfds.core.SplitInfo(name=s, shard_lengths=[len(e)], num_bytes=0)
            for s, e in EXAMPLES.items()]
  info = tfds.core.DatasetInfo(
      builder=tfds.core.DatasetIdentity(
          name="coco_captions", version="1.1.0", data_dir=str(path),
          module_name="tensorflow_datasets.object_detection.coco_captions",
          config_name="2014"),
      features=features, split_dict=tfds.core.SplitDict(splits))
  info.write_to_directory(str(path))
  return path


def test_extract_from_mocked_tfds(tmp_path):
  path = _metadata(tmp_path / "tfds")
  text = FakeText()
  with tfds.testing.mock_data(
      data_dir=str(path),
      as_data_source_fn=lambda builder, split, **kw: EXAMPLES[split]):
    out = coco.extract(str(tmp_path / "tfds"), "/models/fake-clip",
                       str(tmp_path / "out"), batch_size=2,
                       encoders=lambda p: (FakeVision(), text))
  images = tokens_lib.open_token_dataset(out["images"])
  assert list(images.ids) == ["coco:1", "coco:2", "coco:3", "coco:7",
                              "coco:8", "coco:9"]
  assert list(images.splits) == ["train"] * 3 + ["test"] * 3  # restval->train
  assert images.tokens.shape == (6, PATCHES, HIDDEN)
  assert (images.lengths == PATCHES).all()
  np.testing.assert_allclose(images.tokens[1, 0, 0], 2.0)
  caps = fmt.open_dataset(out["captions"])
  assert len(caps) == 5 * 6  # image 2's sixth caption is dropped
  assert caps.column("text")[0] == "a photo of thing 1 number 0"
  assert all(t == t.lower() and "  " not in t for t in text.seen)
  assert list(caps.column("item_id")[:6]) == ["coco:1"] * 5 + ["coco:2"]
  data = token_pairs.from_datasets(images, caps)
  assert data.test.num_items == 3 and data.test.num_targets == 15
  assert data.test.positives().shape == (3, 5)
  # Perfect embeddings (each caption embeds as its image): R@1 = 1 both ways.
  img = np.eye(3, dtype=np.float32)
  txt = img[data.test.target_item]
  scores = align_scores.retrieval_scores(img, txt, data.test, prefixes=(3,))
  assert scores["i2t/recall@1"] == scores["t2i/recall@1"] == 1.0
  assert scores["chance_i2t_recall@1"] == pytest.approx(5 / 15)


def _clip_reference(path, images, captions):
  """CLIP run directly through transformers: (image tokens [n, p + 1, h],
  unit image embeddings [n, d], unit caption embeddings [m, d])."""
  # pylint: disable=g-import-not-at-top
  import torch
  from PIL import Image
  from transformers import AutoTokenizer, CLIPImageProcessor, CLIPModel
  model = CLIPModel.from_pretrained(path, local_files_only=True).eval()
  pixels = CLIPImageProcessor.from_pretrained(path)(
      images=[Image.fromarray(im) for im in images],
      return_tensors="pt")["pixel_values"]
  text = AutoTokenizer.from_pretrained(path)(captions, padding=True,
                                            return_tensors="pt")
  with torch.no_grad():
    vision = model.vision_model(pixel_values=pixels)
    tokens = vision.last_hidden_state
    img = model.visual_projection(vision.pooler_output)
    txt = model.text_projection(model.text_model(**text).pooler_output)
  unit = lambda t: (t / t.norm(dim=1, keepdim=True)).numpy()  # pylint: disable=unnecessary-lambda-assignment
  return tokens.numpy(), unit(img), unit(txt)


def test_extract_with_a_real_tiny_clip_matches_transformers(tmp_path):
  path = _metadata(tmp_path / "tfds")
  clip = embed_helpers.clip(tmp_path / "clip")
  rng = np.random.default_rng(0)  # Noise images: each image's tokens differ.
  examples = {s: [dict(ex, image=rng.integers(0, 256, ex["image"].shape,
                                              dtype=np.uint8)) for ex in e]
              for s, e in EXAMPLES.items()}
  with tfds.testing.mock_data(
      data_dir=str(path),
      as_data_source_fn=lambda builder, split, **kw: examples[split]):
    out = coco.extract(str(tmp_path / "tfds"), str(clip),
                       str(tmp_path / "out"), batch_size=4)
  images = tokens_lib.open_token_dataset(out["images"])
  caps = fmt.open_dataset(out["captions"])
  pooled = fmt.open_dataset(out["images_pooled"])
  order = [ex for s in ("train", "restval", "test") for ex in examples[s]]
  assert list(images.ids) == [f"coco:{ex['image/id']}" for ex in order]
  tokens, img, txt = _clip_reference(
      str(clip), [ex["image"] for ex in order], list(caps.column("text")))
  assert images.tokens.shape == tokens.shape == (6, 17, 24)  # (32/8)^2 + 1
  np.testing.assert_allclose(np.asarray(images.tokens, np.float32), tokens,
                             rtol=2e-3, atol=2e-3)   # stored as float16
  np.testing.assert_allclose(np.asarray(pooled.vectors), img, atol=1e-5)
  np.testing.assert_allclose(np.asarray(caps.vectors), txt, atol=1e-5)
  assert np.abs(tokens[0] - tokens[3]).max() > 0.1  # images do differ


def test_missing_prepared_dataset_says_how_to_build_it(tmp_path):
  with pytest.raises(FileNotFoundError, match="tfds build coco_captions"):
    coco.builder_dir(str(tmp_path))
