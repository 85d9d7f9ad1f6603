#!/usr/bin/env bash
# The GPU verification of the CUDA backend, in two halves.
#
#   tools/gpu-check.sh pack DIR     here (JDK + Maven): build, gather the jars (library, CLI, tests and
#                                   their dependencies) and pack them with a jlink'ed Java runtime into
#                                   DIR/bundle.tar.xz (bundle/{jre,lib}, the layout of ../shared/tools/gpu-bundle.sh,
#                                   whose jdeps call cannot resolve Arrow's modules; jdk.zipfs added for JUnit's jar scanning). Keep DIR out of git.
#   tools/gpu-check.sh run DIR      on the GPU machine (no JDK; PyTorch + transformers): unpack, then
#                                   1. gptneo info --backend (what discovery found),
#                                   2. every test tagged gpu (conformance kit, golden parity, 10 AdamW steps),
#                                   3. the Hugging Face check (tools/gpu/hf_check.py),
#                                   4. benchmarks against the machine's limits and transformers eager
#                                      (tools/gpu/bench_reference.py), and prints a short table last.
# Sized to finish in under 8 minutes there. Each step has its own timeout; a failed step is reported
# in the table and the others still run. Exit code 1 when any check failed.
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-}; dir=${2:-}
[[ ($mode == pack || $mode == run) && -n $dir ]] || { echo "usage: tools/gpu-check.sh pack|run DIR" >&2; exit 2; }

if [[ $mode == pack ]]; then
  set -e
  . "$root/tools/java-env.sh"
  export MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow"
  (cd "$root" && mvn -B -q -o install -DskipTests -Dstyle.color=never)
  stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
  mkdir -p "$stage/lib"
  for module in api cuda-ffi parallel samples; do
    (cd "$root" && mvn -B -q -o dependency:copy-dependencies -pl "$module" -DincludeScope=test -DoutputDirectory="$stage/lib")
  done
  cp "$root"/samples/target/gptneo-samples-*.jar "$root"/layers/target/*-tests.jar "$root"/cuda-ffi/target/*-tests.jar "$stage/lib/"
  "$JAVA_HOME/bin/jar" cf "$stage/lib/gptneo-api-tests.jar" -C "$root/api/target/test-classes" .
  cp "$root"/parallel/target/gptneo-parallel-*.jar "$stage/lib/"  # the one-rank NCCL test (tagged gpu)
  "$JAVA_HOME/bin/jar" cf "$stage/lib/gptneo-parallel-tests.jar" -C "$root/parallel/target/test-classes" .
  # the JDK modules the CLI and library need (the test jars split packages with them: left out here)
  mods=$("$JAVA_HOME/bin/jdeps" --ignore-missing-deps --multi-release 25 --print-module-deps \
          --module-path "$root/samples/target/lib" "$root"/samples/target/gptneo-samples-*.jar "$root"/samples/target/lib/*.jar \
          2>/dev/null | tail -n 1)
  mkdir -p "$stage/bundle" && mv "$stage/lib" "$stage/bundle/lib"
  "$JAVA_HOME/bin/jlink" --add-modules "$mods,jdk.incubator.vector,jdk.unsupported,java.logging,jdk.zipfs" --strip-debug \
    --no-man-pages --no-header-files --compress zip-9 --output "$stage/bundle/jre" 2>&1 | grep -v 'incubator modules' || true
  [[ -x $stage/bundle/jre/bin/java ]] || { echo "gpu-check: jlink made no runtime (modules: $mods)" >&2; exit 1; }
  mkdir -p "$dir" && tar -C "$stage" -cJf "$dir/bundle.tar.xz" bundle
  echo "$dir/bundle.tar.xz: $(du -h "$dir/bundle.tar.xz" | cut -f1) (modules: $mods)"
  exit 0
fi

work=/tmp/gptneo-gpu-check; rm -rf "$work"; mkdir -p "$work"
tar -xJf "$dir/bundle.tar.xz" -C "$work" || { echo "gpu-check: cannot unpack $dir/bundle.tar.xz" >&2; exit 2; }
py=$(command -v python3)
site=$("$py" -c 'import nvidia, os; print(os.path.dirname(os.path.dirname(list(nvidia.__path__)[0])))' 2>/dev/null || true)
export GPTNEO_CUDA_PYTHON=$site
java=("$work/bundle/jre/bin/java" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED
      --sun-misc-unsafe-memory-access=allow -Xmx24g -cp "$work/bundle/lib/*")
gptneo="${java[*]} org.gptneo.cli.Main"
results=$work/results.jsonl; : > "$results"
status=0
step() { # NAME TIMEOUT COMMAND...: runs, keeps its output in $work/NAME.log, records rc
  local name=$1 limit=$2; shift 2
  echo "== $name" >&2
  timeout "$limit" "$@" > "$work/$name.log" 2>&1; local rc=$?
  tail -n 40 "$work/$name.log" >&2
  [[ $rc -eq 0 ]] || status=1
  printf '{"what":"step","step":"%s","rc":%d}\n' "$name" "$rc" >> "$results"
}

step info 60 "${java[@]}" org.gptneo.cli.Main info --backend
step gpu-tests 200 "${java[@]}" org.gptneo.cuda.GpuTestMain
step hf-check 150 "$py" "$root/tools/gpu/hf_check.py" --gptneo "$gptneo" --work "$work/hf"
grep '^{"check"' "$work/hf-check.log" >> "$results"
step reference 90 "$py" "$root/tools/gpu/bench_reference.py"
grep '^{"what"' "$work/reference.log" >> "$results"
GPTNEO_CUDA_PRECISION=bf16 step train-125M 90 "${java[@]}" org.gptneo.cli.Main bench train --backend cuda --preset 125M \
  --batch-size 8 --seq-len 2048 --runs 2
grep '^{' "$work/train-125M.log" | sed 's/^{/{"case":"train-125M-bf16",/' >> "$results"
step decode-1.3B 90 "${java[@]}" org.gptneo.cli.Main bench decode --backend cuda --preset 1.3B --prompt 16 --new 64 --runs 2
grep '^{' "$work/decode-1.3B.log" | sed 's/^{/{"case":"decode-1.3B",/' >> "$results"

"$py" - "$results" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
get = lambda pred: next((r for r in rows if pred(r)), {})
print("\n| check | value | target | ok |\n|---|---|---|---|")
for r in rows:
    if r.get("what") == "step":
        print("| step %s | rc %d | 0 | %s |" % (r["step"], r["rc"], r["rc"] == 0))
    if "check" in r:
        print("| %s (%s) | %.3g | <= %.0e | %s |" % (r["check"], r["backend"], r["value"], r["target"], r["ok"]))
peak = get(lambda r: r.get("what") == "bf16_gemm_peak").get("tflops")
hbm = get(lambda r: r.get("what") == "hbm_bandwidth").get("gb_s")
hf_train = get(lambda r: r.get("what") == "hf_train").get("tokens_per_s")
hf_decode = get(lambda r: r.get("what") == "hf_decode").get("tokens_per_s")
train = get(lambda r: r.get("case") == "train-125M-bf16").get("tokens_per_s")
decode = get(lambda r: r.get("case") == "decode-1.3B")
print("| cuBLAS BF16 peak | %s TFLOP/s | | |" % peak)
print("| HBM bandwidth | %s GB/s | | |" % hbm)
if train and peak:
    n, layers, d, t = 125198592, 12, 768, 2048          # 6·N per token + 12·L·d·T for attention scores and context
    mfu = train * (6 * n + 12 * layers * d * t) / (peak * 1e12)
    print("| 125M train BF16 T=2048 | %.0f tok/s, MFU %.1f%% | >= 30%% | %s |" % (train, 100 * mfu, mfu >= 0.30))
    if hf_train:
        print("| 125M train vs transformers eager | %.2fx | >= 1 | %s |" % (train / hf_train, train >= hf_train))
if decode.get("tokens_per_s"):
    tps = decode["tokens_per_s"]
    line = "| 1.3B decode batch 1 | %.1f tok/s" % tps
    if hbm:
        frac = tps * decode["bytes_per_token"] / (hbm * 1e9)
        line += ", %.0f%% of HBM" % (100 * frac)
    print(line + " | >= 70% | |")
    if hf_decode:
        print("| 1.3B decode vs transformers eager | %.2fx | >= 3 | %s |" % (tps / hf_decode, tps >= 3 * hf_decode))
PY
exit $status
