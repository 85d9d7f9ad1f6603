#!/usr/bin/env bash
# Side-by-side CPU speed of one GPT-Neo shape: Java (`./gptneo bench`), PyTorch (tools/bench/torch_bench.py)
# and ONNX Runtime (tools/bench/onnx/run.sh), same workloads, one process after another (never concurrently).
#   tools/bench/compare.sh [--preset 125M | --config HF_CONFIG_JSON] [--runs 3] [--rounds 2] [--threads N] [--doc FILE] [--quick]
# Workloads: gemm (2048³ and 125M's linear shapes; Java and PyTorch under OPENBLAS_CORETYPE=Haswell, Zen, SkylakeX),
# prefill B=1 T=512 (all / last logits), decode prompt 16 + 64 new at B=1 and B=8, train B=4 T=256 (AdamW step).
# PyTorch's model workloads run with torch.set_num_threads(T) and again with torch's intra-op pool at 1 (OpenBLAS T).
# --rounds R: the model workloads run R times, the engines' order reversed every other round, and the table keeps
# each engine's best (a shared machine's slow spell then falls on every engine's turn alike, not on one).
# Prints every raw JSON line, then a table (java | pytorch | onnxruntime | ratios | fractions of the limits).
# --doc FILE rewrites FILE between <!-- compare.sh:begin --> and <!-- compare.sh:end --> with the table,
# the date, the machine and this command line. --quick: a tiny config (d=64, 2 layers, V=300, C=32) and one run
# each, to check every path in a minute or two (the gemm shapes stay 125M's: `gptneo bench gemm` has no shape option).
# BENCH_MAVEN_REPO=DIR is passed to the ONNX Runtime build as -Dmaven.repo.local=DIR.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bench="$root/tools/bench"
python=/usr/bin/python3
command_line="tools/bench/compare.sh${*:+ $*}"

shape=(--preset 125M) runs=3 rounds=2 threads=() doc="" quick=0
while [ $# -gt 0 ]; do
  case "$1" in
    --preset) shape=(--preset "$2"); shift 2 ;;
    --config) shape=(--config "$(readlink -f "$2")"); shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=(--threads "$2"); shift 2 ;;
    --doc) doc=$(readlink -f "$2"); shift 2 ;;
    --quick) quick=1; shift ;;
    -h|--help) sed -n '2,15s/^# \{0,1\}//p' "$0"; exit 0 ;;
    *) echo "compare.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
  esac
done

work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
raw="$work/raw.tsv"; : > "$raw"
tokens=512 prompt=16 new=64 seq=256 gemm_runs=$runs
if [ "$quick" = 1 ]; then
  cat > "$work/tiny.json" <<'JSON'
{"model_type": "gpt_neo", "vocab_size": 300, "max_position_embeddings": 32, "hidden_size": 64, "num_layers": 2,
 "num_heads": 4, "attention_types": [[["global", "local"], 1]], "window_size": 8, "intermediate_size": null,
 "layer_norm_epsilon": 1e-5}
JSON
  shape=(--config "$work/tiny.json") runs=1 gemm_runs=1 tokens=32 prompt=8 new=16 seq=32
fi
notes=()

# run ENGINE WORKLOAD CMD...: runs one measurement, echoes and collects its JSON lines; failures are visible lines
run() {
  local engine=$1 workload=$2; shift 2
  local out="$work/out" err="$work/err" status=0
  "$@" > "$out" 2> "$err" || status=$?
  grep '^{' "$out" | while IFS= read -r line; do echo "$engine: $line"; printf '%s\t%s\n' "$engine" "$line" >> "$raw"; done
  if [ "$status" != 0 ]; then
    echo "$engine $workload: FAILED (exit $status): $(grep -v '^WARNING' "$err" | tail -n 3 | tr '\n' ' ')"
    [ "$workload" = check ] || notes+=("$engine $workload failed (exit $status)")
  fi
  return "$status"
}

limit() { # field of the Java limits line
  grep -P '^java\t' "$raw" | cut -f2 | grep '"what":"limits"' | head -n 1 | $python -c "import json,sys; print(json.load(sys.stdin)['$1'])" 2>/dev/null
}

echo "== gemm"
run java gemm "$root/gptneo" bench gemm --runs "$gemm_runs" "${threads[@]}"
peak=$(limit fma_peak_gflops); bandwidth=$(limit read_bandwidth_gb_s)
peak_arg=(); [ -n "$peak" ] && peak_arg=(--peak-gflops "$peak")
bw_arg=(); [ -n "$bandwidth" ] && bw_arg=(--bandwidth-gb-s "$bandwidth")
best_core="" best_ms=""
for core in Haswell Zen SkylakeX; do
  before=$(wc -l < "$raw")
  if run pytorch "gemm OPENBLAS_CORETYPE=$core" env OPENBLAS_CORETYPE=$core $python "$bench/torch_bench.py" gemm --runs "$gemm_runs" "${threads[@]}" "${peak_arg[@]}"; then
    total=$(tail -n +"$((before + 1))" "$raw" | cut -f2 | $python -c "import json,sys; print(sum(json.loads(l)['ms'] for l in sys.stdin))")
    if [ -z "$best_ms" ] || $python -c "import sys; sys.exit(0 if $total < $best_ms else 1)"; then best_core=$core best_ms=$total; fi
  fi
done
# glibc returns PyTorch's freed tensors of a few MB to the kernel and the next op faults them back in, page by
# page: on the VM of 2026-12-08 a fault cost about 6 µs, a [12, 512, 512] bmm took 40 ms instead of 2.7, and a 125M
# prefill 2.6 s instead of 0.8. PyTorch's model workloads keep freed memory (Java and ONNX Runtime reuse theirs).
torch_malloc=(MALLOC_MMAP_THRESHOLD_=17179869184 MALLOC_TRIM_THRESHOLD_=17179869184)
torch_env=(env "${torch_malloc[@]}")
notes+=("pytorch prefill/decode/train ran with ${torch_malloc[*]} (glibc keeps freed memory: no page faults on reuse)")
if [ -n "$best_core" ]; then
  torch_env=(env "${torch_malloc[@]}" OPENBLAS_CORETYPE=$best_core)
  notes+=("pytorch prefill/decode/train ran with OPENBLAS_CORETYPE=$best_core (least total GEMM time of Haswell, Zen, SkylakeX)")
  echo "pytorch: OPENBLAS_CORETYPE=$best_core had the least total GEMM time; the model workloads use it"
fi

# PyTorch model workloads run twice where there is more than one thread: torch.set_num_threads(T) (the
# default) and torch's own intra-op pool at 1 with OpenBLAS at T (the two pools compete on few cores);
# all lines are printed, the table keeps the better and names it
nthreads=${threads[1]:-$(nproc)}
torch_variants=("")
[ "$nthreads" -gt 1 ] && torch_variants+=("--omp-threads 1")
torch_run() { # WORKLOAD ARGS...: torch_bench.py under the best core type, once per variant
  local workload=$1 v; shift
  for v in "${torch_variants[@]}"; do
    run pytorch "$workload${v:+ $v}" ${torch_env[@]+"${torch_env[@]}"} $python "$bench/torch_bench.py" "$@" "${threads[@]}" $v
  done
}

echo "== onnxruntime graphs"
onnx_ok=0
if run onnxruntime check "$bench/onnx/run.sh" check "${shape[@]}" "${threads[@]}"; then
  onnx_ok=1
else
  reason=$(grep -v '^WARNING' "$work/err" | tail -n 1)
  echo "onnxruntime: skipped (${reason:-run.sh check failed})"
  notes+=("onnxruntime: skipped (${reason:-run.sh check failed})")
fi

# one engine's turn at a model workload: java | pytorch | onnxruntime, then the workload's name and arguments
turn() {
  local engine=$1 workload=$2; shift 2
  case "$engine" in
    java) run java "$workload" "$root/gptneo" bench "$@" "${threads[@]}" ;;
    pytorch) torch_run "$workload" "$@" ;;
    onnxruntime) [ "$onnx_ok" = 1 ] && run onnxruntime "$workload" "$bench/onnx/run.sh" "$@" "${threads[@]}" ;;
  esac
}

for round in $(seq 1 "$rounds"); do
  order=(java pytorch onnxruntime)
  [ $((round % 2)) = 0 ] && order=(onnxruntime pytorch java)
  echo "== round $round of $rounds (${order[*]})"
  for engine in "${order[@]}"; do
    turn "$engine" prefill prefill "${shape[@]}" --tokens "$tokens" --batch-size 1 --runs "$runs"
  done
  for b in 1 8; do
    for engine in "${order[@]}"; do
      extra=(); [ "$engine" = java ] || extra=("${bw_arg[@]}")
      turn "$engine" "decode B=$b" decode "${shape[@]}" --prompt "$prompt" --new "$new" --batch-size "$b" --runs "$runs" ${extra[@]+"${extra[@]}"}
    done
  done
  for engine in "${order[@]}"; do
    [ "$engine" = onnxruntime ] || turn "$engine" train train "${shape[@]}" --seq-len "$seq" --batch-size 4 --runs "$runs"
  done
done
echo "onnxruntime train: not measured (inference graphs only)"

echo
cores=$(lscpu | awk -F: '/^Core\(s\) per socket/ {c = $2} /^Socket\(s\)/ {s = $2} END {print c * s}')
machine="$(lscpu | sed -n 's/^Model name: *//p' | head -n 1), $cores cores ($(nproc) CPUs usable), $(free -g | awk '/^Mem:/ {print $2}') GiB"
[ "$rounds" -gt 1 ] && notes+=("model workloads: each engine's best of $rounds rounds, the engines' order reversed every other round")
[ "$quick" = 1 ] && notes+=("--quick: tiny config (d=64, 2 layers, V=300, C=32), one run each: a smoke test, not a measurement")
doc_args=()
[ -n "$doc" ] && doc_args=(--doc "$doc" --command "$command_line" --machine "$machine" --notes "$(printf '%s\n' "${notes[@]+"${notes[@]}"}")")
$python "$bench/compare_table.py" "$raw" "${doc_args[@]}"
echo "machine: $machine"
