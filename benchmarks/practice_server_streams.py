"""Does the practice server keep its timing with many concurrent streams from one process?

Run: ``PYTHONPATH=. .venv/bin/python benchmarks/practice_server_streams.py`` (about a minute;
``--quick`` for less, ``--streams 1 64 128`` to choose the levels).

The practice server runs as ``speclab practice-server`` in its own process, in fixed-timing mode: every
request's first token is due ``--ttft`` seconds after it arrives and every later token ``--itl`` seconds
after the one before (the true values are known). For each concurrency level N, N streamed
``/generate`` requests start together from an asyncio client (raw sockets, one connection per stream,
as bench_serving does) that timestamps every event. Printed per level: the client's median TTFT and
mean ITL as ratios to the configured values, their p99, the wall time of the whole level against the
ideal (TTFT + (tokens - 1) x ITL), and the same ratios at one stream, measured in the same run (the
baseline: what the client and the loop cost without concurrency). The server's own ``e2e_latency``
(final ``meta_info``; from when its application received the request) is compared with the ideal too:
the difference between the client's and the server's e2e is the time the burst of requests waits in
HTTP parsing before the application sees it plus the delivery of the last event, which lands in the
client's TTFT when all streams start at once (bench_serving's default request rate, inf, does that
too). Goal: at 64 streams every server-side e2e and the client's mean ITL within 2 % of the
configured timing. Exits 1 when the goal is missed. Tests never assert on time; this script is where
the timing is shown.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_STREAMS = 64
GOAL_RATIO_ERROR = 0.02


def start_server(ttft_s: float, itl_s: float) -> tuple[subprocess.Popen, str, int]:
    """The practice server in its own process; returns it, its host and port."""
    command = [sys.executable, "-m", "core", "practice-server", "--port", "0"]
    command += ["--fixed-ttft", str(ttft_s), "--fixed-itl", str(itl_s), "--max-running-requests", "4096"]
    process = subprocess.Popen(command, cwd=ROOT, stderr=subprocess.PIPE, text=True)
    line = process.stderr.readline()
    if "listening on http://" not in line:
        process.kill()
        raise SystemExit(f"the practice server did not start: {line.strip()}")
    host, port = line.strip().rsplit("//", 1)[1].rsplit(":", 1)
    return process, host, int(port)


async def _read_chunked_events(reader: asyncio.StreamReader, on_event) -> None:
    """Read a chunked SSE body, calling ``on_event(json)`` as each ``data:`` event completes."""
    buffer = b""
    while True:
        size = int((await reader.readline()).strip() or b"0", 16)
        if size == 0:
            return
        buffer += await reader.readexactly(size)
        await reader.readexactly(2)
        while b"\n\n" in buffer:
            block, buffer = buffer.split(b"\n\n", 1)
            payload = block[len(b"data: ") :]
            if payload != b"[DONE]":
                on_event(json.loads(payload))


async def one_stream(host: str, port: int, tokens: int, start: asyncio.Event) -> dict:
    """One streamed /generate; returns its TTFT and per-token gaps (seconds, client clock)."""
    body = json.dumps(
        {
            "text": "benchmark",
            "sampling_params": {"max_new_tokens": tokens, "ignore_eos": True},
            "stream": True,
        }
    ).encode()
    request = (
        f"POST /generate HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body
    reader, writer = await asyncio.open_connection(host, port)
    await start.wait()
    sent = time.perf_counter()
    writer.write(request)
    await writer.drain()
    while (await reader.readline()) not in (b"\r\n", b""):
        pass  # status line and headers
    marks: list[tuple[float, int]] = []
    metas: list[dict] = []

    def on_event(event: dict) -> None:
        marks.append((time.perf_counter(), event["meta_info"]["completion_tokens"]))
        metas.append(event["meta_info"])

    await _read_chunked_events(reader, on_event)
    writer.close()
    ttft = marks[0][0] - sent
    gaps = []
    for (t0, n0), (t1, n1) in zip(marks, marks[1:], strict=False):
        gaps += [(t1 - t0) / (n1 - n0)] * (n1 - n0)
    # The server's own e2e_latency counts from when its application received the request.
    server_e2e = metas[-1]["e2e_latency"]
    return {
        "ttft": ttft,
        "gaps": gaps,
        "tokens": marks[-1][1],
        "end": marks[-1][0] - sent,
        "server_e2e": server_e2e,
    }


async def run_level(host: str, port: int, streams: int, tokens: int) -> dict:
    """``streams`` requests released together; their pooled timing."""
    start = asyncio.Event()
    tasks = [asyncio.create_task(one_stream(host, port, tokens, start)) for _ in range(streams)]
    await asyncio.sleep(0.2)  # every connection is open before the requests go out
    began = time.perf_counter()
    start.set()
    results = await asyncio.gather(*tasks)
    wall = time.perf_counter() - began
    ttfts = sorted(r["ttft"] for r in results)
    gaps = sorted(g for r in results for g in r["gaps"])
    assert all(r["tokens"] == tokens for r in results), "a stream ended early"
    return {
        "streams": streams,
        "ttft_median": statistics.median(ttfts),
        "ttft_p99": ttfts[min(len(ttfts) - 1, int(0.99 * len(ttfts)))],
        "itl_mean": statistics.fmean(gaps),
        "itl_p99": gaps[min(len(gaps) - 1, int(0.99 * len(gaps)))],
        "wall": wall,
        "client_e2e_median": statistics.median(r["end"] for r in results),
        "server_e2e_median": statistics.median(r["server_e2e"] for r in results),
        "server_e2e_max": max(r["server_e2e"] for r in results),
    }


def ideal_e2e(ttft_s: float, itl_s: float, tokens: int) -> float:
    """The configured time from arrival to the last token: TTFT + (tokens - 1) x ITL."""
    return ttft_s + (tokens - 1) * itl_s


def report(level: dict, ttft_s: float, itl_s: float, tokens: int, baseline: dict | None) -> str:
    ideal = ideal_e2e(ttft_s, itl_s, tokens)
    line = (
        f"{level['streams']:>5} streams: TTFT median x{level['ttft_median'] / ttft_s:.3f} "
        f"(p99 x{level['ttft_p99'] / ttft_s:.3f}), ITL mean x{level['itl_mean'] / itl_s:.3f} "
        f"(p99 x{level['itl_p99'] / itl_s:.3f}); e2e median: server x{level['server_e2e_median'] / ideal:.3f} "
        f"(max x{level['server_e2e_max'] / ideal:.3f}), client x{level['client_e2e_median'] / ideal:.3f} "
        f"of ideal (client - server {1000 * (level['client_e2e_median'] - level['server_e2e_median']):.0f} ms)"
    )
    if baseline is not None:
        line += (
            f"; vs 1 stream: TTFT x{level['ttft_median'] / baseline['ttft_median']:.3f}, "
            f"ITL x{level['itl_mean'] / baseline['itl_mean']:.3f}"
        )
    return line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ttft", type=float, default=0.25, help="configured time to first token, seconds")
    parser.add_argument("--itl", type=float, default=0.03, help="configured gap per token, seconds")
    parser.add_argument("--tokens", type=int, default=64, help="output tokens per stream")
    parser.add_argument("--streams", type=int, nargs="+", default=[1, 16, 64, 128], help="concurrency levels")
    parser.add_argument("--quick", action="store_true", help="fewer tokens and levels")
    args = parser.parse_args(argv)
    levels = [1, 64] if args.quick else sorted(set([1, *args.streams]))
    tokens = 32 if args.quick else args.tokens
    process, host, port = start_server(args.ttft, args.itl)
    try:
        print(
            f"practice server (fixed timing: TTFT {args.ttft} s, ITL {args.itl} s), {tokens} tokens per stream"
        )
        results = {n: asyncio.run(run_level(host, port, n, tokens)) for n in levels}
    finally:
        process.terminate()
        process.wait(timeout=30)
    baseline = results[1]
    for n in levels:
        print(report(results[n], args.ttft, args.itl, tokens, None if n == 1 else baseline))
    goal = results.get(GOAL_STREAMS)
    if goal is None:
        return 0
    server_error = abs(goal["server_e2e_max"] / ideal_e2e(args.ttft, args.itl, tokens) - 1)
    itl_error = abs(goal["itl_mean"] / args.itl - 1)
    ok = max(server_error, itl_error) <= GOAL_RATIO_ERROR
    print(
        f"goal ({GOAL_STREAMS} streams: every server-side e2e and the client's mean ITL within "
        f"{GOAL_RATIO_ERROR:.0%} of configured): " + ("met" if ok else "MISSED")
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
