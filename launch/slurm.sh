#!/usr/bin/env bash
# Runs one embtrans job under SLURM, one process per task; JAX reads the
# job's SLURM variables (embtrans.sharding.distributed_mode sees a job step
# with more than one task and calls jax.distributed.initialize()).
#
#   sbatch --nodes=2 --ntasks-per-node=1 --gpus-per-task=8 launch/slurm.sh \
#       embtrans.sweep --config=configs/grid.py --workdir=/shared/grid
#   launch/slurm.sh embtrans.main --config=configs/mlp32x.py --workdir=/shared/r1
#                                 (inside an salloc allocation)
#
# The workdir must be on storage every node sees (checkpoints are written by
# all processes, results by process 0). EMBTRANS_DRY_RUN=1 prints the srun
# command instead of running it.
set -euo pipefail
usage="usage: $0 MODULE [flags...]   (inside sbatch or salloc)"
module=${1:?$usage}; shift
cmd=(srun --kill-on-bad-exit=1 python -m "$module" "$@")
if [[ "${EMBTRANS_DRY_RUN:-0}" == 1 ]]; then
  printf '%q ' "${cmd[@]}"; echo
  exit 0
fi
exec "${cmd[@]}"
