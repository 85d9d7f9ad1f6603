#!/usr/bin/env bash
# Two builds of the layers module measured alternately in one JVM (see AB.java):
#   tools/bench/inprocess/ab.sh [--threads N] [--rounds R] RUNNER A.jar B.jar
# RUNNER: GemmRunner, PrefillRunner, StepRunner or StreamRunner (runners/). A.jar and B.jar are
# layers/target/gptneo-layers-*.jar of two builds (copy the first aside before rebuilding).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/../../java-env.sh"
threads=$(nproc) rounds=6
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    -*) echo "ab.sh: unknown option $1" >&2; exit 2 ;;
    *) break ;;
  esac
done
[ $# -eq 3 ] || { echo "usage: ab.sh [--threads N] [--rounds R] RUNNER A.jar B.jar" >&2; exit 2; }
runner=$1 a=$(readlink -f "$2") b=$(readlink -f "$3")
for jar in "$a" "$b"; do [ -f "$jar" ] || { echo "ab.sh: no such jar: $jar" >&2; exit 2; }; done
[ -f "$here/runners/$runner.java" ] || { echo "ab.sh: no runner $runner in $here/runners" >&2; exit 2; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if ! "$JAVA_HOME/bin/javac" -nowarn -XDsuppressNotes --add-modules jdk.incubator.vector -cp "$a" -d "$out/runners" \
    "$here"/runners/*.java > "$out/javac.log" 2>&1; then
  grep -v "incubat" "$out/javac.log" >&2
  echo "ab.sh: the runners do not compile against $a (see above)" >&2
  exit 1
fi
"$JAVA_HOME/bin/javac" -d "$out/main" "$here/AB.java"
"$JAVA" --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp "$out/main" \
  AB "$out/runners/" "$runner" "$threads" "$rounds" "$a" "$b" 2>&1 | grep -v "^WARNING: Using incubator modules"
