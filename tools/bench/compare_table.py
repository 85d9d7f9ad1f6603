"""Table of tools/bench/compare.sh: reads its raw lines (ENGINE<TAB>JSON, one measurement each) and prints
workload | java | pytorch | onnxruntime | java/pytorch | java/onnx, plus the fractions of the machine's
limits from `gptneo bench gemm`'s "limits" line (GEMM GFLOP/s over the FMA peak; decode bytes read per
second over the read bandwidth). With --doc FILE, also rewrites FILE between the markers
<!-- compare.sh:begin --> and <!-- compare.sh:end --> with the table in markdown, the date, the machine and
the command line.

    /usr/bin/python3 tools/bench/compare_table.py RAW_FILE [--doc FILE --command "..." --machine "..."]
"""
import argparse
import datetime
import json
import re
import sys

BEGIN, END = "<!-- compare.sh:begin -->", "<!-- compare.sh:end -->"
ENGINES = ("java", "pytorch", "onnxruntime")


def read(path):
    rows = []
    with open(path) as f:
        for line in f:
            engine, _, text = line.rstrip("\n").partition("\t")
            try:
                rows.append((engine, json.loads(text)))
            except ValueError:
                pass
    return rows


def gemm_label(j):
    op = ("T" if j["transpose_a"] else "N") + ("T" if j["transpose_b"] else "N")
    return "gemm %dx%dx%d %s" % (j["m"], j["n"], j["k"], op)


def intra(j):
    """PyTorch's intra-op (OpenMP) thread count where the line has one."""
    return "intra-op %d" % j["omp_threads"] if "omp_threads" in j else None


def workloads(rows):
    """[(label, unit, {engine: value}, {engine: limit fraction or None}, {engine: note})] in a fixed order."""
    limits = next((j for e, j in rows if e == "java" and j.get("what") == "limits"), None)
    peak = limits and limits.get("fma_peak_gflops")
    bandwidth = limits and limits.get("read_bandwidth_gb_s")
    table, index = [], {}

    def put(label, unit, engine, value, fraction=None, note=None):
        if label not in index:
            index[label] = len(table)
            table.append((label, unit, {}, {}, {}))
        _, _, values, fractions, notes = table[index[label]]
        if engine in values and values[engine] >= value:   # several runs of one engine (OpenBLAS core types): keep the best
            return
        values[engine], fractions[engine] = value, fraction
        notes[engine] = note

    for engine, j in rows:
        what = j.get("what")
        if what == "gemm":
            put(gemm_label(j), "GFLOP/s", engine, j["gflops"], j["gflops"] / peak if peak else None,
                j.get("openblas_coretype"))
        elif what == "prefill":
            put("prefill B=%d T=%d logits %s" % (j["batch"], j["tokens"], j["logits"]), "tokens/s", engine, j["tokens_per_s"],
                note=intra(j))
        elif what == "decode":
            frac = j["bytes_per_token"] * j["tokens_per_s"] / 1e9 / bandwidth if bandwidth else j.get("bandwidth_fraction")
            put("decode B=%d prompt %d new %d" % (j["batch"], j["prompt"], j["new"]), "tokens/s", engine, j["tokens_per_s"], frac,
                intra(j))
        elif what == "train":
            put("train B=%d T=%d (AdamW step)" % (j["batch"], j["seq_len"]), "tokens/s", engine, j["tokens_per_s"], note=intra(j))
    return limits, table


def fmt(x, digits=1):
    return "-" if x is None else ("%.*f" % (digits, x))


def ratio(values, a, b):
    return values[a] / values[b] if a in values and b in values and values[b] else None


def engines(rows):
    """engine -> the "engine" string of its first non-gemm line (Java's lines have none)."""
    seen = {}
    for engine, j in rows:
        if "engine" in j and engine not in seen and j.get("what") != "gemm":
            seen[engine] = re.sub(r" \(torch intra-op \d+\)", "", j["engine"])
    return seen


def render(limits, table, markdown, versions=None):
    head = ["workload", "unit", "java", "pytorch", "onnxruntime", "java/pytorch", "java/onnx", "of limit: java / pytorch / onnx"]
    body = []
    for label, unit, values, fractions, notes in table:
        frac = " / ".join(fmt(fractions.get(e), 3) if e in values else "-" for e in ENGINES)
        if all(fractions.get(e) is None for e in ENGINES):
            frac = ""
        torch = fmt(values.get("pytorch"))
        if values.get("pytorch") is not None and notes.get("pytorch"):
            torch += " (%s)" % notes["pytorch"]
        body.append([label, unit, fmt(values.get("java")), torch, fmt(values.get("onnxruntime")),
                     fmt(ratio(values, "java", "pytorch"), 2), fmt(ratio(values, "java", "onnxruntime"), 2), frac])
    lines = []
    if markdown:
        lines.append("| " + " | ".join(head) + " |")
        lines.append("|" + "|".join("---" if i < 2 else "---:" for i in range(len(head))) + "|")
        lines += ["| " + " | ".join(r) + " |" for r in body]
    else:
        widths = [max(len(r[i]) for r in [head] + body) for i in range(len(head))]
        for r in [head] + body:
            lines.append("  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))).rstrip())
    if limits:
        lines.append("")
        lines.append("Limits (`gptneo bench gemm`, same run): FMA peak %s GFLOP/s, read bandwidth %s GB/s, %s threads. "
                     "Ratios > 1: java faster. GEMM fraction = GFLOP/s / FMA peak; decode fraction = bytes_per_token x tokens/s "
                     "/ read bandwidth. A fraction above 1 means the engine beat the measured FMA peak (a Java Vector API "
                     "FMA loop), which is then below the machine's true peak. pytorch: the best OpenBLAS core type per GEMM shape, the better intra-op setting per workload (named)."
                     % (limits.get("fma_peak_gflops"), limits.get("read_bandwidth_gb_s"), limits.get("threads")))
    if versions:
        lines.append("")
        lines.append("Engines: " + "; ".join("%s: %s" % (e, t) for e, t in versions.items()) + ".")
    return "\n".join(lines)


def rewrite_doc(path, text):
    try:
        with open(path) as f:
            doc = f.read()
    except FileNotFoundError:
        doc = ""
    block = BEGIN + "\n" + text + "\n" + END
    if BEGIN in doc and END in doc and doc.index(BEGIN) < doc.index(END):
        doc = doc[:doc.index(BEGIN)] + block + doc[doc.index(END) + len(END):]
    else:
        doc = doc + ("\n" if doc and not doc.endswith("\n") else "") + "\n" + block + "\n"
    with open(path, "w") as f:
        f.write(doc)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("raw")
    p.add_argument("--doc")
    p.add_argument("--command", default="")
    p.add_argument("--machine", default="")
    p.add_argument("--notes", default="", help="lines to add under the table (skips, core type used)")
    a = p.parse_args()
    rows = read(a.raw)
    limits, table = workloads(rows)
    versions = engines(rows)
    if not table:
        sys.exit("compare_table: no measurements in " + a.raw)
    print(render(limits, table, markdown=False, versions=versions))
    if a.doc:
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        text = "%s\n\n" % render(limits, table, markdown=True, versions={e: "`%s`" % v for e, v in versions.items()})
        if a.notes:
            text += "\n".join("- " + n for n in a.notes.splitlines() if n.strip()) + "\n\n"
        text += "Measured %s on %s.\nCommand: `%s`" % (now, a.machine, a.command)
        rewrite_doc(a.doc, text)
        print("compare_table: rewrote the compare.sh section of %s" % a.doc)


if __name__ == "__main__":
    main()
