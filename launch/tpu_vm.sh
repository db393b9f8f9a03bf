#!/usr/bin/env bash
# Sets up embtrans on every worker of a Cloud TPU VM, then runs one job on all
# workers at once (one process per host; JAX finds the coordinator itself).
#
#   launch/tpu_vm.sh NAME ZONE setup REPO_URL [REF]
#   launch/tpu_vm.sh NAME ZONE run embtrans.main --config=configs/mlp32x.py --workdir=gs://BUCKET/run1
#   launch/tpu_vm.sh NAME ZONE run embtrans.sweep --config=configs/grid.py:steps_scale=10 --workdir=gs://BUCKET/grid
#
# EMBTRANS_DRY_RUN=1 prints the gcloud commands instead of running them.
# Build the embedding datasets once into a shared path (or on every worker)
# before a multi-host run; see BUILD.md. Multi-process runs are verified for
# embtrans.main (launch/local_multiprocess.sh, 2 processes, same MSE as one);
# the sweep and the alignment trainer are written for them (process 0 writes)
# but have been run on one host only.
set -euo pipefail
usage="usage: $0 NAME ZONE {setup REPO_URL [REF] | run MODULE [flags...]}"
name=${1:?$usage}; zone=${2:?$usage}; action=${3:?$usage}
shift 3

on_all_workers() {
  local cmd=(gcloud compute tpus tpu-vm ssh "$name" --zone "$zone"
             --worker=all --command "$1")
  if [[ "${EMBTRANS_DRY_RUN:-0}" == 1 ]]; then
    printf '%q ' "${cmd[@]}"; echo
  else
    "${cmd[@]}"
  fi
}

case "$action" in
  setup)
    repo=${1:?$usage}; ref=${2:-main}
    on_all_workers "set -e; [ -d embtrans ] || git clone $(printf %q "$repo") embtrans;
      cd embtrans && git fetch -q origin && git checkout -q $(printf %q "$ref") &&
      python3 -m venv .venv && . .venv/bin/activate &&
      pip install -q torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu &&
      pip install -q -e '.[tpu]' && python -c 'import jax; print(jax.devices())'"
    ;;
  run)
    module=${1:?$usage}; shift
    args=$(printf '%q ' "$@")
    on_all_workers "cd embtrans && . .venv/bin/activate &&
      EMBTRANS_DISTRIBUTED=1 python -m $(printf %q "$module") $args"
    ;;
  *)
    echo "$usage" >&2; exit 2 ;;
esac
