#!/usr/bin/env bash
# ONNX Runtime side of `gptneo bench prefill|decode`: exports neo_torch's model to ONNX (once per shape,
# cached under tools/bench/onnx/target/models/), builds OnnxBench (Maven, first time only) and runs it.
#   tools/bench/onnx/run.sh prefill [--tokens 512] [--batch-size 1]
#   tools/bench/onnx/run.sh decode  [--prompt 16] [--new 64] [--batch-size 1] [--bandwidth-gb-s X]
#   tools/bench/onnx/run.sh check   (the exported graphs' logits against torch's)
# common: [--preset 125M | --config HF_CONFIG_JSON] [--seed 0] [--runs 3] [--threads N]
# Needs Debian's python3-torch and python3-onnx, a JDK 21+ and Maven; the first build resolves
# com.microsoft.onnxruntime:onnxruntime (network). BENCH_MAVEN_REPO=DIR passes -Dmaven.repo.local=DIR;
# ONNXRUNTIME_VERSION=1.22.0 (say) picks another release than the pom's 1.29.0.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
. "$root/tools/java-env.sh"
python=/usr/bin/python3

[ $# -ge 1 ] || { sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 2; }
cmd=$1; shift
case "$cmd" in prefill|decode|check) ;; -h|--help) sed -n '2,10s/^# \{0,1\}//p' "$0"; exit 0 ;;
  *) echo "run.sh: unknown command '$cmd' (prefill, decode or check)" >&2; exit 2 ;; esac
preset=125M config="" seed=0 rest=()
while [ $# -gt 0 ]; do
  case "$1" in
    --preset) preset=$2; shift 2 ;;
    --config) config=$(readlink -f "$2"); shift 2 ;;
    --seed) seed=$2; shift 2 ;;
    *) rest+=("$1"); shift ;;
  esac
done

# 1. the graphs, exported once per shape, seed and version of the exporting code
code=$(cat "$here/export_onnx.py" "$here/../neo_torch.py" | sha1sum | cut -c1-8)
if [ -n "$config" ]; then
  key="config-$(sha1sum "$config" | cut -c1-12)-seed$seed-$code"; shape=(--config "$config")
else
  key="preset-$preset-seed$seed-$code"; shape=(--preset "$preset")
fi
models="$here/target/models/$key"
if [ ! -f "$models/check.properties" ]; then
  echo "run.sh: exporting ${shape[*]} to $models" >&2
  rm -rf "$models.tmp"
  "$python" "$here/export_onnx.py" "${shape[@]}" --seed "$seed" --out "$models.tmp" >&2 2> >(grep -v -i 'warn\|^ *$\|^  ' >&2)
  rm -rf "$models"; mv "$models.tmp" "$models"
fi

# 2. OnnxBench, built when missing or older than its sources
classes="$here/target/classes"
version=${ONNXRUNTIME_VERSION:-default}
classpath="$here/target/classpath-$version.txt"
if [ ! -f "$classpath" ] || [ -n "$(find "$here/src" "$here/pom.xml" -newer "$classpath" -print -quit)" ]; then
  echo "run.sh: building OnnxBench (Maven, onnxruntime $version)" >&2
  mvn_args=(-B -q -Dstyle.color=never -f "$here/pom.xml")
  [ -n "${BENCH_MAVEN_REPO:-}" ] && mvn_args+=("-Dmaven.repo.local=$BENCH_MAVEN_REPO")
  [ "$version" != default ] && mvn_args+=("-Donnxruntime.version=$version")
  MAVEN_OPTS="${MAVEN_OPTS:-} --sun-misc-unsafe-memory-access=allow" \
    mvn "${mvn_args[@]}" compile dependency:build-classpath -Dmdep.outputFile="$classpath" >&2
fi

# 3. the measurement
exec "$JAVA" --enable-native-access=ALL-UNNAMED -cp "$classes:$(cat "$classpath")" \
  org.gptneo.tools.onnx.OnnxBench "$cmd" --model "$models" ${rest[@]+"${rest[@]}"}
