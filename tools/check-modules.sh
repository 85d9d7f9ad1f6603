#!/usr/bin/env bash
# Checks the module map with jdeps on the built jars (run ./build first):
#  - each module requires only the modules below it (layers ← cuda-ffi ← parallel; layers ← presets;
#    parallel, presets ← api ← samples): api trains data-, tensor- and pipeline-parallel through parallel,
#    whose NCCL communicator computes on the CUDA backend;
#  - layers needs nothing outside the JDK (no IO, JSON or tokenizer library);
#  - no two packages of the project depend on each other in a cycle (tsort finds loops).
# Prints the module graph and "modules: ok", or what is wrong, exiting 1.
set -euo pipefail
cd "$(dirname "$0")/.."
. tools/java-env.sh
jdeps="$(dirname "$JAVA")/jdeps"
version=$(sed -n '/<artifactId>gptneo-parent<\/artifactId>/,/<version>/s:.*<version>\(.*\)</version>.*:\1:p' pom.xml | head -n 1)
lib=samples/target/lib
jars=("$lib/gptneo-layers-$version.jar" "$lib/gptneo-presets-$version.jar" "$lib/gptneo-api-$version.jar"
      "cuda-ffi/target/gptneo-cuda-ffi-$version.jar" "parallel/target/gptneo-parallel-$version.jar"
      "samples/target/gptneo-samples-$version.jar")
for jar in "${jars[@]}"; do
  [ -f "$jar" ] || { echo "check-modules: $jar is missing: run ./build first" >&2; exit 1; }
done
graph=$("$jdeps" --multi-release 25 --module-path "$lib" -s "${jars[@]}" | grep -v -- '-> \(java\.\|jdk\.\)')
echo "$graph"

allowed() {  # the project modules a module may require
  case "$1" in
    org.gptneo.layers) echo "" ;;
    org.gptneo.cuda|org.gptneo.cuda.ffi|org.gptneo.presets) echo "org.gptneo.layers" ;;
    org.gptneo.parallel) echo "org.gptneo.layers org.gptneo.cuda" ;;
    org.gptneo.api) echo "org.gptneo.layers org.gptneo.presets org.gptneo.parallel" ;;
    org.gptneo.samples) echo "org.gptneo.layers org.gptneo.presets org.gptneo.parallel org.gptneo.api" ;;
  esac
}
status=0
while read -r from _ to; do
  if [ "$from" = org.gptneo.layers ]; then
    echo "check-modules: layers must need only the JDK, but needs $to" >&2; status=1
  elif [[ "$to" == org.gptneo.* ]] && [[ " $(allowed "$from") " != *" $to "* ]]; then
    echo "check-modules: $from must not depend on $to" >&2; status=1
  fi
done <<< "$graph"

edges=$("$jdeps" --multi-release 25 --module-path "$lib" -verbose:package "${jars[@]}" \
  | awk '$1 ~ /^org\.gptneo/ && $2 == "->" && $3 ~ /^org\.gptneo/ && $1 != $3 { print $1, $3 }' | sort -u)
if ! echo "$edges" | tsort >/dev/null 2>/tmp/check-modules.$$; then
  echo "check-modules: packages depend on each other in a cycle:" >&2; cat /tmp/check-modules.$$ >&2; status=1
fi
rm -f /tmp/check-modules.$$
[ $status -eq 0 ] && echo "modules: ok"
exit $status
