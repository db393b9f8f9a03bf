"""Build an embedding dataset: a text source x an encoder, or an import.

  python -m embtrans.embed --config=configs/embed/minilm_pydocs.py
  python -m embtrans.embed --config=configs/embed/files.py:\
path=notes.jsonl,text_column=body,id_column=note_id,encoder=minilm+tfidf_lsa
  python -m embtrans.embed --config=configs/embed/t5_hotpotqa.py:\
data_files=/data/hotpot_dev.jsonl,model_path=/models/t5-small
  python -m embtrans.embed --config=configs/embed/precomputed.py:\
path=openai.parquet,model=openai/text-embedding-3-small

The dataset lands in the cache ($EMBTRANS_CACHE, default ~/.cache/embtrans)
under a name made from its fingerprint, or in --output. A second run with the
same source, model, pooling and max length opens it without loading the
model; a killed run continues from its last committed shard. Open the result
with `embtrans.data.load(<printed path or name>)`. A config with `more`
(files.py's `encoder=a+b`) builds one dataset per encoder, over the same rows.

Several processes build one dataset together under jax.distributed (e.g.
`launch/local_multiprocess.sh 2 embtrans.embed --config=...`, or the TPU VM /
SLURM launchers): each encodes a contiguous block of the rows into its own
part, and process 0 writes the dataset and its manifest.
"""

from __future__ import annotations

from embtrans import cli  # Offline defaults first. pylint: disable=g-bad-import-order

from absl import app
from absl import flags
import ml_collections
from ml_collections import config_flags

config_flags.DEFINE_config_file("config", None, "Config file, e.g. "
                                "configs/embed/minilm_pydocs.py[:arg].",
                                lock_config=True)
_OUTPUT = flags.DEFINE_string("output", None, "Build into this directory "
                              "instead of the cache (overrides config.output).")
_CACHE_DIR = flags.DEFINE_string("cache_dir", None, "Cache root (overrides "
                                 "config.cache_dir and $EMBTRANS_CACHE).")
_OVERWRITE = flags.DEFINE_bool("overwrite", False, "Replace a different "
                               "(or unreadable) dataset already at --output.")
_REBUILD = flags.DEFINE_bool("rebuild", False, "Build again from scratch even "
                             "if the dataset is complete: replaces a corrupt "
                             "one (only once the new one is complete).")
flags.mark_flags_as_required(["config"])


def builds(config: ml_collections.ConfigDict
           ) -> list[ml_collections.ConfigDict]:
  """`config`, then one copy per entry of `config.more` (name, encoder,
  kwargs): the datasets one command builds."""
  out = [config]
  for extra in config.get("more") or ():
    c = ml_collections.ConfigDict(config.to_dict())
    c.name, c.encoder.name = extra["name"], extra["encoder"]
    c.encoder.kwargs = ml_collections.ConfigDict(dict(extra["kwargs"]))
    out.append(c)
  return out


def check(configs: list[ml_collections.ConfigDict], output: str | None
          ) -> None:
  """Names, files and --output, for every build, before the first one."""
  from embtrans.data import build  # pylint: disable=g-import-not-at-top
  output = output or configs[0].get("output") or None
  if output and len(configs) > 1:
    raise ValueError(f"--output names one directory; this config builds "
                     f"{len(configs)} datasets: build them into the cache "
                     "(drop --output) or one encoder at a time.")
  if output:
    cli.check_workdir(output, "--output")
  from embtrans import encoders  # pylint: disable=g-import-not-at-top
  from embtrans.data import sources  # pylint: disable=g-import-not-at-top
  for c in configs:  # Names first: a fingerprint reads the input files.
    for name, known, what in (
        (c.encoder.name, encoders.known_encoders(), "encoder"),
        (c.source.name, sources.known_sources(), "source")):
      if name and name not in known:
        raise ValueError(f"Unknown {what} {name!r}. Known {what}s: "
                         f"{', '.join(known)}.")
  for c in configs:
    build.dataset_key(c.source.name or None, c.encoder.name,
                      c.source.limit or None, c.encoder.kwargs.to_dict(),
                      c.source.kwargs.to_dict())


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  cli.start(devices=False)
  configs = builds(flags.FLAGS.config)
  check(configs, _OUTPUT.value)
  from embtrans import sharding  # pylint: disable=g-import-not-at-top
  from embtrans.data import build  # pylint: disable=g-import-not-at-top
  procs = build.SINGLE_PROCESS
  if sharding.distributed_mode() is not None:  # Only then is jax needed.
    sharding.initialize_distributed()
    procs = _processes()
  for config in configs:
    ds, built, seconds = build.build_from_config(
        config, _OUTPUT.value, _CACHE_DIR.value, _OVERWRITE.value,
        _REBUILD.value, procs)
    if procs.index == 0:
      print(build.summary(ds, built, seconds))


def _processes():
  """This process's share of a multi-process build (jax.distributed is up)."""
  import jax  # pylint: disable=g-import-not-at-top
  from jax.experimental import multihost_utils  # pylint: disable=g-import-not-at-top
  from embtrans.data import build  # pylint: disable=g-import-not-at-top
  return build.Processes(jax.process_index(), jax.process_count(),
                         multihost_utils.sync_global_devices)


if __name__ == "__main__":
  cli.run(main, "embtrans.embed")
