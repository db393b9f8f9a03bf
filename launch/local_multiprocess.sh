#!/usr/bin/env bash
# Runs one embtrans job as N cooperating processes on this machine (loopback
# only), the way it runs across the hosts of a TPU/GPU cluster:
#
#   launch/local_multiprocess.sh 2 --config=configs/mlp8x.py:tiny=True --workdir=/tmp/mp
#
# Each process calls jax.distributed.initialize() (embtrans.sharding) through
# EMBTRANS_COORDINATOR / EMBTRANS_NUM_PROCESSES / EMBTRANS_PROCESS_ID; CPU
# collectives go through gloo. Process 0 writes results.json and logs.
set -euo pipefail
n=${1:?usage: $0 NUM_PROCESSES [embtrans.main flags...]}
shift
port=${EMBTRANS_PORT:-$((20000 + RANDOM % 20000))}
pids=()
for ((i = 0; i < n; i++)); do
  EMBTRANS_COORDINATOR="127.0.0.1:${port}" EMBTRANS_NUM_PROCESSES="$n" \
  EMBTRANS_PROCESS_ID="$i" python -m embtrans.main "$@" \
    > >(sed "s/^/[p$i] /") 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
exit $status
