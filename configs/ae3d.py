"""A space in 3-D (issue 13): autoencoders against PCA and UMAP.

One cell (three seeds as one vmapped program) through the normal entry:
  python -m embtrans.main --config=configs/ae3d.py:train=a,loss=mse \
      --workdir=W
  python -m embtrans.main --config=configs/ae3d.py:method=umap3 --workdir=W

The settings are chosen on the validation split, then the final sweep
scores on the test split with the chosen ones:
  python -m embtrans.sweep --config=configs/ae3d.py:stage=select --workdir=S
  python -m embtrans.report S --out=R          # R/choices.json, val table
  python -m embtrans.sweep --config=configs/ae3d.py:choices=R/choices.json \
      --workdir=W
  python -m embtrans.report W --out=R

Args (`:k=v,...`):
  data      e5         E5 'query: ' summaries (A) vs 'passage: ' bodies (B)
            minilm2e5  MiniLM body vectors mapped into E5's space by lstsq
                       fitted on the train pairs (A) vs E5 passage vectors
                       of the same bodies (B)
            lexical    tfidf_lsa (16-d) summaries vs bodies: tests, smoke
  train     a | b | both: the rows the method is fitted on
  method    ae | pca50_ae | pca3 | umap3 | pca50_umap3
  loss      recon | mse | correlation | rank | pairs (reconstruction plus
            that term, weighted by `lam`; pairs: train=both only)
  lam, lr, steps, seed, seeds, eval (val | test), variant, fit_sample
            (UMAP's fitting sample), tiny (a few hundred texts and steps)
  stage     select | final, choices (a choices.json): the sweep's cells;
            losses, methods ('+'-separated): the final sweep's subset
"""

import json

import ml_collections

from embtrans import config_lib

LOSSES = ("recon", "mse", "rank", "pairs")
AE_METHODS = ("ae", "pca50_ae")
BASELINES = ("pca3", "umap3", "pca50_umap3")
TRAINS = ("a", "b", "both")
SELECT_LAMS = (0.3, 3.0)
SELECT_METHODS = ("ae",)  # the chosen lam serves both AE methods
SEEDS = 3

_DATA = {
    "e5": dict(kind="two_kinds", encoder_a="e5_small",
               kwargs_a={"mode": "query"}, encoder_b="e5_small",
               kwargs_b={"mode": "passage"}),
    "minilm2e5": dict(kind="translated", encoder_a="minilm", kwargs_a={},
                      encoder_b="e5_small", kwargs_b={"mode": "passage"}),
    "lexical": dict(kind="two_kinds", encoder_a="tfidf_lsa",
                    kwargs_a={"dim": 16}, encoder_b="tfidf_lsa",
                    kwargs_b={"dim": 16}),
}


def _arg(arg):
  return config_lib.parse_arg(
      arg, data="e5", train="both", method="ae", loss="recon", lam=1.0,
      lr=3e-3, steps=0, seed=0, seeds=SEEDS, eval="test", variant="small",
      fit_sample=1000, tiny=False, stage="final", choices="", limit=0,
      losses="+".join(LOSSES), methods="+".join(AE_METHODS + BASELINES))


def _loss(a) -> dict:
  if a.loss not in ("recon", "mse", "correlation", "rank", "pairs"):
    raise ValueError(f"loss={a.loss!r}; choose recon, mse, correlation, rank"
                     " or pairs.")
  sim = a.loss not in ("recon", "pairs")
  return dict(similarity_weight=a.lam if sim else 0.0,
              form=a.loss if sim else "mse", code_metric="cosine",
              temperature=0.1, pair_weight=a.lam if a.loss == "pairs" else 0.0)


def _model(a) -> dict:
  if a.method in BASELINES:
    return dict(name=a.method)
  if a.method not in AE_METHODS:
    raise ValueError(f"method={a.method!r}; choose one of "
                     f"{AE_METHODS + BASELINES}.")
  return dict(name="autoencoder", variant="tiny" if a.tiny else a.variant,
              code_dim=3, activation="gelu",
              pca_dim=50 if a.method == "pca50_ae" else 0)


def get_config(arg=None):
  a = _arg(arg)
  if a.data not in _DATA:
    raise ValueError(f"data={a.data!r}; choose one of {sorted(_DATA)}.")
  c = ml_collections.ConfigDict()
  c.task = "autoencode"
  c.seed, c.num_seeds = a.seed, a.seeds
  c.data = dict(_DATA[a.data], source="pydocs", limit=a.limit,
                cache_dir="", train=a.train, eval_split=a.eval)
  c.model = _model(a)
  c.loss = _loss(a)
  steps = a.steps or (30 if a.tiny else 400)
  c.optimizer = dict(learning_rate=a.lr, weight_decay=1e-4, b1=0.9,
                     b2=0.999, warmup_steps=max(1, steps // 20),
                     end_lr_fraction=0.01, grad_clip=1.0)
  c.batch_size = 32 if a.tiny else 128
  c.pair_batch_size = 16 if a.tiny else 64
  c.num_train_steps = steps
  c.log_every = max(1, steps // 30)
  c.checkpoint_every = 0
  c.max_checkpoints = 1
  c.num_devices = 1
  c.baseline_fit_sample = a.fit_sample
  c.baselines = ()
  c.save_predictions = True
  if a.tiny:
    c.data.limit = a.limit or 400
  return c


def _choices(path: str) -> dict:
  """{'<loss>': {'lam': ..}} from a choices.json."""
  if not path:
    return {}
  with open(path, encoding="utf-8") as f:
    return json.load(f)["choices"]


def sweep(add, arg=None):
  """stage=select: each lam of SELECT_LAMS for each loss term, the AE fitted
  on both, one seed, scored on val. stage=final: every (train, loss, method)
  cell at the chosen lam, `seeds` seeds, scored on test; the baselines one
  cell per seed. The lr (3e-3) and steps (400) are fixed, not chosen (the
  CPU budget)."""
  a = _arg(arg)
  losses = [l for l in LOSSES if l in a.losses.split("+")]
  methods = a.methods.split("+")
  if a.tiny:
    losses = [l for l in losses if l in ("recon", "pairs")]
  if a.stage == "select":
    for method in SELECT_METHODS:
      for loss in losses:
        for lam in (SELECT_LAMS if loss != "recon" else ()):
          add(method=method, loss=loss, lam=lam, eval="val", seeds=1,
              train="both")
    return
  if a.stage != "final":
    raise ValueError(f"stage={a.stage!r}; choose select or final.")
  chosen = _choices(a.choices)
  for method in (m for m in AE_METHODS if m in methods):
    for loss in losses:
      pick = chosen.get(loss, {})
      for train in TRAINS:
        if (loss == "pairs" or a.tiny and method != "ae") and train != "both":
          continue
        add(train=train, method=method, loss=loss,
            lam=pick.get("lam", a.lam) if loss != "recon" else 0.0)
  for method in (m for m in BASELINES if m in methods
                 and (not a.tiny or m == "pca3")):
    for train in TRAINS:
      for seed in range(a.seeds):
        add(train=train, method=method, seed=seed, seeds=1)


def cell_name(factors):
  """e.g. 'train=a-method=ae-loss=mse-lam=3', 'train=a-method=pca3-
  seed=0' (the seeds factor, always 1 for a baseline cell, is left out)."""
  def fmt(v):
    return f"{v:g}" if isinstance(v, float) else str(v)
  return "-".join(f"{k}={fmt(v)}" for k, v in factors.items() if k != "seeds")
