# Sourced by ./gptneo and ./build: finds a JDK >= 25 and exports JAVA_HOME and JAVA.
# Order: $JAVA_HOME when new enough, then the newest JDK under /usr/lib/jvm (or /opt/java),
# then the java on PATH. Stops with one line naming what to install when none is found.

gptneo_jdk_floor=25  # the build compiles with --release 25 (pom.xml's maven.compiler.release)

gptneo_java_major() { # prints the feature version of the java binary $1, or 0
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java\.specification\.version = \([0-9]*\).*/\1/p' | head -n 1 | grep . || echo 0
}

gptneo_find_jdk() {
  local candidate best="" best_major=0 major
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/javac" ]; then
    major=$(gptneo_java_major "$JAVA_HOME/bin/java")
    if [ "$major" -ge "$gptneo_jdk_floor" ]; then echo "$JAVA_HOME"; return 0; fi
  fi
  for candidate in /usr/lib/jvm/* /opt/java/* /usr/local/lib/jvm/*; do
    [ -x "$candidate/bin/javac" ] || continue
    major=$(gptneo_java_major "$candidate/bin/java")
    if [ "$major" -ge "$gptneo_jdk_floor" ] && [ "$major" -gt "$best_major" ]; then best=$candidate; best_major=$major; fi
  done
  if [ -z "$best" ] && command -v javac >/dev/null 2>&1; then
    candidate=$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")
    major=$(gptneo_java_major "$candidate/bin/java")
    if [ "$major" -ge "$gptneo_jdk_floor" ]; then best=$candidate; fi
  fi
  [ -n "$best" ] && echo "$best"
}

JAVA_HOME=$(gptneo_find_jdk) || true
if [ -z "${JAVA_HOME:-}" ]; then
  echo "gptneo: needs a JDK $gptneo_jdk_floor or newer: install one (e.g. apt-get install openjdk-25-jdk-headless) or set JAVA_HOME" >&2
  exit 1
fi
export JAVA_HOME
JAVA="$JAVA_HOME/bin/java"
