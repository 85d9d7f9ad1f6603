#!/usr/bin/env bash
# Side-by-side speed: `gptneo bench` (Java, CPU backend) against our PyTorch reference (eager,
# float32) on the same shapes, same machine, same run. Needs Debian's python3-torch.
#   tools/bench/compare.sh [--preset 125M] [--batch 4] [--seq 128] [--runs 5]
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
java_json=$("$root/gptneo" bench "$@")
torch_json=$(/usr/bin/python3 "$root/tools/bench/torch_bench.py" "$@")
echo "java:    $java_json"
echo "pytorch: $torch_json"
/usr/bin/python3 - "$java_json" "$torch_json" <<'PY'
import json, sys
j, t = json.loads(sys.argv[1]), json.loads(sys.argv[2])
print("%-22s %10s %10s %8s" % ("", "java ms", "torch ms", "torch/java"))
for key in ("train_step_ms", "forward_ms"):
    print("%-22s %10.1f %10.1f %8.2f" % (key, j[key], t[key], t[key] / j[key]))
PY
