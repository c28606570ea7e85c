#!/usr/bin/env bash
# Two sr-train workers on 127.0.0.1 (MultiWorkerMirroredStrategy from TF_CONFIG), stopped after 3
# updates and resumed to 6; logs of each worker and leg next to this script.
#   experiments/results/multiworker/run_two_workers.sh PHOTO_DIR RUN_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
photos="$1"; run_dir="$2"
free_port() { python -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
leg() {  # leg NAME STEPS
  local p0 p1 cluster pids=()
  p0=$(free_port); p1=$(free_port)
  cluster="{\"worker\": [\"127.0.0.1:$p0\", \"127.0.0.1:$p1\"]}"
  for i in 0 1; do
    TF_CONFIG="{\"cluster\": $cluster, \"task\": {\"type\": \"worker\", \"index\": $i}}" \
      python -m sr_keras.programs.train --run_dir="$run_dir" --data="$photos" --strategy=multi_worker \
        --num_blocks=1 --num_features=8 --crop_size=16 --batch_size=4 --steps="$2" --checkpoint_every=3 \
        --log_every=1 --optimizer=sgd --learning_rate=0.05 --jit_compile=false --verbose=0 \
        > "$here/$1_worker$i.log" 2>&1 &
    pids+=($!)
  done
  trap 'kill -9 "${pids[@]}" 2>/dev/null || true' EXIT
  for pid in "${pids[@]}"; do wait "$pid"; done
  trap - EXIT
}
leg leg1_steps3 3
leg leg2_resume_to_6 6
ls -R "$run_dir" > "$here/run_dir_listing.txt"
