"""Train several alignment models as one vmapped program ("members").

Members share the model structure and the batch size; they may differ in seed
(initialisation and data order), peak learning rate and latent initialisation.
Their parameters and optimizer states are stacked along a leading member axis
and one `jax.jit(jax.vmap(step))` trains all of them; a cell's three seeds
(or a whole sweep group) therefore compile once and run as batched matmuls.

Data order: each member reads data stream `stream[m]`; a stream is the batch
sequence of one data seed (`PairBatches(seed)`), so members with the same seed
see the same batches whatever their learning rate or init (a paired design),
and different seeds see different orders.

Each member's step: symmetric InfoNCE summed over the Matryoshka prefixes
with its learnable temperature, AdamW (decay on kernels only) with global-norm
clipping, a warmup-cosine schedule scaled by the member's own peak learning
rate, the temperature clamp, and the diagnostics of `diagnostics.py`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any, Callable, Sequence

import flax
import flax.linen as nn
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from embtrans import losses
from embtrans import sharding
from embtrans.alignment import data as data_lib
from embtrans.alignment import diagnostics
from embtrans.alignment import model as model_lib
from embtrans.models import _attention


@flax.struct.dataclass
class Members:
  """Leaves of params / opt_state carry a leading [M] member axis."""
  step: jax.Array      # [] int32, shared
  params: Any
  opt_state: Any
  lr: jax.Array        # [M] peak learning rates
  stream: jax.Array    # [M] int32 data stream of each member


@dataclasses.dataclass(frozen=True)
class MemberSpec:
  """One member: its seed, peak lr and (possibly init-specific) model."""
  seed: int
  lr: float
  model: model_lib.DualEncoder


def _decay_mask(params: Any) -> Any:
  return jax.tree_util.tree_map_with_path(
      lambda path, _: getattr(path[-1], "key", None) == "kernel", params)


def create_optimizer(o: ml_collections.ConfigDict, num_steps: int
                     ) -> tuple[optax.GradientTransformation, optax.Schedule]:
  """AdamW whose schedule peaks at 1; the step multiplies by the member lr."""
  unit = optax.warmup_cosine_decay_schedule(
      0.0, 1.0, o.warmup_steps, max(num_steps, o.warmup_steps + 1),
      o.end_lr_fraction)
  chain = [optax.clip_by_global_norm(o.grad_clip)] if o.grad_clip else []
  chain += [optax.scale_by_adam(o.b1, o.b2),
            optax.add_decayed_weights(o.weight_decay, _decay_mask),
            optax.scale_by_schedule(lambda s: -unit(s))]
  return optax.chain(*chain), unit


@functools.cache
def _init_fn(model: model_lib.DualEncoder, token_dim: int, max_tokens: int,
             target_dim: int) -> Callable[[jax.Array], Any]:
  """Jitted `key -> params` per (model, shapes): compiled once per process."""
  dummy = (jnp.zeros((1, max_tokens, token_dim)), None,
           jnp.zeros((1, target_dim)))
  return jax.jit(lambda key: model.init(key, *dummy)["params"])


def init_members(specs: Sequence[MemberSpec], tx, streams: Sequence[int],
                 token_dim: int, max_tokens: int, target_dim: int,
                 mesh: jax.sharding.Mesh) -> Members:
  """Initialises every member (its own key and model) and stacks them."""
  params = [_init_fn(s.model, token_dim, max_tokens, target_dim)(
      jax.random.key(s.seed)) for s in specs]
  params = jax.tree.map(lambda *xs: jnp.stack(xs), *params)
  members = Members(
      step=jnp.zeros((), jnp.int32), params=params,
      opt_state=jax.vmap(tx.init)(params),
      lr=jnp.asarray([s.lr for s in specs], jnp.float32),
      stream=jnp.asarray(streams, jnp.int32))
  return jax.device_put(members, sharding.replicated(mesh))


def _member_loss(model: nn.Module, params, tokens, lengths, targets,
                 prefixes, weights):
  mask = _attention.key_mask(lengths, tokens.shape[1])
  (img, txt, scale), state = model.apply(
      {"params": params}, tokens, mask, targets, mutable=["intermediates"])
  temperature = 1.0 / scale
  loss = losses.matryoshka_infonce(img, txt, prefixes, temperature, weights)
  aux = {"loss_full": losses.infonce(img, txt, temperature),
         "temperature": temperature,
         **diagnostics.sown(state.get("intermediates", {}))}
  return loss, aux


def make_train_step(model: nn.Module, tx, prefixes: Sequence[int],
                    weights: Sequence[float] | None, max_logit_scale: float,
                    mesh: jax.sharding.Mesh):
  """Returns `step(members, tokens, lengths, targets) -> (members, metrics)`.

  tokens: [S, B, T, d], lengths: [S, B], targets: [S, B, d_t] for S data
  streams, sharded along B; metrics: {name: [M]}. `members` is donated.
  """
  prefixes = tuple(int(p) for p in prefixes)
  weights = None if weights is None else tuple(float(w) for w in weights)

  def member_step(params, opt_state, lr, stream, tokens, lengths, targets):
    batch = (tokens[stream], lengths[stream], targets[stream])
    grad_fn = jax.value_and_grad(
        lambda p: _member_loss(model, p, *batch, prefixes, weights),
        has_aux=True)
    (loss, aux), grads = grad_fn(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    updates = jax.tree.map(lambda u: lr * u, updates)
    params = model_lib.clamp_log_scale(
        optax.apply_updates(params, updates), max_logit_scale)
    metrics = {"loss": loss, **aux, **diagnostics.grad_norms(grads),
               **diagnostics.latent_cosine(params)}
    return params, opt_state, metrics

  repl, batch = sharding.replicated(mesh), stream_sharding(mesh)

  @functools.partial(jax.jit, donate_argnums=(0,),
                     in_shardings=(repl, batch, batch, batch),
                     out_shardings=(repl, repl))
  def step(members: Members, tokens, lengths, targets):
    params, opt_state, metrics = jax.vmap(
        member_step, in_axes=(0, 0, 0, 0, None, None, None))(
            members.params, members.opt_state, members.lr, members.stream,
            tokens, lengths, targets)
    return members.replace(step=members.step + 1, params=params,
                           opt_state=opt_state), metrics

  return step


def stream_sharding(mesh: jax.sharding.Mesh) -> jax.sharding.NamedSharding:
  """[S, B, ...] stream batches: B split over 'data'."""
  return jax.sharding.NamedSharding(
      mesh, jax.sharding.PartitionSpec(None, sharding.DATA_AXIS))


def put_stream_batch(batch: np.ndarray, spec: jax.sharding.NamedSharding
                     ) -> jax.Array:
  """Host [S, B, ...] (same on every process) -> global array, B sharded.

  Each process contributes only its own slice of B, as
  `sharding.put_global_batch` does for [B, ...].
  """
  procs, pid = jax.process_count(), jax.process_index()
  per_proc = batch.shape[1] // procs
  local = batch[:, pid * per_proc:(pid + 1) * per_proc]
  return jax.make_array_from_process_local_data(spec, local, batch.shape)


class StreamBatches:
  """Host batches of S data streams stacked: [S, B, ...] numpy arrays."""

  def __init__(self, split: data_lib.TokenSplit, batch_size: int,
               seeds: Sequence[int]):
    self.streams = [data_lib.PairBatches(split, batch_size, s) for s in seeds]

  def batch(self, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    parts = [s.batch(step) for s in self.streams]
    return tuple(np.stack(x) for x in zip(*parts))


def ln_batch(batch_size: int) -> float:
  """Symmetric InfoNCE at chance: ln(batch)."""
  return math.log(batch_size)


def make_embed_fns(model: model_lib.DualEncoder, mesh: jax.sharding.Mesh
                   ) -> tuple[Callable, Callable]:
  """Jitted, member-vmapped `image(params, tokens, lengths)`, `text(params, y)`."""
  data, out = sharding.data_sharding(mesh), stream_sharding(mesh)

  def image(params, tokens, lengths):
    mask = _attention.key_mask(lengths, tokens.shape[1])
    return model.apply({"params": params}, tokens, mask,
                       method=model_lib.DualEncoder.embed_image)

  def text(params, targets):
    return model.apply({"params": params}, targets,
                       method=model_lib.DualEncoder.embed_text)

  repl = sharding.replicated(mesh)
  image_fn = jax.jit(jax.vmap(image, in_axes=(0, None, None)),
                     in_shardings=(repl, data, data), out_shardings=out)
  text_fn = jax.jit(jax.vmap(text, in_axes=(0, None)),
                    in_shardings=(repl, data), out_shardings=out)
  return image_fn, text_fn


def embed_split(members: Members, split: data_lib.TokenSplit, embed_fns,
                batch_size: int, mesh: jax.sharding.Mesh
                ) -> tuple[np.ndarray, np.ndarray]:
  """-> image [M, n_items, D], text [M, n_targets, D] (float32, numpy).

  Rows are padded to a multiple of `batch_size`, so any n compiles once.
  """
  sharding.check_batch_size(batch_size, mesh)
  data = sharding.data_sharding(mesh)
  image_fn, text_fn = embed_fns

  def chunks(n, fetch, fn):
    outs = []
    for start in range(0, n, batch_size):
      idx = np.arange(start, min(start + batch_size, n))
      padded = np.concatenate([idx, np.full(batch_size - len(idx), idx[0])])
      args = [sharding.put_global_batch(a, data) for a in fetch(padded)]
      outs.append((fn(members.params, *args), len(idx)))
    return np.concatenate([np.asarray(jax.device_get(o))[:, :k]
                           for o, k in outs], axis=1)

  image = chunks(split.num_items, split.item_tokens, image_fn)
  text = chunks(split.num_targets, lambda i: (np.asarray(
      split.targets[i], np.float32),), text_fn)
  return image, text
