"""Driver for Weir's benchmarks; `bench/run.sh` calls it with the paths it set up.

Stages (`--stages`, a comma list, run in the order given):
  compare    kfp.local (SubprocessRunner(use_venv=False)) and `weir run --json` on the same
             compiled fanout.yaml (21 tasks) and chain.yaml (10 tasks), REPS times, interleaved
  overhead   `weir run` on overhead_chain_200.yaml and overhead_chain_1.yaml, with the data
             dir on disk and on tmpfs. The spawn_loop baseline (the same `sh -c true` spawned
             and waited for directly, --spawns times) runs just before and just after each
             200-task run.
  fanout10k  `weir run` on the 10,000-task ParallelFor: data dir on disk with `-q` and with
             `--json`, and on tmpfs with `-q`
  summary    results/summary.md from the .jsonl files

Every process is measured by `measure()`, which records:
  wall time     from spawn to exit
  own CPU       user and system CPU of the process alone, from fields utime and stime of
                /proc/PID/stat. They are read after the process has exited but before it is
                reaped, so they are final and exclude its children.
  child CPU     fields cutime and cstime of the same file
  own peak RSS  VmHWM of /proc/PID/status, polled every 10 ms, so growth in the last 10 ms
                before exit is missed
  max RSS incl. children
                ru_maxrss from wait4: the larger of the process's peak and its largest
                child's. This is the figure `/usr/bin/time -v` prints.
"""

import argparse
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import summarize

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
FANOUT_SUM = sum(i * i for i in range(20))  # output of fanout.yaml's fan-in task
RUNNING = [None]  # the process measure() is waiting for, if any


def poll_peak_rss(pid, stop, peak):
    """Store the largest VmHWM (KiB) of `pid` in `peak[0]` until `stop` is set."""
    path = f"/proc/{pid}/status"
    while not stop.is_set():
        try:
            with open(path) as status:
                for line in status:
                    if line.startswith("VmHWM:"):
                        peak[0] = max(peak[0], int(line.split()[1]))
                        break
        except (OSError, ValueError):
            return
        stop.wait(0.01)


def read_cpu_ticks(pid):
    """Return (utime, stime, cutime, cstime) of `pid` in seconds from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as stat:
        text = stat.read()
    # Fields after the command name, which is in parentheses and may contain spaces.
    fields = text[text.rindex(")") + 2 :].split()
    utime, stime, cutime, cstime = (int(v) / CLOCK_TICKS for v in fields[11:15])
    return utime, stime, cutime, cstime


def measure(argv, stdout_path, env, cwd=None, timeout=300):
    """Run `argv` to completion and return its timing and memory record."""
    with open(stdout_path, "wb") as out, open(stdout_path + ".err", "wb") as err:
        load_before = os.getloadavg()
        started = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env, cwd=cwd)
        RUNNING[0] = proc
        stop = threading.Event()
        peak = [0]
        poller = threading.Thread(target=poll_peak_rss, args=(proc.pid, stop, peak), daemon=True)
        # On timeout: SIGINT (weir cancels the run and stops its tasks), SIGKILL 10 s later.
        interrupt = threading.Timer(timeout, proc.send_signal, args=(signal.SIGINT,))
        kill = threading.Timer(timeout + 10, proc.send_signal, args=(signal.SIGKILL,))
        try:
            poller.start()
            interrupt.start()
            kill.start()
            # WNOWAIT leaves the process a zombie, whose /proc/PID/stat has its final times.
            os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOWAIT)
            wall = time.perf_counter() - started
            utime, stime, cutime, cstime = read_cpu_ticks(proc.pid)
            stop.set()
            _, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            RUNNING[0] = None
        finally:
            stop.set()
            interrupt.cancel()
            kill.cancel()
        poller.join()
    return dict(
        rc=proc.returncode,
        wall_s=round(wall, 4),
        self_user_s=round(utime, 2),
        self_sys_s=round(stime, 2),
        self_cpu_s=round(utime + stime, 2),
        children_cpu_s=round(cutime + cstime, 2),
        peak_rss_self_mb=round(peak[0] / 1024, 1),
        maxrss_incl_children_mb=round(usage.ru_maxrss / 1024, 1),
        loadavg_before=[round(x, 2) for x in load_before],
        loadavg_after=[round(x, 2) for x in os.getloadavg()],
    )


class Bench:
    """Paths, environment and the results file shared by every stage."""

    def __init__(self, args):
        self.args = args
        self.env = dict(os.environ)
        # Lightweight components run the `python3` and `pip` first on PATH, for both tools.
        self.env["PATH"] = os.path.join(args.venv, "bin") + os.pathsep + self.env["PATH"]
        self.env["PYTHONWARNINGS"] = "ignore::FutureWarning"
        self.env.pop("WEIR_LOG", None)
        self.python = os.path.join(args.venv, "bin", "python")
        # Weir's data dirs stay until the end: deleting many files just before a run slows
        # the run's own file creation on ext4 without a journal (see docs/benchmarks.md).
        self.work = tempfile.mkdtemp(prefix="weir-bench-", dir="/tmp")
        self.data_roots = {"disk": self.work}
        if os.path.isdir("/dev/shm"):
            self.data_roots["tmpfs"] = tempfile.mkdtemp(prefix="weir-bench-", dir="/dev/shm")
        os.makedirs(RESULTS, exist_ok=True)

    def cleanup(self):
        for root in self.data_roots.values():
            shutil.rmtree(root, ignore_errors=True)

    def record(self, name, rec):
        """Append `rec` to results/<name>.jsonl and echo it."""
        line = json.dumps(rec)
        print(line, flush=True)
        with open(os.path.join(RESULTS, f"{name}.jsonl"), "a") as out:
            out.write(line + "\n")

    def run_weir(self, yaml_path, params=(), fs="disk", output="--json"):
        """Run `weir run` with a fresh data dir on `fs`; return the record and the outcome.

        `output` is `--json` (the outcome is parsed) or `-q` (the text summary is parsed for
        the state and the number of succeeded loop tasks).
        """
        data_dir = tempfile.mkdtemp(prefix="data-", dir=self.data_roots[fs])
        argv = [self.args.weir, "--data-dir", data_dir, "run", yaml_path, output]
        for param in params:
            argv += ["--param", param]
        out = os.path.join(self.work, "weir-out.txt")
        rec = measure(argv, out, self.env)
        rec.update(data_fs=fs, output=output)
        with open(out) as f:
            text = f.read()
        outcome = {}
        if output == "--json":
            try:
                outcome = json.loads(text)
            except ValueError:
                pass
            rec["state"] = outcome.get("state")
            tasks = outcome.get("tasks", [])
            rec["tasks"] = sum(1 for t in tasks if t.get("kind") == "container")
        else:
            state = re.search(r"^State\s+(\w+)", text, re.M)
            done = re.search(r"tasks: (\d+) SUCCEEDED", text)
            rec["state"] = state.group(1) if state else None
            rec["tasks"] = int(done.group(1)) if done else None
        return rec, outcome

    def run_kfp(self, script):
        """Run one of the kfp.local scripts with use_venv=False; return its record."""
        out = os.path.join(self.work, f"kfp-{script}.log")
        root = tempfile.mkdtemp(prefix=f"kfp-root-{script}-", dir=self.work)
        argv = [self.python, "-W", "ignore::FutureWarning", f"{script}.py", "--venv", "0",
                "--root", root]
        rec = measure(argv, out, self.env, cwd=self.kfp_copy)
        bench = None
        with open(out) as f:
            for line in f:
                match = re.search(r"BENCH (\{.*\})\s*$", line)
                if match:
                    bench = json.loads(match.group(1))
        bench = bench or {}
        rec["pipeline_call_wall_s"] = bench.get("wall_s")
        rec["tasks"] = bench.get("tasks")
        rec["outputs"] = bench.get("outputs")
        return rec

    def copy_kfp_scripts(self):
        """Copy the kfp.local scripts to a scratch folder.

        The scripts compile their pipeline next to themselves on every run; the copy keeps
        the reference folder untouched. Returns whether the freshly compiled YAML equals the
        reference YAML that weir runs (apart from the header comment).
        """
        self.kfp_copy = os.path.join(self.work, "kfp-local")
        os.makedirs(self.kfp_copy)
        for name in ("common.py", "fanout.py", "chain.py"):
            shutil.copy(os.path.join(self.args.kfp_dir, name), self.kfp_copy)
        same = {}
        for name in ("fanout", "chain"):
            subprocess.run(
                [self.python, "-W", "ignore::FutureWarning", f"{name}.py", "--compile-only"],
                cwd=self.kfp_copy, env=self.env, check=True, timeout=300,
            )
            same[name] = strip_comments(os.path.join(self.kfp_copy, f"{name}.yaml")) == (
                strip_comments(os.path.join(self.args.kfp_dir, f"{name}.yaml"))
            )
        return same


def strip_comments(path):
    with open(path) as f:
        return [line for line in f if not line.startswith("#")]


def wait_for_quiet(max_load, max_wait):
    """Wait until the 1-minute load average is at most `max_load`, for at most `max_wait` s."""
    deadline = time.monotonic() + max_wait
    lowest = os.getloadavg()[0]
    while os.getloadavg()[0] > max_load and time.monotonic() < deadline:
        time.sleep(10)
        lowest = min(lowest, os.getloadavg()[0])
    load = os.getloadavg()
    print(f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} "
          f"(lowest seen while waiting {lowest:.2f}, target {max_load})", flush=True)


def stage_compare(bench):
    same = bench.copy_kfp_scripts()
    print(f"kfp compiles the same YAML as the reference files: {same}", flush=True)
    for rep in range(1, bench.args.reps + 1):
        for name in ("fanout", "chain"):
            yaml_path = os.path.join(bench.args.kfp_dir, f"{name}.yaml")
            rec = bench.run_kfp(name)
            ok = rec["rc"] == 0 and expected_output(name, rec.get("outputs") or {})
            bench.record("compare", dict(tool="kfp.local", pipeline=name, rep=rep, ok=ok,
                                         same_yaml=same[name], **rec))

            rec, outcome = bench.run_weir(yaml_path)
            outputs = (outcome.get("outputs") or {}).get("parameters") or {}
            ok = rec["rc"] == 0 and rec["state"] == "SUCCEEDED" and expected_output(
                name, {"Output": outputs.get("Output"), "value": outputs.get("value")}
            )
            bench.record("compare", dict(tool="weir", pipeline=name, rep=rep, ok=ok, **rec))


def expected_output(name, outputs):
    """Check whether a run of fanout or chain produced the known result."""
    if name == "fanout":
        return outputs.get("Output") == FANOUT_SUM
    return outputs.get("value") == 9


def stage_overhead(bench):
    chains = {n: os.path.join(HERE, f"overhead_chain_{n}.yaml") for n in (200, 1)}
    for rep in range(1, bench.args.reps + 1):
        for fs in bench.data_roots:
            # The baseline brackets the 200-task run, so that load drift hits both alike.
            before = spawn_baseline(bench)
            rec, _ = bench.run_weir(chains[200], fs=fs)
            after = spawn_baseline(bench)
            ok = rec["rc"] == 0 and rec["state"] == "SUCCEEDED" and rec["tasks"] == 200
            rec["spawn_mean_ms"] = round((before["mean_ms"] + after["mean_ms"]) / 2, 4)
            rec["spawn_median_ms"] = round((before["median_ms"] + after["median_ms"]) / 2, 4)
            rec["spawns"] = [before, after]
            bench.record("overhead", dict(tool="weir", pipeline="overhead_chain_200",
                                          chain_length=200, rep=rep, ok=ok, **rec))

            rec, _ = bench.run_weir(chains[1], fs=fs)
            ok = rec["rc"] == 0 and rec["state"] == "SUCCEEDED" and rec["tasks"] == 1
            bench.record("overhead", dict(tool="weir", pipeline="overhead_chain_1",
                                          chain_length=1, rep=rep, ok=ok, **rec))


def spawn_baseline(bench):
    """Time `sh -c true` spawned and waited for directly, --spawns times in a row."""
    done = subprocess.run(
        [bench.args.spawn_loop, str(bench.args.spawns), "sh", "-c", "true"],
        capture_output=True, text=True, check=True, timeout=300,
    )
    return json.loads(done.stdout)


def stage_fanout10k(bench):
    yaml_path = os.path.join(bench.args.repo, "tests", "pipelines", "bench_fanout_10k.yaml")
    combos = [("disk", "-q"), ("disk", "--json"), ("tmpfs", "-q")]
    for rep in range(1, bench.args.reps_10k + 1):
        for fs, output in combos:
            if fs not in bench.data_roots:
                continue
            rec, _ = bench.run_weir(yaml_path, fs=fs, output=output)
            ok = rec["rc"] == 0 and rec["state"] == "SUCCEEDED" and rec["tasks"] == 10_000
            rec["tasks_per_s"] = round(10_000 / rec["wall_s"], 1)
            bench.record("fanout10k", dict(tool="weir", pipeline="bench_fanout_10k",
                                           items=10_000, rep=rep, ok=ok, **rec))


def machine_info(bench):
    cpu = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    version = subprocess.run([bench.args.weir, "--version"], capture_output=True, text=True)
    kfp = subprocess.run([bench.python, "-c", "import kfp; print(kfp.__version__)"],
                         capture_output=True, text=True, env=bench.env)
    return dict(
        date=time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        nproc=os.cpu_count(),
        cpu_model=cpu,
        mem_gib=round(mem_kb / 1024 / 1024, 1),
        kernel=platform.release(),
        weir=version.stdout.strip(),
        weir_build=bench.args.build,
        python=platform.python_version(),
        kfp=kfp.stdout.strip(),
        loadavg=[round(x, 2) for x in os.getloadavg()],
        data_fs={name: filesystem(root) for name, root in bench.data_roots.items()},
    )


def filesystem(path):
    """Describe the file system that contains `path`, e.g. "ext4 (/dev/vda, no journal)"."""
    best = ("", "", "")
    with open("/proc/mounts") as mounts:
        for line in mounts:
            device, mount_point, fs_type = line.split()[:3]
            inside = path == mount_point or path.startswith(mount_point.rstrip("/") + "/")
            if inside and len(mount_point) >= len(best[1]):
                best = (device, mount_point, fs_type)
    device, _, fs_type = best
    detail = device
    if fs_type == "ext4":
        journal = f"/sys/fs/ext4/{os.path.basename(device)}/journal_task"
        try:
            with open(journal) as f:
                detail += ", no journal" if f.read().strip() == "<none>" else ", journal"
        except OSError:
            pass
    return f"{fs_type} ({detail})"


def stop_on_signal(signum, frame):
    """Stop the measured process and exit, so that `main` removes the scratch folders.

    SIGINT makes weir cancel its run and stop its tasks, and makes Python exit.
    """
    proc = RUNNING[0]
    if proc is not None and proc.returncode is None:
        proc.send_signal(signal.SIGINT)
    sys.exit(f"stopped by signal {signum}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weir", required=True, help="weir release binary")
    ap.add_argument("--build", default="", help="what the weir binary was built from")
    ap.add_argument("--spawn-loop", required=True, help="spawn_loop binary (spawn_loop.rs)")
    ap.add_argument("--venv", required=True, help="Python venv with kfp 2.17.3")
    ap.add_argument("--repo", required=True, help="Weir checkout (for tests/pipelines)")
    ap.add_argument("--kfp-dir", required=True, help="folder with the kfp.local scripts")
    ap.add_argument("--reps", type=int, default=5, help="repetitions of compare and overhead")
    ap.add_argument("--reps-10k", type=int, default=3, help="repetitions of fanout10k")
    ap.add_argument("--spawns", type=int, default=200, help="spawns per spawn_loop run")
    ap.add_argument("--stages", default="compare,overhead,fanout10k,summary")
    ap.add_argument("--max-load", type=float, default=1.0,
                    help="wait before measuring until the 1-minute load average is this low")
    ap.add_argument("--load-wait", type=int, default=0,
                    help="maximum seconds to wait for --max-load")
    args = ap.parse_args()
    stages = args.stages.split(",")
    unknown = set(stages) - {"compare", "overhead", "fanout10k", "summary"}
    if unknown:
        sys.exit(f"unknown stage(s) {sorted(unknown)}; use compare, overhead, fanout10k, summary")

    bench = Bench(args)
    signal.signal(signal.SIGTERM, stop_on_signal)
    measuring = [s for s in stages if s != "summary"]
    if measuring:
        for stage in measuring:  # each run of run.sh replaces the results of its stages
            path = os.path.join(RESULTS, f"{stage}.jsonl")
            if os.path.exists(path):
                os.remove(path)
        wait_for_quiet(args.max_load, args.load_wait)
    try:
        for stage in measuring:
            info = dict(machine_info(bench), reps=args.reps, reps_10k=args.reps_10k)
            print("machine", json.dumps(info), flush=True)
            with open(os.path.join(RESULTS, f"machine-{stage}.json"), "w") as f:
                json.dump(info, f, indent=1)
            globals()[f"stage_{stage}"](bench)
    finally:
        bench.cleanup()
    if "summary" in stages:
        summarize.write_summary(RESULTS)


if __name__ == "__main__":
    main()
