"""Encoder adapters: tiny local transformers models, MiniLM, precomputed."""

import json
import shutil

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from embtrans import encoders
from embtrans.data import format as fmt
from embtrans.encoders import hf
from tests import embed_helpers

TEXTS = ["Return the absolute value of a number.",
         "Open a network socket.",
         "Parse a JSON document into Python objects, keeping key order.",
         "x"]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
  root = tmp_path_factory.mktemp("models")
  return {"bert": embed_helpers.bert(root / "bert"),
          "t5": embed_helpers.t5(root / "t5"),
          "clip": embed_helpers.clip(root / "clip")}


def _unit(x):
  return x / np.linalg.norm(x, axis=-1, keepdims=True)


def _hidden_alone(model, tokenizer, text):
  """Last hidden states of one text, no padding: [tokens, dim]."""
  import torch  # pylint: disable=g-import-not-at-top
  batch = tokenizer([text], return_tensors="pt")
  with torch.no_grad():
    out = model(input_ids=batch["input_ids"],
                attention_mask=batch["attention_mask"])
  return out.last_hidden_state[0].numpy()


@pytest.mark.parametrize("pooling, reduce", [
    ("mean", lambda h: h.mean(0)), ("cls", lambda h: h[0]),
    ("last", lambda h: h[-1])])
def test_hf_pooling_equals_each_text_encoded_alone(models, pooling, reduce):
  from transformers import AutoTokenizer, BertModel  # pylint: disable=g-import-not-at-top
  enc = encoders.get_encoder("hf", path=str(models["bert"]), pooling=pooling,
                             batch_size=3)
  got = enc.encode(TEXTS)  # Batched, padded, sorted by length inside.
  model = BertModel.from_pretrained(models["bert"]).eval()
  tok = AutoTokenizer.from_pretrained(models["bert"])
  ref = _unit(np.stack([reduce(_hidden_alone(model, tok, t)) for t in TEXTS]))
  assert got.shape == (4, 32) and got.dtype == np.float32
  np.testing.assert_allclose(got, ref, atol=2e-5)


@pytest.mark.parametrize("left", [False, True])
def test_pool_against_numpy_with_right_or_left_padding(left):
  import torch  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  hidden = rng.standard_normal((3, 5, 4)).astype(np.float32)
  lengths = [5, 2, 3]
  mask = np.zeros((3, 5), np.int64)
  for i, n in enumerate(lengths):
    if left:
      mask[i, 5 - n:] = 1
    else:
      mask[i, :n] = 1
  h, m = torch.from_numpy(hidden), torch.from_numpy(mask)
  mean = hf.pool(h, m, "mean").numpy()
  last = hf.pool(h, m, "last").numpy()
  for i, n in enumerate(lengths):
    rows = hidden[i, 5 - n:] if left else hidden[i, :n]
    np.testing.assert_allclose(mean[i], rows.mean(0), rtol=1e-6)
    np.testing.assert_array_equal(last[i], rows[-1])
  np.testing.assert_array_equal(hf.pool(h, m, "cls").numpy(), hidden[:, 0])


def test_t5_encoder_mean_pools_the_encoder_stack(models):
  from transformers import AutoTokenizer, T5EncoderModel  # pylint: disable=g-import-not-at-top
  enc = encoders.get_encoder("t5", path=str(models["t5"]), normalize=False)
  model = T5EncoderModel.from_pretrained(models["t5"]).eval()
  tok = AutoTokenizer.from_pretrained(models["t5"])
  ref = np.stack([_hidden_alone(model, tok, t).mean(0) for t in TEXTS])
  np.testing.assert_allclose(enc.encode(TEXTS), ref, atol=2e-5)
  assert enc.dim == 32 and not enc.normalized
  with pytest.raises(ValueError, match="not a T5 one"):
    encoders.get_encoder("t5", path=str(models["bert"]))


def test_clip_text_and_vision_towers(models, tmp_path):
  import torch  # pylint: disable=g-import-not-at-top
  from PIL import Image  # pylint: disable=g-import-not-at-top
  from transformers import AutoTokenizer, CLIPModel  # pylint: disable=g-import-not-at-top
  path = models["clip"]
  clip = CLIPModel.from_pretrained(path).eval()
  text = encoders.get_encoder("clip_text", path=str(path))
  batch = AutoTokenizer.from_pretrained(path)(TEXTS, padding=True,
                                             return_tensors="pt")
  with torch.no_grad():
    ref_t = clip.get_text_features(**batch)
  ref_t = getattr(ref_t, "pooler_output", ref_t).numpy()
  np.testing.assert_allclose(text.encode(TEXTS), _unit(ref_t), atol=2e-5)

  from embtrans.encoders.clip import ClipVisionEncoder  # pylint: disable=g-import-not-at-top
  vision = ClipVisionEncoder(str(path), batch_size=2)
  images = np.random.default_rng(0).integers(0, 256, (3, 40, 36, 3),
                                             dtype=np.uint8)
  pooled, tokens = vision.encode_images(images, return_tokens=True)
  assert pooled.shape == (3, 16) and pooled.dtype == np.float32
  assert tokens.shape == (3, (32 // 8) ** 2 + 1, 24)
  assert tokens.dtype == np.float32
  pixels = vision.processor(images=[Image.fromarray(i) for i in images],
                            return_tensors="pt")["pixel_values"]
  with torch.no_grad():
    out = clip.vision_model(pixel_values=pixels)
    ref_v = clip.visual_projection(out.pooler_output).numpy()
  np.testing.assert_allclose(pooled, _unit(ref_v), atol=2e-5)
  np.testing.assert_allclose(tokens, out.last_hidden_state.numpy(), atol=2e-5)
  files = []
  for i, im in enumerate(images):
    files.append(str(tmp_path / f"{i}.png"))
    Image.fromarray(im).save(files[-1])
  np.testing.assert_allclose(vision.encode(files), pooled, atol=1e-6)
  np.testing.assert_array_equal(vision.encode_images(images), pooled)


def test_sentence_transformer_from_a_local_path(models, tmp_path):
  from sentence_transformers import SentenceTransformer, models as st  # pylint: disable=g-import-not-at-top
  word = st.Transformer(str(models["bert"]))
  pooling = st.Pooling(word.get_embedding_dimension(), "mean")
  SentenceTransformer(modules=[word, pooling, st.Normalize()]).save(
      str(tmp_path / "st"), safe_serialization=True)
  enc = encoders.get_encoder("sentence_transformer", path=str(tmp_path / "st"))
  ref = encoders.get_encoder("hf", path=str(models["bert"]), pooling="mean")
  assert enc.normalized and enc.dim == 32
  np.testing.assert_allclose(enc.encode(TEXTS), ref.encode(TEXTS), atol=2e-5)


@pytest.fixture(scope="module")
def minilm_st():
  return encoders.get_encoder("minilm")


def test_minilm_through_the_hf_adapter_is_real(minilm_st):
  enc = encoders.get_encoder("hf", path=minilm_st.path, pooling="mean",
                             max_length=128)
  v = enc.encode(TEXTS[:3] + ["Compute the absolute value of the argument."])
  assert v.shape == (4, 384)
  # Two implementations (sentence-transformers, our pooling) agree.
  np.testing.assert_allclose(v, minilm_st.encode(
      TEXTS[:3] + ["Compute the absolute value of the argument."]), atol=1e-5)
  sims = v @ v.T
  assert sims[0, 3] > 0.6 > max(sims[0, 1], sims[0, 2])


def test_identity_covers_weights_pooling_and_max_length(models, tmp_path):
  path = str(models["bert"])
  base = encoders.encoder_identity("hf", path=path)
  assert base == encoders.encoder_identity("hf", path=path, batch_size=7,
                                           device="cpu")
  for change in ({"pooling": "cls"}, {"max_length": 64},
                 {"normalize": False}):
    assert encoders.encoder_identity("hf", path=path, **change) != base
  copy = shutil.copytree(path, tmp_path / "copy")
  assert encoders.encoder_identity("hf", path=str(copy)) == base
  weights = copy / "model.safetensors"
  data = bytearray(weights.read_bytes())
  data[-1] ^= 1
  weights.write_bytes(bytes(data))
  assert encoders.encoder_identity("hf", path=str(copy)) != base


def test_bad_model_paths_and_arguments(models, tmp_path):
  with pytest.raises(FileNotFoundError, match="does not exist"):
    encoders.get_encoder("hf", path=str(tmp_path / "nope"))
  pickled = tmp_path / "pickled"
  pickled.mkdir()
  shutil.copy(models["bert"] / "config.json", pickled)
  (pickled / "pytorch_model.bin").write_bytes(b"not loaded")
  with pytest.raises(ValueError, match="pickle"):
    encoders.encoder_identity("hf", path=str(pickled))
  with pytest.raises(ValueError, match="pooling must be one of"):
    encoders.get_encoder("hf", path=str(models["bert"]), pooling="max")
  with pytest.raises(ValueError, match="it takes .*'pooling'"):
    encoders.get_encoder("hf", path=str(models["bert"]), poolin="cls")
  with pytest.raises(ValueError, match="Known encoders: .*clip_vision.*t5"):
    encoders.get_encoder("gpt-9")
  with pytest.raises(FileNotFoundError, match="modules.json"):
    encoders.get_encoder("sentence_transformer", path=str(models["bert"]))


def _export(tmp_path, kind, ids, vectors):
  """Writes `vectors` in an export format; returns encoder kwargs."""
  if kind == "npy+txt":
    np.save(tmp_path / "v.npy", vectors)
    (tmp_path / "ids.txt").write_text("\n".join(ids) + "\n")
    return {"path": str(tmp_path / "v.npy"), "ids": str(tmp_path / "ids.txt")}
  if kind == "npy+npy":
    np.save(tmp_path / "v.npy", vectors)
    np.save(tmp_path / "ids.npy", np.array(ids))
    return {"path": str(tmp_path / "v.npy"), "ids": str(tmp_path / "ids.npy")}
  if kind == "parquet":
    pq.write_table(pa.table({"id": ids, "embedding": [list(map(float, v))
                                                      for v in vectors]}),
                   tmp_path / "v.parquet", row_group_size=3)
    return {"path": str(tmp_path / "v.parquet")}
  lines = [json.dumps({"id": i, "embedding": [float(x) for x in v]})
           for i, v in zip(ids, vectors)]
  (tmp_path / "v.jsonl").write_text("\n".join(lines) + "\n")
  return {"path": str(tmp_path / "v.jsonl")}


@pytest.mark.parametrize("kind", ["npy+txt", "npy+npy", "parquet", "jsonl"])
def test_precomputed_formats_round_trip(tmp_path, kind):
  rng = np.random.default_rng(1)
  ids = [f"doc-{i}" for i in range(8)]
  vectors = rng.standard_normal((8, 5)).astype(np.float32)
  enc = encoders.get_encoder("precomputed", **_export(tmp_path, kind, ids,
                                                      vectors))
  assert enc.dim == 5
  chunks = list(enc.iter_batches(3))
  assert [len(c[0]) for c in chunks] == [3, 3, 2]
  assert sum((c[0] for c in chunks), []) == ids
  np.testing.assert_array_equal(np.concatenate([c[1] for c in chunks]),
                                vectors)
  tail = list(enc.iter_batches(3, start=5))  # Resuming skips committed rows.
  assert sum((c[0] for c in tail), []) == ids[5:]
  with pytest.raises(TypeError, match="imported by id"):
    enc.encode(["text"])


@pytest.mark.parametrize("kind", ["npy+txt", "parquet", "jsonl"])
def test_precomputed_rejects_nan_naming_the_id(tmp_path, kind):
  vectors = np.ones((4, 3), np.float32)
  vectors[2, 1] = np.nan
  enc = encoders.get_encoder("precomputed", **_export(
      tmp_path, kind, ["a", "b", "c", "d"], vectors))
  with pytest.raises(fmt.DatasetError, match="row 2 \\(id 'c'\\).*NaN"):
    list(enc.iter_batches(10))


def test_precomputed_bad_files(tmp_path):
  kw = _export(tmp_path, "npy+txt", ["a", "b"], np.ones((2, 3)))
  with pytest.raises(fmt.DatasetError, match="holds 3-d vectors.*dim=4"):
    encoders.get_encoder("precomputed", dim=4, **kw)
  with pytest.raises(ValueError, match="needs ids="):
    encoders.get_encoder("precomputed", path=kw["path"])
  (tmp_path / "ids.txt").write_text("a\nb\nc\n")
  with pytest.raises(fmt.DatasetError, match="3 ids for 2 vectors"):
    encoders.get_encoder("precomputed", **kw)
  np.save(tmp_path / "obj.npy", np.array([{"x": 1}], dtype=object),
          allow_pickle=True)
  with pytest.raises(fmt.DatasetError, match="no pickled objects"):
    encoders.get_encoder("precomputed", path=str(tmp_path / "obj.npy"),
                         ids=str(tmp_path / "ids.txt"))
  (tmp_path / "ragged.jsonl").write_text(
      '{"id": "a", "embedding": [1, 2]}\n{"id": "b", "embedding": [1]}\n')
  enc = encoders.get_encoder("precomputed", path=str(tmp_path / "ragged.jsonl"))
  with pytest.raises(fmt.DatasetError, match="different lengths"):
    list(enc.iter_batches(10))
  pq.write_table(pa.table({"id": ["a", "b"], "embedding": [[1.0, 2.0], [3.0]]}),
                 tmp_path / "ragged.parquet")
  enc = encoders.get_encoder("precomputed",
                             path=str(tmp_path / "ragged.parquet"))
  with pytest.raises(fmt.DatasetError, match="row 1 has 1 values"):
    list(enc.iter_batches(10))
  with pytest.raises(FileNotFoundError, match="does not exist"):
    encoders.encoder_identity("precomputed", path=str(tmp_path / "x.parquet"))
