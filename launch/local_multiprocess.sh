#!/usr/bin/env bash
# Runs one embtrans job as N cooperating processes on this machine (loopback
# only), the way it runs across the hosts of a TPU/GPU cluster:
#
#   launch/local_multiprocess.sh 2 --config=configs/mlp8x.py:tiny=True --workdir=/tmp/mp
#   launch/local_multiprocess.sh 2 embtrans.sweep --config=configs/grid.py:tiny=True --workdir=/tmp/mps
#
# The module defaults to embtrans.main. Each process calls
# jax.distributed.initialize() (embtrans.sharding) through
# EMBTRANS_COORDINATOR / EMBTRANS_NUM_PROCESSES / EMBTRANS_PROCESS_ID; CPU
# collectives go through gloo. Process 0 writes results and logs. If one
# process fails, the others are stopped and the script exits with its status.
# PYTHON names the interpreter (default: `python` on PATH).
set -euo pipefail
usage="usage: $0 NUM_PROCESSES [MODULE] [flags...]"
n=${1:?$usage}
shift
module=embtrans.main
if [[ $# -gt 0 && "$1" != -* ]]; then module=$1; shift; fi
port=${EMBTRANS_PORT:-$((20000 + RANDOM % 20000))}
pids=()
for ((i = 0; i < n; i++)); do
  EMBTRANS_COORDINATOR="127.0.0.1:${port}" EMBTRANS_NUM_PROCESSES="$n" \
  EMBTRANS_PROCESS_ID="$i" "${PYTHON:-python}" -m "$module" "$@" \
    > >(sed -u "s/^/[p$i] /") 2>&1 &
  pids+=($!)
done
# The first process to fail stops the rest (a dead peer would otherwise
# leave them waiting in a collective until the heartbeat timeout).
status=0
running=("${pids[@]}")
while ((${#running[@]})); do
  rc=0
  wait -n -p finished "${running[@]}" || rc=$?
  left=()
  for pid in "${running[@]}"; do [[ $pid == "$finished" ]] || left+=("$pid"); done
  running=("${left[@]}")
  if ((rc)); then
    status=$rc
    kill "${running[@]}" 2>/dev/null || true
    wait || true
    break
  fi
done
exit $status
