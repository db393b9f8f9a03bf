#!/usr/bin/env bash
# Runs one embtrans job across several GPU hosts, one process per host, over
# ssh; process 0's host is the coordinator. Every host needs the repository at
# the same path (EMBTRANS_REMOTE_DIR, default ~/embtrans) with its .venv set up
# as in BUILD.md ("CUDA 12 GPU VM"), and the embedding datasets built.
#
#   HOSTS="gpu-0 gpu-1" launch/gpu_hosts.sh embtrans.main --config=configs/mlp32x.py --workdir=/shared/run1
#
# EMBTRANS_PORT sets the coordinator port (default 12355); EMBTRANS_DRY_RUN=1
# prints the ssh commands instead of running them. Output lines are prefixed
# with [pI]. On one machine use launch/local_multiprocess.sh instead.
set -euo pipefail
usage="usage: HOSTS=\"h0 h1 ...\" $0 MODULE [flags...]"
read -r -a hosts <<< "${HOSTS:?$usage}"
module=${1:?$usage}; shift
port=${EMBTRANS_PORT:-12355}
dir=${EMBTRANS_REMOTE_DIR:-\~/embtrans}
args=$(printf '%q ' "$@")
coordinator="${hosts[0]}:${port}"
pids=()
for i in "${!hosts[@]}"; do
  remote="cd $dir && . .venv/bin/activate && EMBTRANS_COORDINATOR=$coordinator"
  remote+=" EMBTRANS_NUM_PROCESSES=${#hosts[@]} EMBTRANS_PROCESS_ID=$i"
  remote+=" python -m $(printf %q "$module") $args"
  if [[ "${EMBTRANS_DRY_RUN:-0}" == 1 ]]; then
    printf '%q ' ssh "${hosts[$i]}" "$remote"; echo
    continue
  fi
  ssh "${hosts[$i]}" "$remote" > >(sed "s/^/[p$i] /") 2>&1 &
  pids+=($!)
done
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=$?; done
exit $status
