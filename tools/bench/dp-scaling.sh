#!/usr/bin/env bash
# Data-parallel scaling of `gptneo train` on this machine: one process on 1 and on 2 threads, then two
# Open MPI processes of 1 thread each (dp=2, plain and ZeRO-1, the gradients reduced after the backward
# pass and during it), the same global batch, model and data in every run. Prints one line per run (median
# tokens/s over the steps after the first, from OUT/metrics.jsonl) and the gradient bytes a ring
# all-reduce sends per rank and step, 2·(D−1)/D·G.
#
#   tools/bench/dp-scaling.sh [--steps N] [--batch-size B] [--seq-len T] [--work DIR]
#
# Needs ./gptneo built (./build) and Open MPI's mpirun. Honest about the cores: on a 2-core machine two
# processes of one thread each use the same cores as one process of two threads.
set -euo pipefail
cd "$(dirname "$0")/../.."

steps=8 batch=8 seq=128 work=$(mktemp -d)
while [ $# -gt 0 ]; do
  case "$1" in
    --steps) steps=$2; shift 2 ;;
    --batch-size) batch=$2; shift 2 ;;
    --seq-len) seq=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    *) echo "dp-scaling.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
mpirun=$(command -v mpirun.openmpi || command -v mpirun || true)
[ -n "$mpirun" ] || { echo "dp-scaling.sh: Open MPI's mpirun is not on the PATH (Debian: apt-get install openmpi-bin)" >&2; exit 2; }
[ -x ./gptneo ] || { echo "dp-scaling.sh: ./gptneo not found: run ./build first" >&2; exit 2; }

mkdir -p "$work"
cat > "$work/model.yaml" <<'EOF'
vocab-size: 50257
context-length: 128
hidden-size: 256
layers: 4
heads: 4
attention: [[[global, local], 2]]
window-size: 64
embed-dropout: 0
attention-dropout: 0
resid-dropout: 0
seed: 1
EOF
cat README.md docs/*.md > "$work/data.txt"

# run NAME LAUNCH THREADS [train options...]: trains into $work/NAME and prints its median tokens/s
run() {
  local name=$1 launch=$2 threads=$3; shift 3
  rm -rf "${work:?}/$name"
  GPTNEO_JAVA_OPTS="-Dgptneo.cpu.threads=$threads" $launch ./gptneo train --config "$work/model.yaml" \
    --data "$work/data.txt" --steps "$steps" --batch-size "$batch" --seq-len "$seq" --lr 1e-3 --log-every 1 \
    --out "$work/$name" "$@" > "$work/$name.log" 2>&1 || { cat "$work/$name.log" >&2; exit 1; }
  python3 - "$work/$name/metrics.jsonl" <<'EOF'
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1]) if '"tokens_per_s"' in line]
print(f"{statistics.median(r['tokens_per_s'] for r in rows[1:]):.1f}")
EOF
}

mpi="$mpirun --allow-run-as-root --oversubscribe -np 2"
one=$(run one-thread "" 1)
two=$(run two-threads "" 2)
after=$(run dp2-after "$mpi" 1 --parallel dp=2)
during=$(run dp2-during "$mpi" 1 --parallel dp=2 --overlap-reduction)
zero=$(run dp2-zero1 "$mpi" 1 --parallel dp=2 --zero 1)
zeroDuring=$(run dp2-zero1-during "$mpi" 1 --parallel dp=2 --zero 1 --overlap-reduction)
params=$(grep -o 'training [0-9,]* of' "$work/one-thread.log" | tr -dc '0-9')
gradient=$((params * 4))

echo "dp-scaling: $(nproc) CPUs, $(date -u '+%Y-%m-%d %H:%M UTC'), load $(cut -d' ' -f1-3 /proc/loadavg); model 256 wide, 4 layers,"
echo "  vocabulary 50257 ($params parameters), global batch $batch x $seq tokens, $steps steps (median after the first)"
printf '%-58s %10s %9s %11s\n' run tokens/s "vs 1 thr" efficiency
row() { python3 -c "import sys; t, base, n = map(float, sys.argv[2:]); print(f'{sys.argv[1]:<58} {t:10.1f} {t / base:9.2f} {t / base / n:11.2f}')" "$@"; }
row "1 process, 1 thread" "$one" "$one" 1
row "1 process, 2 threads" "$two" "$one" 2
row "2 MPI processes x 1 thread, dp=2, reduce after backward" "$after" "$one" 2
row "2 MPI processes x 1 thread, dp=2, reduce during backward" "$during" "$one" 2
row "2 MPI processes x 1 thread, dp=2, ZeRO-1, after backward" "$zero" "$one" 2
row "2 MPI processes x 1 thread, dp=2, ZeRO-1, during backward" "$zeroDuring" "$one" 2
echo "gradient bytes G = $gradient; a ring all-reduce sends 2(D-1)/D x G = $gradient B per rank and step for D = 2"
echo "(efficiency: tokens/s / (1-thread tokens/s x threads or processes used); runs and logs in $work)"
