"""Train state stacked over M members, and the step that trains them all.

A member is one model being trained: its params, optimizer state and peak
learning rate. Members of one program share the model structure, the batch
size, the step count and the loss; they may differ in seed (initialisation
and data order), learning rate, initialiser and data. Their states are
stacked along a leading [M] axis and ONE compiled program runs every member:

  step_fn = member_step(loss_fn, tx)          # one member, one batch
  run = chunk_fn(step_fn, feed, mesh)          # vmap over M, scan over steps
  members, metrics = run(members, feed.resident, feed.inputs(start, steps))

A single run is a program of one member (M = 1).
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Sequence

import flax
import jax
import jax.numpy as jnp
import optax

from embtrans import sharding

# loss_fn(params, batch) -> (scalar loss, {name: scalar} diagnostics).
LossFn = Callable[[Any, Any], tuple[jax.Array, dict[str, jax.Array]]]
# post_update(params) -> params, after each optimizer update (e.g. clamps).
PostUpdate = Callable[[Any], Any]
# diagnose(grads, params) -> {name: scalar}, logged with the loss.
Diagnose = Callable[[Any, Any], dict[str, jax.Array]]


@flax.struct.dataclass
class Members:
  """Leaves of `params` / `opt_state` carry a leading [M] member axis."""

  step: jax.Array      # [] int32, shared by the members
  params: Any
  opt_state: Any
  lr: jax.Array        # [M] float32 peak learning rate of each member

  @property
  def size(self) -> int:
    return int(self.lr.shape[0])


def init(init_fns: Sequence[Callable[[jax.Array], Any]],
         seeds: Sequence[int], lrs: Sequence[float],
         tx: optax.GradientTransformation, mesh: jax.sharding.Mesh
         ) -> Members:
  """Stacks `init_fns[i](key(seeds[i]))` into Members, replicated on `mesh`.

  Each init_fn should be jitted and reused across calls (one compile per
  model and shape): a vmapped init compiles several times slower on CPU.
  """
  if not len(init_fns) == len(seeds) == len(lrs):
    raise ValueError("init: one init_fn, seed and lr per member.")
  params = [fn(jax.random.key(int(s))) for fn, s in zip(init_fns, seeds)]
  return _finish(tx, mesh)(jax.tree.map(lambda *x: jnp.stack(x), *params),
                           jnp.asarray(lrs, jnp.float32))


@functools.lru_cache(maxsize=64)
def _finish(tx, mesh):
  def finish(params, lr):
    return Members(jnp.zeros((), jnp.int32), params, jax.vmap(tx.init)(params),
                   lr)
  return jax.jit(finish, donate_argnums=(0,),
                 out_shardings=sharding.replicated(mesh))


def member_step(loss_fn: LossFn, tx: optax.GradientTransformation,
                post_update: PostUpdate | None = None,
                diagnose: Diagnose | None = None):
  """-> `step(params, opt_state, lr [], batch) -> (params, opt_state, metrics)`.

  One member, one batch; `metrics` = {'loss', **aux}. Not jitted: `chunk_fn`
  vmaps and scans it.
  """
  def step(params, opt_state, lr, batch):
    (loss, aux), grads = jax.value_and_grad(loss_fn, has_aux=True)(
        params, batch)
    updates, opt_state = tx.update(grads, opt_state, params)
    updates = jax.tree.map(lambda u: lr * u, updates)
    params = optax.apply_updates(params, updates)
    if post_update is not None:
      params = post_update(params)
    if diagnose is not None:
      aux = {**aux, **diagnose(grads, params)}
    return params, opt_state, {"loss": loss, **aux}
  return step


def chunk_fn(step, feed, mesh: jax.sharding.Mesh):
  """-> jitted `run(members, resident, inputs) -> (members, metrics)`.

  Args of `run`:
    members: Members [M] (donated).
    resident: `feed.resident` (device-resident data, or None).
    inputs: `feed.inputs(start, steps)`: leaves [steps, ...].
  Returns metrics {name: [steps, M]}. Compiled once per (M, steps, shapes).

  M = 1 runs the step on the unstacked state: a vmap over one member turns
  every matmul into a batched one, which XLA:CPU runs ~1.5x slower.
  """
  def run(members: Members, resident, inputs):
    single = members.lr.shape[0] == 1
    unstack = (lambda t: jax.tree.map(lambda a: a[0], t)) if single else (
        lambda t: t)
    mapped = step if single else jax.vmap(step)

    def body(carry, inputs_t):
      params, opt_state = carry
      batch = feed.select(resident, inputs_t, single)
      params, opt_state, metrics = mapped(params, opt_state,
                                          unstack(members.lr), batch)
      return (params, opt_state), metrics

    (params, opt_state), metrics = jax.lax.scan(
        body, (unstack(members.params), unstack(members.opt_state)), inputs)
    if single:
      params, opt_state = jax.tree.map(lambda a: a[None], (params, opt_state))
      metrics = jax.tree.map(lambda a: a[:, None], metrics)
    steps = jax.tree.leaves(inputs)[0].shape[0]
    return members.replace(step=members.step + steps, params=params,
                           opt_state=opt_state), metrics

  repl = sharding.replicated(mesh)
  return jax.jit(run, donate_argnums=(0,),
                 in_shardings=(repl, repl, feed.inputs_sharding),
                 out_shardings=(repl, repl))
