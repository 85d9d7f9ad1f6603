#!/usr/bin/env bash
# JMH benchmarks of the CPU backend's kernels, on the gptneo-layers jar that ./build installed.
#   tools/bench/jmh/run.sh                      all benchmarks (forks with the Vector API module)
#   tools/bench/jmh/run.sh 'Matmul' -p shape=512x768x768xT -f 1 -wi 3 -i 5
# Arguments are JMH's own (a benchmark regex, -p, -f, -wi, -i, -t, ...; see -h).
set -euo pipefail
root=$(cd "$(dirname "$0")/../../.." && pwd)
. "$root/tools/java-env.sh"
export PATH="$JAVA_HOME/bin:$PATH"
jvm_args="-jvmArgsAppend --add-modules=jdk.incubator.vector -jvmArgsAppend --enable-native-access=ALL-UNNAMED"
exec mvn -B -q -f "$root/tools/bench/jmh/pom.xml" compile exec:exec -Djmh.args="$jvm_args $*"
