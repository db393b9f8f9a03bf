"""The README.md model card of an exported translator, from its config."""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

_METRICS = ("recall@1", "recall@10", "mrr", "mse", "cosine", "r2")


def _side(side: Mapping[str, Any]) -> str:
  mode = ", ".join(f"{k}={v}" for k, v in sorted(
      (side.get("model_config") or {}).items()))
  return (f"`{side.get('model')}`" + (f" ({mode})" if mode else "") +
          f", {side['dim']}-d, dataset `{side['dataset']}`, model "
          f"fingerprint `{side.get('model_fingerprint')}`, dataset "
          f"fingerprint `{side.get('dataset_fingerprint')}`, "
          + ("unit-normalised" if side.get("normalized") else
             "not normalised"))


def _arch(arch: Mapping[str, Any]) -> str:
  if arch["name"] == "affine":
    return f"closed-form `{arch['fit']}` fit (stored as an affine map)"
  rest = ", ".join(f"{k}={v}" for k, v in sorted(arch.items())
                   if k not in ("name", "out_dim"))
  return f"`{arch['name']}`" + (f" ({rest})" if rest else "")


def model_card(config: Mapping[str, Any],
               flat: Mapping[str, np.ndarray]) -> str:
  """Markdown: what it maps, how it was trained, its test metrics, usage."""
  src, tgt, tr = config["source"], config["target"], config["training"]
  params = int(sum(np.size(v) for v in flat.values()))
  lines = [
      f"# Translator {src.get('model')} -> {tgt.get('model')}", "",
      f"Maps {src['dim']}-d `{src.get('model')}` vectors into the "
      f"{tgt['dim']}-d space of `{tgt.get('model')}`: a {_arch(config['arch'])}"
      f" with {params:,} parameters, fitted on {config['num_train_pairs']:,} "
      f"paired texts of `{tr['text_source']}`.", "",
      f"- source: {_side(src)}", f"- target: {_side(tgt)}",
      "- training: " + (
          "a closed-form fit on every training pair" if
          config["arch"]["name"] == "affine" else
          f"loss {tr['loss']}, {tr['num_train_steps']} steps at batch "
          f"{tr['batch_size']}, peak lr {tr['learning_rate']}, seed "
          f"{tr['seed']}"), ""]
  metrics = config.get("metrics") or {}
  shown = [(k, metrics[f"test/{k}"]) for k in _METRICS
           if f"test/{k}" in metrics]
  if shown:
    split = (config.get("dataset") or {}).get("split", "unknown")
    lines += [f"Metrics on the {config['num_test_pairs']:,} held-out "
              f"('test') pairs of its training data (split: {split}); "
              "recall: translated row i retrieves target row i among all "
              "held-out targets:", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v:.4f} |" for k, v in shown] + [""]
  else:
    lines += ["No test metrics were recorded with this translator.", ""]
  lines += ["Use:", "", "```",
            "python -m embtrans.translate apply --translator=DIR "
            "--input=vectors.npy --output=out.npy",
            "python -m embtrans.translate apply --translator=DIR --db=CHROMA "
            "--collection=NAME", "```", "",
            "Inputs are checked against `config.json`: the dim always, the "
            "source model fingerprint wherever the input records one.", ""]
  return "\n".join(lines)
