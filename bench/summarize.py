"""Write bench/results/summary.md from the JSON lines that measure.py records.

Usage: python summarize.py [RESULTS_DIR]. Medians are over the successful runs; every
individual value is listed in run order.
"""

import json
import os
import statistics
import sys

GOAL_OVERHEAD_MS = 5.0
GOAL_TASKS_PER_S = 300.0
GOAL_PEAK_MB = 100.0


def load(results, name):
    path = os.path.join(results, f"{name}.jsonl")
    if not os.path.exists(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def median(values):
    return statistics.median(values) if values else float("nan")


def listing(values, fmt="{:.2f}"):
    return ", ".join(fmt.format(v) for v in values)


def load_range(runs):
    loads = [r["loadavg_before"][0] for r in runs]
    return f"{min(loads):.1f}-{max(loads):.1f}" if loads else "-"


def met(ok):
    return "**met**" if ok else "**not met**"


def compare_section(runs):
    out = [
        "## Goal 1: the 21-task ParallelFor and the 10-task chain, kfp.local and weir",
        "",
        "Same compiled YAML for both tools. Process wall: the command end to end (kfp: "
        "`python fanout.py --venv 0`, which imports kfp, compiles and runs under "
        "`SubprocessRunner(use_venv=False)`; weir: `weir run FILE --json`). Pipeline-call "
        "wall (kfp only): the pipeline call inside kfp.local, without interpreter start and "
        "compile. Own CPU: user+system CPU of the tool's process itself; child CPU: of the "
        "task processes it ran.",
        "",
        "| pipeline | tool | tasks | ok | median process wall (s) | per task (s) "
        "| median pipeline-call wall (s) | median own CPU (s) | median child CPU (s) "
        "| own peak RSS (MB) | process walls (s) | load (1m) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    medians = {}
    for pipeline in ("fanout", "chain"):
        for tool in ("kfp.local", "weir"):
            allr = [r for r in runs if r["pipeline"] == pipeline and r["tool"] == tool]
            rs = [r for r in allr if r["ok"]]
            if not allr:
                continue
            walls = [r["wall_s"] for r in rs]
            tasks = rs[0]["tasks"] if rs else 0
            wall = median(walls)
            medians[(pipeline, tool)] = wall
            call = median([r["pipeline_call_wall_s"] for r in rs if r.get("pipeline_call_wall_s")])
            call_text = f"{call:.2f}" if call == call else "-"
            out.append(
                f"| {pipeline} | {tool} | {tasks} | {len(rs)}/{len(allr)} | {wall:.2f} "
                f"| {wall / max(tasks, 1):.3f} | {call_text} "
                f"| {median([r['self_cpu_s'] for r in rs]):.2f} "
                f"| {median([r['children_cpu_s'] for r in rs]):.2f} "
                f"| {median([r['peak_rss_self_mb'] for r in rs]):.0f} "
                f"| {listing(walls)} | {load_range(allr)} |"
            )
    out.append("")
    for pipeline in ("fanout", "chain"):
        kfp, weir = medians.get((pipeline, "kfp.local")), medians.get((pipeline, "weir"))
        if kfp and weir:
            out.append(f"- {pipeline}: weir {weir:.2f} s vs kfp.local {kfp:.2f} s, "
                       f"{kfp / weir:.1f}x faster end to end.")
    out.append("")
    return out


def overhead_section(runs, machine):
    spawns = {r["rep"]: r for r in runs if r["tool"] == "spawn_loop"}
    weir = {(r["rep"], r["chain_length"], r["data_fs"]): r
            for r in runs if r["tool"] == "weir" and r["ok"]}
    filesystems = sorted({r["data_fs"] for r in runs if r["tool"] == "weir"})
    rows, per_task, marginal, cpu_per_task = [], {}, {}, {}
    for fs in filesystems:
        for rep in sorted(spawns):
            long_run, short_run = weir.get((rep, 200, fs)), weir.get((rep, 1, fs))
            if not long_run:
                continue
            spawn_ms = spawns[rep]["mean_ms"]
            overhead = (long_run["wall_s"] * 1e3 - 200 * spawn_ms) / 200
            per_task.setdefault(fs, []).append(overhead)
            cpu = long_run["self_cpu_s"] * 1e3 / 200
            cpu_per_task.setdefault(fs, []).append(cpu)
            marginal_text, short_text = "-", "-"
            if short_run:
                value = (long_run["wall_s"] - short_run["wall_s"]) * 1e3 / 199 - spawn_ms
                marginal.setdefault(fs, []).append(value)
                marginal_text, short_text = f"{value:.2f}", f"{short_run['wall_s']:.3f}"
            rows.append(
                f"| {fs_label(fs, machine)} | {rep} | {spawn_ms:.3f} "
                f"| {spawns[rep]['median_ms']:.3f} | {long_run['wall_s']:.3f} | {short_text} "
                f"| {overhead:.2f} | {marginal_text} | {long_run['self_cpu_s']:.2f} | {cpu:.2f} "
                f"| {long_run['children_cpu_s']:.2f} | {long_run['loadavg_before'][0]:.1f} |"
            )
    out = [
        "## Goal 1: weir's own overhead per task",
        "",
        "A chain of 200 container tasks that each run `sh -c true` (`bench/overhead_chain_200"
        ".yaml`), so exactly one task runs at a time. Spawn: mean and median time for "
        "`spawn_loop` to spawn and wait for `sh -c true` directly, 1000 times in a row. "
        "Overhead per task = (weir wall for 200 tasks - 200 x mean spawn) / 200; it includes "
        "weir's start-up (loading the YAML, creating the database) spread over the 200 tasks. "
        "Marginal = (wall(200) - wall(1)) / 199 - mean spawn, which excludes start-up. Own CPU: "
        "weir's process alone, without its children. Data dir: where `--data-dir` points.",
        "",
        "| data dir | rep | spawn mean (ms) | spawn median (ms) | weir wall 200 (s) "
        "| weir wall 1 (s) | overhead per task (ms) | marginal per task (ms) "
        "| weir own CPU 200 (s) | own CPU per task (ms) | child CPU 200 (s) | load (1m) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "",
    ]
    for fs in filesystems:
        if fs not in per_task:
            continue
        values = per_task[fs]
        out.append(
            f"- Data dir on {fs_label(fs, machine)}: median overhead per task "
            f"{median(values):.2f} ms (all: {listing(values)}); median marginal "
            f"{median(marginal.get(fs, [])):.2f} ms; median weir CPU per task "
            f"{median(cpu_per_task[fs]):.2f} ms. Goal (at most {GOAL_OVERHEAD_MS:.0f} ms): "
            f"{met(median(values) <= GOAL_OVERHEAD_MS)}."
        )
    out.append("")
    return out


def fs_label(fs, machine):
    detail = (machine.get("data_fs") or {}).get(fs)
    return f"{fs}: {detail}" if detail else fs


def fanout10k_section(runs, machine):
    out = [
        "## Goal 2: a 10,000-task ParallelFor of a trivial command",
        "",
        "`tests/pipelines/bench_fanout_10k.yaml`: each iteration runs `sh -c 'echo \"$0\"' "
        "<item>`, caching off, default parallelism (4 per core). Tasks/s = 10,000 / process "
        "wall of `weir run` (YAML load to exit). Own peak RSS: weir's process; max RSS incl. "
        "children: what `/usr/bin/time -v` reports. Output: `-q` prints the text outcome, "
        "`--json` the full JSON outcome with every task.",
        "",
        "| data dir | output | ok | median wall (s) | median tasks/s | max own peak RSS (MB) "
        "| median own CPU (s) | own CPU per task (ms) | median child CPU (s) | walls (s) "
        "| tasks/s | own peak RSS (MB) | max RSS incl. children (MB) | load (1m) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    verdicts = []
    combos = []
    for r in runs:
        if (r["data_fs"], r["output"]) not in combos:
            combos.append((r["data_fs"], r["output"]))
    for fs, output in combos:
        allr = [r for r in runs if r["data_fs"] == fs and r["output"] == output]
        rs = [r for r in allr if r["ok"]]
        if not rs:
            out.append(f"| {fs_label(fs, machine)} | `{output}` | 0/{len(allr)} | failed "
                       "| | | | | | | | | | |")
            continue
        rate = median([r["tasks_per_s"] for r in rs])
        peak = max(r["peak_rss_self_mb"] for r in rs)
        cpu = median([r["self_cpu_s"] for r in rs])
        out.append(
            f"| {fs_label(fs, machine)} | `{output}` | {len(rs)}/{len(allr)} "
            f"| {median([r['wall_s'] for r in rs]):.2f} | {rate:.0f} | {peak:.1f} | {cpu:.2f} "
            f"| {cpu * 1e3 / 10_000:.2f} | {median([r['children_cpu_s'] for r in rs]):.2f} "
            f"| {listing([r['wall_s'] for r in rs])} "
            f"| {listing([r['tasks_per_s'] for r in rs], '{:.0f}')} "
            f"| {listing([r['peak_rss_self_mb'] for r in rs], '{:.1f}')} "
            f"| {listing([r['maxrss_incl_children_mb'] for r in rs], '{:.1f}')} "
            f"| {load_range(allr)} |"
        )
        verdicts.append(
            f"- {fs_label(fs, machine)}, `{output}`: {rate:.0f} tasks/s, "
            f"throughput goal (at least {GOAL_TASKS_PER_S:.0f}/s) "
            f"{met(rate >= GOAL_TASKS_PER_S and len(rs) == len(allr))}; peak {peak:.1f} MB "
            f"(largest of the runs), memory goal (at most {GOAL_PEAK_MB:.0f} MB) "
            f"{met(peak <= GOAL_PEAK_MB)}."
        )
    out += ["", *verdicts, ""]
    return out


def write_summary(results):
    """Write results/summary.md and return its path."""
    machine = {}
    path = os.path.join(results, "machine.json")
    if os.path.exists(path):
        with open(path) as f:
            machine = json.load(f)
    lines = [
        "# Benchmark summary (generated by bench/summarize.py)",
        "",
        f"Machine: {machine.get('nproc')} CPUs ({machine.get('cpu_model')}), "
        f"{machine.get('mem_gib')} GiB RAM, Linux {machine.get('kernel')}; "
        f"{machine.get('weir')} built from {machine.get('weir_build')}; kfp {machine.get('kfp')} on "
        f"Python {machine.get('python')}; measured {machine.get('date')}, load average at "
        f"start {machine.get('loadavg')}.",
        "",
        *compare_section(load(results, "compare")),
        *overhead_section(load(results, "overhead"), machine),
        *fanout10k_section(load(results, "fanout10k"), machine),
    ]
    out = os.path.join(results, "summary.md")
    with open(out, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    write_summary(sys.argv[1] if len(sys.argv) > 1 else
                  os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
