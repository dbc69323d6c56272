"""``auditor scan`` against a plain concurrent boto3 loop making the same calls, on a large local account.

    .venv/bin/python -m benchmarks.bench_scan [--scale 1] [--workers 8] [--latency 50] [--monitors N] [--repeat 3]

``--scale`` and ``--workers`` take comma-separated lists (``--scale 0.25,0.5,1 --workers 8,16,32``): each scale
is built once on a fresh server and measured at every worker count. For each scale:

1. builds the account of :mod:`benchmarks.account` on a local moto server in its own process (no latency,
   many requests at once) and the Datadog organisation on the local Datadog API; checks the counts;
2. warm-up, without latency: one ``auditor scan`` and one plain loop (:mod:`benchmarks.plain_loop`); prints
   their calls by operation beside the minimum computed from the account (:func:`account.minimum_calls`)
   and every difference between the tool's ``stats.calls`` and the loop's count;
3. switches on the latency (a WSGI middleware in front of moto and a delay in the Datadog server, outside
   both processes under test), and runs, interleaved, tool, loop, tool, loop… ``--repeat`` times at each
   worker count: the real CLI (``--format json --stats``, all default checks, Datadog included) and the loop,
   each a child process measured from outside (wall, user+sys CPU and peak RSS from ``wait4``, by a small
   launcher, :mod:`benchmarks.measure`: Linux would give a child of this process this process's peak RSS);
4. prints medians, the ratio tool/loop (median of the pairs' ratios), the latency bound (calls × latency ÷
   workers, and the chain of dependent calls × latency), and memory per resource above an empty account;
   where Linux ``perf`` can count them, also the instructions each contender executed (``perf stat -e
   instructions``): on a shared machine the same work takes 1–3 times as long from one minute to the next,
   the instructions do not vary by more than a percent, so they tell linear from not linear where times cannot.

The moto server answers ``ListFunctions`` and ``ListEventSourceMappings`` in AWS-sized pages (50, 100) and,
unless ``--no-replay``, serves each read moto answered once from a recording (see
:mod:`auditor.demo.bench_server`): its own CPU would otherwise take a core of this 2-core machine from the
process under test. Results and the machine go to ``--json`` when given.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from botocore.config import Config

from auditor.demo import bench_server
from auditor.demo.datadog_server import DatadogServer
from auditor.demo.servers import LocalAws
from benchmarks import account

ROOT = Path(__file__).resolve().parent.parent
DD_API_KEY = "b" * 32
DD_APP_KEY = "c" * 40
PROFILE = "bench"
_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "no_proxy")


@dataclass
class Run:
    what: str
    workers: int
    wall: float
    cpu: float
    rss_mb: float
    calls: dict[str, int]
    server: dict[str, Any] = field(default_factory=dict)
    server_cpu: float = 0.0
    inner_wall: float | None = None
    code: int = 0
    not_evaluated: int = 0
    activity: dict[str, Any] = field(default_factory=dict)
    findings: str = ""
    instructions: float | None = None  # perf stat, when available


def _perf() -> list[str] | None:
    """``perf stat`` counting the instructions of a command, when this machine lets it (else None)."""
    import shutil

    perf = shutil.which("perf")
    if perf is None:
        return None
    try:
        probe = subprocess.run([perf, "stat", "-e", "instructions", "-x,", "--", "true"], capture_output=True,
                               text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    counted = [line for line in probe.stderr.splitlines() if ",instructions" in line]
    if probe.returncode != 0 or not counted or not counted[0].split(",")[0].strip().isdigit():
        return None  # not supported, or not permitted (perf_event_paranoid)
    return [perf, "stat", "-e", "instructions", "-x,"]


def _instructions(path: Path) -> float | None:
    try:
        for line in path.read_text().splitlines():
            if ",instructions" in line and line.split(",")[0].strip().isdigit():
                return float(line.split(",")[0])
    except OSError:
        pass
    return None


def activity(timeline: list[tuple[str, float, float]], start: float, end: float) -> dict[str, Any]:
    """Where a run's wall time went, from the server's side: before the first AWS request (start-up), with no
    request in flight between the first and the last (the client computing, or waiting on something else),
    after the last one (checks and output), and when each service's requests ran (seconds from the start)."""
    if not timeline:
        return {}
    spans = sorted((t0, t1) for _, t0, t1 in timeline)
    first, last = spans[0][0], max(t1 for _, t1 in spans)
    busy, cur0, cur1 = 0.0, spans[0][0], spans[0][1]
    for t0, t1 in spans[1:]:
        if t0 > cur1:
            busy += cur1 - cur0
            cur0, cur1 = t0, t1
        else:
            cur1 = max(cur1, t1)
    busy += cur1 - cur0
    services: dict[str, list[float]] = {}
    for op, t0, t1 in timeline:
        svc = op.split(":", 1)[0] if not op.startswith("s3control") else "s3"
        w = services.setdefault(svc, [t0, t1, 0])
        w[0], w[1], w[2] = min(w[0], t0), max(w[1], t1), w[2] + 1
    return {
        "startup": first - start, "idle": (last - first) - busy, "tail": end - last, "span": last - first,
        "mean_inflight": sum(t1 - t0 for t0, t1 in spans) / max(last - first, 1e-9),
        "services": {k: (round(v[0] - start, 2), round(v[1] - start, 2), v[2]) for k, v in sorted(services.items())},
    }


def profile_summary(path: Path, top: int = 12) -> str:
    """What a py-spy raw profile (``--gil``: samples of the thread holding the interpreter) says the CPU went
    to: by thread (main; pool threads running a load's warmer; pool threads running fan-out items), by activity, and
    the project's functions with the most samples (inclusive)."""
    by_thread: dict[str, int] = {}
    by_what: dict[str, int] = {}
    funcs: dict[str, int] = {}
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = stack.split(";")
        main = "runpy" in frames[0]
        thread = ("main" if main else "pool: loads" if "inventory/loads.py" in stack else
                  "pool: fan-out items" if "_Batch.run" in stack else "other")
        by_thread[thread] = by_thread.get(thread, 0) + n
        check = next((f for f in frames if "(checks/" in f), None)
        if "_find_and_load" in stack:
            what = "imports"
        elif check:
            what = f"check {check.split('(checks/')[1].split('.py')[0]}"
        elif "_finish (auditor/cli.py" in stack:
            what = "output (render, redact)"
        elif "botocore" in stack:
            what = "botocore (build, sign, send, parse)"
        elif "datadog_api_client" in stack or "datadog/client.py" in stack:
            what = "Datadog client"
        else:
            what = "main, other" if main else "workers, other"
        by_what[what] = by_what.get(what, 0) + n
        for f in set(frames):
            if "(auditor/" in f or "(checks/" in f:
                key = f.rsplit(":", 1)[0] + ")"
                funcs[key] = funcs.get(key, 0) + n
    if not total:
        return "  (no samples)"
    pct = lambda n: f"{100 * n / total:4.1f}%"  # noqa: E731
    out = [f"  {total} samples holding the GIL ({total / 100:.1f}s at 100 Hz); by thread: "
           + ", ".join(f"{k} {pct(v)}" for k, v in sorted(by_thread.items(), key=lambda kv: -kv[1]))]
    out += ["  by activity: " + ", ".join(f"{k} {pct(v)}" for k, v in sorted(by_what.items(), key=lambda kv: -kv[1]))]
    out += ["  the project's functions (inclusive):"]
    skip = ("<module> (auditor/__main__", "main (auditor/cli", "scan (auditor/cli", "run (auditor/engine",
            "_run_one (auditor/engine")
    out += [f"    {pct(v)} {k}" for k, v in sorted(funcs.items(), key=lambda kv: -kv[1])
            if not k.startswith(skip)][:top]
    return "\n".join(out)


def describe_activity(a: dict[str, Any]) -> str:
    if not a:
        return ""
    windows = ", ".join(f"{k} {v[0]:.1f}–{v[1]:.1f}s" for k, v in sorted(a["services"].items(), key=lambda kv: kv[1][0]))
    return (f"{a['startup']:.1f}s before the first AWS request, {a['idle']:.1f}s of {a['span']:.1f}s with none in "
            f"flight, {a['tail']:.1f}s after the last; {a['mean_inflight']:.1f} in flight on average; {windows}")


def machine() -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cores": os.cpu_count(), "cpu": model or platform.processor(), "python": platform.python_version(),
            "platform": platform.platform(), "load": os.getloadavg()}


def _proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return 0.0


class Bench:
    def __init__(self, args: argparse.Namespace, log_dir: Path) -> None:
        self.args = args
        self.log_dir = log_dir
        self.perf = _perf()  # count instructions where perf can
        self.base_env = {k: v for k, v in os.environ.items()
                         if not k.startswith(("AWS_", "DD_", "AUDITOR_")) and k.lower() not in _PROXY_VARS}

    # -- servers --------------------------------------------------------------------------------------------
    def start(self, plan: account.Plan | None) -> tuple[LocalAws, DatadogServer]:
        log = open(self.log_dir / f"moto-{time.time_ns()}.log", "w")  # noqa: SIM115 - closed with the server
        aws = LocalAws(profile=PROFILE).start_isolated(env={"AUDITOR_MOTO_BENCH": "1"}, stderr=log)
        aws._log = log  # type: ignore[attr-defined]
        dd = DatadogServer(plan.monitors if plan else [], plan.downtimes if plan else [],
                           api_key=DD_API_KEY, app_key=DD_APP_KEY).start()
        return aws, dd

    @staticmethod
    def clients(aws: LocalAws, connections: int = 64):
        """``clients(service, region)``: boto3 clients of the bench server, for building and verifying the
        account (standard retries: moto sometimes answers a concurrent write with a 500)."""
        session = aws.session()
        cfg = Config(max_pool_connections=connections, retries={"mode": "standard", "max_attempts": 5})
        return lambda service, region: session.client(service, region_name=region, endpoint_url=aws.endpoint,
                                                      config=cfg)

    @staticmethod
    def stop(aws: LocalAws, dd: DatadogServer) -> None:
        dd.stop()
        aws.stop()
        aws._log.close()  # type: ignore[attr-defined]

    def env(self, aws: LocalAws, dd: DatadogServer) -> dict[str, str]:
        # HTTP_PROXY: the moto server also takes requests as a proxy, so that s3control's account-prefixed host
        # (123456789012.127.0.0.1, which no resolver knows) reaches it, as s3control's host does on AWS.
        return {**self.base_env, **aws.env(), "HTTP_PROXY": aws.endpoint, "DD_HOST": dd.url, "DD_API_KEY": DD_API_KEY,
                "DD_APP_KEY": DD_APP_KEY}

    # -- children -------------------------------------------------------------------------------------------
    def child(self, what: str, workers: int, aws: LocalAws, dd: DatadogServer, profile: Path | None = None) -> Run:
        env = self.env(aws, dd)
        out = Path(tempfile.mkstemp(prefix=f"bench-{what}-", suffix=".json", dir=self.log_dir)[1])
        if what == "tool":
            cmd = [sys.executable, "-m", "auditor", "scan", "--profile", PROFILE, "--format", "json", "--stats",
                   "--output", str(out), "--workers", str(workers)]
        else:
            cmd = [sys.executable, "-m", "benchmarks.plain_loop", "--profile", PROFILE, "--workers", str(workers)]
        if profile is not None:  # sample the interpreter 100 times a second (py-spy; not a dependency of the project)
            spy = Path(sys.executable).with_name("py-spy")
            cmd = [str(spy if spy.exists() else "py-spy"), "record", "--gil", "--format", "raw", "--rate", "100",
                   "--output", str(profile), "--", *cmd]
        # Measured by a small launcher: a child of this process would report at least this process's own peak
        # RSS (see benchmarks/measure.py).
        counted = Path(tempfile.mkstemp(prefix=f"bench-{what}-", suffix=".perf", dir=self.log_dir)[1])
        if self.perf and profile is None:
            cmd = [*self.perf, "-o", str(counted), "--", *cmd]
        measured = Path(tempfile.mkstemp(prefix=f"bench-{what}-", suffix=".rusage", dir=self.log_dir)[1])
        cmd = [sys.executable, "-m", "benchmarks.measure", str(measured), "--", *cmd]
        bench_server.reset_stats(aws.endpoint)
        server_pid = aws._proc.pid  # type: ignore[attr-defined]
        server_cpu = _proc_cpu(server_pid)
        with open(self.log_dir / f"{what}.stderr", "w") as err:
            t0 = time.monotonic()
            proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=err)
            stdout = proc.stdout.read() if proc.stdout else b""
            _, status, usage = os.wait4(proc.pid, 0)
            t1 = time.monotonic()
            wall = t1 - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.stdout:
            proc.stdout.close()
        server_cpu = _proc_cpu(server_pid) - server_cpu
        seen = bench_server.stats(aws.endpoint)
        own = json.loads(measured.read_text() or "{}")
        measured.unlink(missing_ok=True)
        run = Run(what, workers, own.get("wall", wall), own.get("cpu", usage.ru_utime + usage.ru_stime),
                  # the peak of the command's own process, or of it and a helper process it started, summed
                  max(own.get("maxrss_kb", usage.ru_maxrss), own.get("maxrss_tree_kb", 0)) / 1024, {}, seen,
                  server_cpu, code=proc.returncode,
                  instructions=_instructions(counted))
        counted.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # a server without the timeline
            run.activity = activity(bench_server.timeline(aws.endpoint), t0, t1)
        if what == "tool":
            if proc.returncode not in (0, 1, 3):
                raise SystemExit(f"auditor scan exited {proc.returncode}:\n{self._tail('tool')}")
            doc = json.loads(out.read_text())
            run.calls = doc["stats"]["calls"]
            run.not_evaluated = sum(1 for f in doc["findings"] if f.get("status") == "not_evaluated")
            failing = sorted({f["rule"] for f in doc["findings"] if f.get("status") == "fail"})
            passing = sorted({f["rule"] for f in doc["findings"] if f.get("status") == "pass"})
            summary = doc.get("summary") or {}
            run.findings = (f"{summary.get('failed')} findings, {summary.get('passed')} passed, "
                            f"{summary.get('not_evaluated')} not evaluated; rules with findings: {len(failing)} "
                            f"({', '.join(failing)}); rules that passed somewhere: {len(passing)}")
            retries = doc["stats"].get("retries") or {}
            if retries:
                print(f"  ! the tool retried calls: {retries}")
        else:
            if proc.returncode != 0:
                raise SystemExit(f"the plain loop exited {proc.returncode}:\n{self._tail('loop')}")
            doc = json.loads(stdout)
            run.calls, run.inner_wall = doc["calls"], doc["wall"]
        out.unlink(missing_ok=True)
        return run

    def _tail(self, what: str, lines: int = 30) -> str:
        return "\n".join((self.log_dir / f"{what}.stderr").read_text(errors="replace").splitlines()[-lines:])

    # -- one scale ------------------------------------------------------------------------------------------
    def scale(self, scale: float, baseline: dict[int, dict[str, float]]) -> dict[str, Any]:
        args = self.args
        plan = account.plan(scale, args.monitors)
        minimum = account.minimum_calls(plan)
        print(f"\n=== scale {scale:g}: {plan.summary()} ({plan.resources} resources)")
        aws, dd = self.start(plan)
        try:
            clients = self.clients(aws)
            t0 = time.perf_counter()
            try:
                steps = account.build(plan, clients, workers=args.seed_workers,
                                      log=print if args.verbose else lambda msg: None)
            except Exception:
                aws._log.flush()  # type: ignore[attr-defined]
                log = Path(aws._log.name).read_text(errors="replace").splitlines()  # type: ignore[attr-defined]
                print("the build failed; the moto server's log ends with:\n" + "\n".join(log[-25:]), file=sys.stderr)
                raise
            seeded = time.perf_counter() - t0
            requests = bench_server.stats(aws.endpoint)["total"]
            missing = account.verify(plan, clients)
            if missing:
                raise SystemExit(f"the account was not built completely (planned, found): {missing}")
            print(f"built in {seeded:.1f}s ({requests} requests, {requests / seeded:.0f}/s; slowest steps: "
                  + ", ".join(f"{k} {v:.1f}s" for k, v in sorted(steps.items(), key=lambda kv: -kv[1])[:3]) + ")")
            if not args.no_replay:
                bench_server.set_replay(aws.endpoint, True)

            # warm-up without latency: moto loads its backends, the replay records, the calls are compared
            warm_tool = self.child("tool", args.workers[0], aws, dd)
            warm_loop = self.child("loop", args.workers[0], aws, dd)
            calls_ok = self.print_calls(minimum, warm_tool, warm_loop)
            print(f"  the scan: {warm_tool.findings}")
            if warm_tool.not_evaluated:
                print(f"  ! {warm_tool.not_evaluated} findings not evaluated: the numbers below may not be honest")

            bench_server.set_latency(aws.endpoint, args.latency)
            dd.latency = args.latency / 1000
            results = []
            for workers in args.workers:
                runs: list[Run] = []
                for rep in range(args.repeat):
                    for what in ("tool", "loop"):
                        run = self.child(what, workers, aws, dd)
                        runs.append(run)
                        if args.verbose:
                            print(f"  w{workers} #{rep + 1} {what}: {run.wall:.2f}s wall, {run.cpu:.2f}s CPU, "
                                  f"{run.rss_mb:.0f} MB, server peak {run.server.get('peak_inflight')} in flight\n"
                                  f"      {describe_activity(run.activity)}")
                results.append(self.summarise(plan, minimum, workers, runs, baseline.get(workers)))
            if args.profile:
                path = args.profile.with_name(f"{args.profile.stem}-{scale:g}x{args.profile.suffix or '.txt'}")
                run = self.child("tool", args.workers[0], aws, dd, profile=path)
                print(f"\nprofile of one more scan (workers {args.workers[0]}, {run.wall:.1f}s wall under py-spy), "
                      f"{path}:\n{profile_summary(path)}")
            bench_server.set_latency(aws.endpoint, 0)
            dd.latency = 0
        finally:
            self.stop(aws, dd)
        return {"scale": scale, "plan": plan.summary(), "resources": plan.resources, "seed_seconds": seeded,
                "seed_requests": requests, "minimum": minimum, "calls_match": calls_ok,
                "warm_tool_calls": warm_tool.calls, "warm_loop_calls": warm_loop.calls, "results": results}

    def baseline(self) -> dict[int, dict[str, float]]:
        """Peak RSS of the tool and the loop on an empty account (no resources, no monitors), per worker count."""
        aws, dd = self.start(None)
        out: dict[int, dict[str, float]] = {}
        try:
            self.child("tool", self.args.workers[0], aws, dd)  # moto loads its backends
            for workers in self.args.workers:
                tool = [self.child("tool", workers, aws, dd) for _ in range(2)]
                loop = [self.child("loop", workers, aws, dd) for _ in range(2)]
                out[workers] = {"tool_rss_mb": statistics.median(r.rss_mb for r in tool),
                                "loop_rss_mb": statistics.median(r.rss_mb for r in loop),
                                "tool_cpu": statistics.median(r.cpu for r in tool),
                                "tool_wall": statistics.median(r.wall for r in tool),
                                "tool_ginstr": _median_ginstr(tool)}
        finally:
            self.stop(aws, dd)
        b = out[self.args.workers[0]]
        ginstr = f", {b['tool_ginstr']:.2f} G instructions" if b["tool_ginstr"] is not None else ""
        print(f"empty account: tool {b['tool_rss_mb']:.0f} MB peak RSS, {b['tool_cpu']:.2f}s CPU{ginstr}, "
              f"{b['tool_wall']:.2f}s wall; plain loop {b['loop_rss_mb']:.0f} MB")
        return out

    # -- printing -------------------------------------------------------------------------------------------
    @staticmethod
    def print_calls(minimum: dict[str, int], tool: Run, loop: Run) -> bool:
        ops = sorted(set(minimum) | set(tool.calls) | set(loop.calls))
        print(f"\ncalls by operation (warm-up){'':17} {'tool':>7} {'loop':>7} {'minimum':>8}  server saw (tool)")
        for op in ops:
            t, lp, m = tool.calls.get(op, 0), loop.calls.get(op, 0), minimum.get(op, 0)
            flag = "" if t == lp == m else ("  ≠ loop" if t != lp else "  ≠ minimum")
            seen = tool.server.get("calls", {}).get(op)
            print(f"  {op:42} {t:7} {lp:7} {m:8}  {seen if seen is not None else '-':>6}{flag}")
        tt, lt, mt = sum(tool.calls.values()), sum(loop.calls.values()), sum(minimum.values())
        print(f"  {'total':42} {tt:7} {lt:7} {mt:8}  {tool.server.get('total', 0) + 0:>6}   "
              f"(tool/minimum {tt / mt:.3f})")
        diff = {op: (tool.calls.get(op, 0), loop.calls.get(op, 0)) for op in ops
                if tool.calls.get(op, 0) != loop.calls.get(op, 0)}
        if diff:
            print(f"  ! the plain loop's calls differ from the tool's --stats: {diff}")
        else:
            print("  the plain loop made exactly the tool's calls (stats.calls, operation by operation)")
        return not diff

    def summarise(self, plan: account.Plan, minimum: dict[str, int], workers: int, runs: list[Run],
                  base: dict[str, float] | None) -> dict[str, Any]:
        latency = self.args.latency / 1000
        tools = [r for r in runs if r.what == "tool"]
        loops = [r for r in runs if r.what == "loop"]
        med = lambda rs, attr: statistics.median(getattr(r, attr) for r in rs)  # noqa: E731
        ratios = [t.wall / lp.wall for t, lp in zip(tools, loops, strict=True)]
        total = sum(tools[0].calls.values())
        cp = account.critical_path(plan)
        bound = max(total / workers, cp) * latency
        out = {
            "workers": workers, "latency_ms": self.args.latency, "repeat": len(tools),
            "tool_wall": med(tools, "wall"), "loop_wall": med(loops, "wall"), "loop_inner_wall": med(loops, "inner_wall"),
            "ratio": statistics.median(ratios), "ratios": ratios,
            "tool_walls": [r.wall for r in tools], "loop_walls": [r.wall for r in loops],
            "bound": bound, "bound_calls": total / workers * latency, "bound_chain": cp * latency, "chain_calls": cp,
            "tool_cpu": med(tools, "cpu"), "loop_cpu": med(loops, "cpu"),
            "tool_ginstr": _median_ginstr(tools), "loop_ginstr": _median_ginstr(loops),
            "tool_rss_mb": med(tools, "rss_mb"), "loop_rss_mb": med(loops, "rss_mb"),
            "tool_peak_inflight": max(r.server.get("peak_inflight", 0) for r in tools),
            "loop_peak_inflight": max(r.server.get("peak_inflight", 0) for r in loops),
            "server_cpu_tool": med(tools, "server_cpu"), "server_cpu_loop": med(loops, "server_cpu"),
            "calls": total, "minimum": sum(minimum.values()),
            "tool_activity": tools[0].activity, "loop_activity": loops[0].activity,
        }
        if base:
            out["tool_kb_per_resource"] = (out["tool_rss_mb"] - base["tool_rss_mb"]) * 1024 / plan.resources
            out["loop_kb_per_resource"] = (out["loop_rss_mb"] - base["loop_rss_mb"]) * 1024 / plan.resources
        mem = (f"; {out['tool_kb_per_resource']:.1f} KB/resource above empty (loop "
               f"{out['loop_kb_per_resource']:.1f})" if base else "")
        print(f"\nworkers {workers}, latency {self.args.latency:g} ms, {len(tools)} runs each (medians):\n"
              f"  auditor scan  {out['tool_wall']:6.2f}s wall  {out['tool_cpu']:6.2f}s CPU  {out['tool_rss_mb']:5.0f} MB "
              f"peak RSS{mem}; up to {out['tool_peak_inflight']} requests in flight\n"
              f"  plain loop    {out['loop_wall']:6.2f}s wall  {out['loop_cpu']:6.2f}s CPU  {out['loop_rss_mb']:5.0f} MB "
              f"peak RSS; up to {out['loop_peak_inflight']} in flight (its calls alone: {out['loop_inner_wall']:.2f}s)\n"
              f"  ratio tool/loop {out['ratio']:.2f} (pairs: {', '.join(f'{r:.2f}' for r in ratios)})\n"
              + (f"  instructions (perf stat): tool {out['tool_ginstr']:.1f} G, loop {out['loop_ginstr']:.1f} G\n"
                 if out["tool_ginstr"] is not None and out["loop_ginstr"] is not None else "")
              + f"  latency bound {bound:.2f}s = max({total} calls / {workers} workers, chain of {cp} dependent calls)"
              f" × {self.args.latency:g} ms; tool/bound {out['tool_wall'] / bound:.2f}\n"
              f"  moto server CPU per run: {out['server_cpu_tool']:.1f}s (tool), {out['server_cpu_loop']:.1f}s (loop)"
              + (f"\n  tool, first run: {describe_activity(tools[0].activity)}" if tools[0].activity else "")
              + (f"\n  loop, first run: {describe_activity(loops[0].activity)}" if loops[0].activity else ""))
        return out


def _median_ginstr(runs: list[Run]) -> float | None:
    counts = [r.instructions for r in runs if r.instructions is not None]
    return statistics.median(counts) / 1e9 if counts else None


def _floats(text: str) -> list[float]:
    return [float(x) for x in text.split(",") if x.strip()]


def _ints(text: str) -> list[int]:
    return [int(x) for x in text.split(",") if x.strip()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bench_scan", description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=_floats, default=[1.0], help="account size(s), 1 = 1x (0.25 … 4)")
    parser.add_argument("--workers", type=_ints, default=[8], help="--workers of the tool and the loop (list)")
    parser.add_argument("--latency", type=float, default=50.0, help="ms added to every request (default 50)")
    parser.add_argument("--monitors", type=int, default=None, help="Datadog monitors (default 2000 × scale)")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved runs of each (default 3)")
    parser.add_argument("--seed-workers", type=int, default=16, help="requests in flight while building")
    parser.add_argument("--no-replay", action="store_true", help="let moto answer every request (slower server)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the empty-account memory baseline")
    parser.add_argument("--json", type=Path, help="write the results here")
    parser.add_argument("--profile", type=Path, help="also profile one scan per scale with py-spy (raw stacks "
                        "to PROFILE-<scale>x.txt; `pip install py-spy` first)")
    parser.add_argument("-v", "--verbose", action="store_true")
    args = parser.parse_args(argv)
    if not all(0 < s <= 8 for s in args.scale):
        parser.error("--scale must be in (0, 8]")
    info = machine()
    print(f"machine: {info['cores']} cores, {info['cpu']}, Python {info['python']}, load {info['load'][0]:.1f}; "
          f"latency {args.latency:g} ms, workers {args.workers}, {args.repeat} runs, replay "
          f"{'off' if args.no_replay else 'on'}")
    with tempfile.TemporaryDirectory(prefix="auditor-bench-") as tmp:
        bench = Bench(args, Path(tmp))
        baseline = {} if args.no_baseline else bench.baseline()
        scales = [bench.scale(s, baseline) for s in args.scale]
    info["load_after"] = os.getloadavg()
    if len(scales) > 1:
        print("\nper-1x cost (medians divided by the scale; 'above empty': minus the empty account's CPU):")
        for w in args.workers:
            empty_cpu = baseline.get(w, {}).get("tool_cpu", 0.0)
            for s in scales:
                r = next(r for r in s["results"] if r["workers"] == w)
                sc = s["scale"]
                empty_gi = baseline.get(w, {}).get("tool_ginstr")
                gi = (f", {(r['tool_ginstr'] - (empty_gi or 0)) / sc:5.1f} G instructions/1x above empty"
                      if r.get("tool_ginstr") is not None else "")
                lgi = f", {r['loop_ginstr'] / sc:5.1f} G instructions/1x" if r.get("loop_ginstr") is not None else ""
                print(f"  workers {w:2} scale {sc:5g}: tool {r['tool_wall'] / sc:6.2f}s wall/1x, {r['tool_cpu'] / sc:6.2f}s "
                      f"CPU/1x ({(r['tool_cpu'] - empty_cpu) / sc:6.2f}s above empty){gi}; loop {r['loop_wall'] / sc:6.2f}s "
                      f"wall/1x, {r['loop_cpu'] / sc:6.2f}s CPU/1x{lgi}")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "baseline": baseline, "args": {k: (str(v) if isinstance(v, Path) else v)
                                                                  for k, v in vars(args).items()},
                                         "scales": scales}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
