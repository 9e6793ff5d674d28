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


def load_records(results, name):
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


def goal_verdict(ok):
    return "**met**" if ok else "**not met**"


def compare_section(runs, machine):
    out = [
        "## Goal 1: the 21-task ParallelFor and the 10-task chain, kfp.local and weir",
        "",
        measured_line(machine),
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
            all_runs = [r for r in runs if r["pipeline"] == pipeline and r["tool"] == tool]
            ok_runs = [r for r in all_runs if r["ok"]]
            if not all_runs:
                continue
            walls = [r["wall_s"] for r in ok_runs]
            tasks = ok_runs[0]["tasks"] if ok_runs else 0
            wall = median(walls)
            medians[(pipeline, tool)] = wall
            calls = [r["pipeline_call_wall_s"] for r in ok_runs if r.get("pipeline_call_wall_s")]
            call = median(calls)
            call_text = f"{call:.2f}" if call == call else "-"
            out.append(
                f"| {pipeline} | {tool} | {tasks} | {len(ok_runs)}/{len(all_runs)} | {wall:.2f} "
                f"| {wall / max(tasks, 1):.3f} | {call_text} "
                f"| {median([r['self_cpu_s'] for r in ok_runs]):.2f} "
                f"| {median([r['children_cpu_s'] for r in ok_runs]):.2f} "
                f"| {median([r['peak_rss_self_mb'] for r in ok_runs]):.0f} "
                f"| {listing(walls)} | {load_range(all_runs)} |"
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
    weir = {(r["rep"], r["chain_length"], r["data_fs"]): r for r in runs if r["ok"]}
    filesystems = []
    for r in runs:
        if r["data_fs"] not in filesystems:
            filesystems.append(r["data_fs"])
    rows, per_task, marginal, cpu_per_task = [], {}, {}, {}
    for fs in filesystems:
        for rep in sorted({r["rep"] for r in runs}):
            long_run, short_run = weir.get((rep, 200, fs)), weir.get((rep, 1, fs))
            if not long_run:
                continue
            spawn_ms = long_run["spawn_mean_ms"]
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
                f"| {long_run['spawn_median_ms']:.3f} | {long_run['wall_s']:.3f} | {short_text} "
                f"| {overhead:.2f} | {marginal_text} | {long_run['self_cpu_s']:.2f} | {cpu:.2f} "
                f"| {long_run['children_cpu_s']:.2f} | {long_run['loadavg_before'][0]:.1f} |"
            )
    out = [
        "## Goal 1: weir's own overhead per task",
        "",
        measured_line(machine),
        "",
        "A chain of 200 container tasks that each run `sh -c true` (`bench/overhead_chain_200"
        ".yaml`), so exactly one task runs at a time. Spawn: mean and median time for "
        "`spawn_loop` to spawn and wait for `sh -c true` directly, 200 times in a row, "
        "averaged over one loop just before and one just after the 200-task run. "
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
            f"{goal_verdict(median(values) <= GOAL_OVERHEAD_MS)}."
        )
    out.append("")
    return out


def measured_line(machine):
    if not machine:
        return "No machine record for this stage."
    return (f"Measured {machine.get('date')} with weir built from {machine.get('weir_build')}; "
            f"load average (1, 5, 15 min) at the start {machine.get('loadavg')}.")


def fs_label(fs, machine):
    detail = (machine.get("data_fs") or {}).get(fs)
    return f"{fs}: {detail}" if detail else fs


def fanout10k_section(runs, machine):
    out = [
        "## Goal 2: a 10,000-task ParallelFor of a trivial command",
        "",
        measured_line(machine),
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
        all_runs = [r for r in runs if r["data_fs"] == fs and r["output"] == output]
        ok_runs = [r for r in all_runs if r["ok"]]
        if not ok_runs:
            out.append(f"| {fs_label(fs, machine)} | `{output}` | 0/{len(all_runs)} | failed "
                       "| | | | | | | | | | |")
            continue
        rate = median([r["tasks_per_s"] for r in ok_runs])
        peak = max(r["peak_rss_self_mb"] for r in ok_runs)
        cpu = median([r["self_cpu_s"] for r in ok_runs])
        out.append(
            f"| {fs_label(fs, machine)} | `{output}` | {len(ok_runs)}/{len(all_runs)} "
            f"| {median([r['wall_s'] for r in ok_runs]):.2f} | {rate:.0f} | {peak:.1f} | {cpu:.2f} "
            f"| {cpu * 1e3 / 10_000:.2f} | {median([r['children_cpu_s'] for r in ok_runs]):.2f} "
            f"| {listing([r['wall_s'] for r in ok_runs])} "
            f"| {listing([r['tasks_per_s'] for r in ok_runs], '{:.0f}')} "
            f"| {listing([r['peak_rss_self_mb'] for r in ok_runs], '{:.1f}')} "
            f"| {listing([r['maxrss_incl_children_mb'] for r in ok_runs], '{:.1f}')} "
            f"| {load_range(all_runs)} |"
        )
        fast_enough = rate >= GOAL_TASKS_PER_S and len(ok_runs) == len(all_runs)
        verdicts.append(
            f"- {fs_label(fs, machine)}, `{output}`: {rate:.0f} tasks/s, "
            f"throughput goal (at least {GOAL_TASKS_PER_S:.0f}/s) "
            f"{goal_verdict(fast_enough)}; peak {peak:.1f} MB "
            f"(largest of the runs), memory goal (at most {GOAL_PEAK_MB:.0f} MB) "
            f"{goal_verdict(peak <= GOAL_PEAK_MB)}."
        )
    out += ["", *verdicts, ""]
    return out


def write_summary(results):
    """Write results/summary.md and return its path."""
    machines = {}
    for stage in ("compare", "overhead", "fanout10k"):
        path = os.path.join(results, f"machine-{stage}.json")
        if os.path.exists(path):
            with open(path) as f:
                machines[stage] = json.load(f)
    any_machine = next(iter(machines.values()), {})
    lines = [
        "# Benchmark summary (generated by bench/summarize.py)",
        "",
        f"Machine: {any_machine.get('nproc')} CPUs ({any_machine.get('cpu_model')}), "
        f"{any_machine.get('mem_gib')} GiB RAM, Linux {any_machine.get('kernel')}; "
        f"{any_machine.get('weir')}; kfp {any_machine.get('kfp')} on Python "
        f"{any_machine.get('python')}.",
        "",
        *compare_section(load_records(results, "compare"), machines.get("compare", {})),
        *overhead_section(load_records(results, "overhead"), machines.get("overhead", {})),
        *fanout10k_section(load_records(results, "fanout10k"), machines.get("fanout10k", {})),
    ]
    out = os.path.join(results, "summary.md")
    with open(out, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {out}")
    return out


if __name__ == "__main__":
    write_summary(sys.argv[1] if len(sys.argv) > 1 else
                  os.path.join(os.path.dirname(os.path.abspath(__file__)), "results"))
