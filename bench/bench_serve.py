#!/usr/bin/env python3
"""rnncli serve under load: --clients concurrent clients send --requests completion requests
(POST /v1/complete, one demo prompt each, greedy, one word) to a server on 127.0.0.1, each
client waiting for its answer before sending the next, over one kept-alive connection.

Reports failures (any status but 200, or an answer without a completion), throughput
(requests/s over the whole run) and the latency of single requests (p50, p99, max), for
--runs runs. Then fairness: one client sends one-word requests for --hog-seconds while two
others keep sending the largest explain and the largest trace request the server's limits
allow; the one-word requests' latency (p50, p99, max). The clients are a small asyncio
HTTP/1.1 loop (no client library's overhead in the figures); they share the machine's cores
with the server.

    python bench/bench_serve.py                       # trains the demo first
    python bench/bench_serve.py --model runs/cuisine --clients 32 --requests 5000
"""

import argparse
import asyncio
import datetime
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from resultfile import write_results

REPO = Path(__file__).resolve().parents[1]


def server_cpu_s(pid: int) -> float:
    """The server process's CPU time so far (user + system, all threads), from /proc: a cost
    per request that a busy machine's waiting does not inflate as it inflates the wall time."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_server(model) -> tuple[subprocess.Popen, str, int]:
    proc = subprocess.Popen([sys.executable, "-m", "rnncli", "serve", str(model), "--port", "0"],
                            stderr=subprocess.PIPE, text=True)
    line = proc.stderr.readline()
    found = re.search(r"http://([\d.]+):(\d+)/", line)
    if not found:
        proc.kill()
        sys.exit(f"the server did not start: {line}{proc.stderr.read()}")
    return proc, found.group(1), int(found.group(2))


async def client(host, port, bodies, next_index, latencies, failures, deadline):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while (i := next_index()) is not None:
            start = time.perf_counter()
            status, raw = await post(reader, writer, host, port, "/v1/complete",
                                     bodies[i % len(bodies)], deadline)
            answer = json.loads(raw)
            latencies.append(time.perf_counter() - start)
            if status != 200 or not answer.get("completion"):
                failures.append(f"{status}: {answer}")
    finally:
        writer.close()


async def post(reader, writer, host, port, path, body, deadline) -> tuple[int, bytes]:
    """One request on a kept-alive connection: (status, body)."""
    head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
    writer.write(head.encode() + body)
    status = int((await asyncio.wait_for(reader.readline(), deadline)).split()[1])
    length = 0
    while (line := await reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        if name.lower() == "content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def largest(host, port, make, low, high, deadline) -> int:
    """The largest n in low .. high for which make(n) is accepted (a binary search by the
    server's own answers: 200, or 400 over the limits)."""
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while low < high:
            mid = (low + high + 1) // 2
            status, _ = await post(reader, writer, host, port, "/v1/complete", make(mid),
                                   deadline)
            low, high = (mid, high) if status == 200 else (low, mid - 1)
        return low
    finally:
        writer.close()


async def hogged(host, port, probe, hogs, seconds, deadline) -> dict:
    """One-word requests, one after another, for `seconds`, while each hog body is sent again
    and again by a client of its own: the one-word requests' latency, and the hogs' answers."""
    stop = asyncio.Event()
    answers: dict[int, int] = {}

    async def hog(body):
        reader, writer = await asyncio.open_connection(host, port)
        try:
            while not stop.is_set():
                status, _ = await post(reader, writer, host, port, "/v1/complete", body,
                                       deadline)
                answers[status] = answers.get(status, 0) + 1
        finally:
            writer.close()

    hog_tasks = [asyncio.create_task(hog(b)) for b in hogs]
    await asyncio.sleep(1.0)  # the hogs' work under way
    reader, writer = await asyncio.open_connection(host, port)
    latencies, failures = [], 0
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        start = time.perf_counter()
        status, _ = await post(reader, writer, host, port, "/v1/complete", probe, deadline)
        latencies.append(time.perf_counter() - start)
        failures += status != 200
        await asyncio.sleep(0.01)
    writer.close()
    stop.set()
    await asyncio.gather(*hog_tasks, return_exceptions=True)
    ordered = sorted(latencies)

    def pct(p):
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    return {"requests": len(ordered), "failures": failures, "p50_ms": pct(50),
            "p99_ms": pct(99), "max_ms": ordered[-1] * 1000, "hog_answers": answers}


def hog_bodies(host, port, deadline) -> list[bytes]:
    """The largest explain and trace requests the server's default limits allow."""
    def explain(n):
        return json.dumps({"prompt": [" ".join(["sushi"] * 64)] * n, "explain": True}).encode()

    def trace(n):
        return json.dumps({"prompt": [" ".join(["sushi"] * n)] * 64, "trace": True,
                           "words": 256, "next": 1000}).encode()

    n_explain = asyncio.run(largest(host, port, explain, 1, 64, deadline))
    n_trace = asyncio.run(largest(host, port, trace, 1, 2048, deadline))
    print(f"[bench] hogs: explain {n_explain} prompts of 64 tokens; trace 64 prompts of "
          f"{n_trace} tokens, 256 words, 1000 next", file=sys.stderr, flush=True)
    return [explain(n_explain), trace(n_trace)]


async def load(host, port, bodies, clients, requests, deadline) -> dict:
    latencies, failures = [], []
    sent = 0

    def next_index():
        nonlocal sent
        if sent >= requests:
            return None
        sent += 1
        return sent - 1

    start = time.perf_counter()
    results = await asyncio.gather(*[client(host, port, bodies, next_index, latencies,
                                            failures, deadline) for _ in range(clients)],
                                   return_exceptions=True)
    wall = time.perf_counter() - start
    failures += [repr(r) for r in results if isinstance(r, BaseException)]
    if not latencies:
        raise SystemExit(f"no request was answered: {failures[:3]}")
    ordered = sorted(latencies)

    def pct(p):
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    return {"requests": requests, "answered": len(latencies), "failures": len(failures),
            "first_failures": failures[:3], "wall_s": wall, "requests_per_s": len(latencies) / wall,
            "p50_ms": pct(50), "p99_ms": pct(99), "max_ms": ordered[-1] * 1000}


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=None, help="model folder (default: train the demo)")
    ap.add_argument("--clients", type=int, default=32)
    ap.add_argument("--requests", type=int, default=5000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--timeout", type=float, default=60, help="seconds one answer may take")
    ap.add_argument("--hog-seconds", type=float, default=20,
                    help="then this long of one-word requests beside a client sending the "
                    "largest explain and one the largest trace request allowed (0: skip)")
    ap.add_argument("--out", default=None, help="JSON results file")
    a = ap.parse_args(argv)

    corpus = (REPO / "corpora" / "cuisine.txt").read_text(encoding="utf-8").splitlines()
    prompts = sorted({x[: x.rindex(" cuisine is ") + len(" cuisine is")] for x in corpus
                      if " cuisine is " in x})
    bodies = [json.dumps({"prompt": p}).encode() for p in prompts]
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["XDG_STATE_HOME"] = tmp  # keep the user's last-model pointer untouched
        model = a.model
        if model is None:
            print("[bench] training the demo model ...", file=sys.stderr, flush=True)
            model = Path(tmp) / "demo"
            subprocess.run([sys.executable, "-m", "rnncli", "train", "--out", str(model)],
                           check=True, capture_output=True)
        proc, host, port = start_server(model)
        try:
            asyncio.run(load(host, port, bodies, 4, 200, a.timeout))  # warm up
            runs = []
            for _ in range(a.runs):
                cpu = server_cpu_s(proc.pid)
                runs.append(asyncio.run(load(host, port, bodies, a.clients, a.requests,
                                             a.timeout)))
                runs[-1]["server_cpu_ms_per_request"] = (
                    (server_cpu_s(proc.pid) - cpu) * 1000 / runs[-1]["answered"])
            hog = None
            if a.hog_seconds > 0:
                hogs = hog_bodies(host, port, a.timeout)
                hog = asyncio.run(hogged(host, port, bodies[0], hogs, a.hog_seconds, a.timeout))
        finally:
            proc.send_signal(signal.SIGTERM)  # a clean stop, as a user's Ctrl-C
            proc.wait(timeout=60)

    for r in runs:
        print(f"{r['answered']:,}/{r['requests']:,} answered, {r['failures']} failed, "
              f"{r['requests_per_s']:,.0f} requests/s, latency p50 {r['p50_ms']:.1f} ms, "
              f"p99 {r['p99_ms']:.1f} ms, max {r['max_ms']:.1f} ms, server CPU "
              f"{r['server_cpu_ms_per_request']:.2f} ms/request")
    best = sorted(runs, key=lambda r: r["requests_per_s"])[(len(runs) - 1) // 2]  # the median
    print(f"median of {a.runs}: {best['requests_per_s']:,.0f} requests/s, p50 "
          f"{best['p50_ms']:.1f} ms, p99 {best['p99_ms']:.1f} ms ({a.clients} clients, "
          f"{os.cpu_count()} cores shared by server and clients)")
    if hog is not None:
        print(f"one-word requests beside the largest explain and trace: {hog['requests']} in "
              f"{a.hog_seconds:g} s, {hog['failures']} failed, latency p50 {hog['p50_ms']:.1f} ms,"
              f" p99 {hog['p99_ms']:.1f} ms, max {hog['max_ms']:.1f} ms; the hogs' answers by "
              f"status: {hog['hog_answers']}")
    print(f"load average {os.getloadavg()[0]:.2f}")
    write_results({"date": datetime.datetime.now().isoformat(timespec="seconds"),
                   "cores": os.cpu_count(), "clients": a.clients, "runs": runs, "hog": hog,
                   "load": os.getloadavg()[0]}, "serve", a.out)
    if any(r["failures"] for r in runs):
        sys.exit("some requests failed: " + "; ".join(runs[0]["first_failures"]))


if __name__ == "__main__":
    main()
