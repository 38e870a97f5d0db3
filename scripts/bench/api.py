"""Benchmark: the ``openai`` system against a local server with a fixed latency per request.

Starts an OpenAI-compatible chat-completions server on 127.0.0.1 that answers
every request after a fixed delay (default 50 ms, like a fast remote API),
then translates N distinct synthetic sources (default 200) through
``evalmt.translate.translate_segments`` with the ``openai`` system, all in one run:

1. concurrency 1, no cache;
2. concurrency 16 (``--concurrency``), with a fresh cache;
3. the same as 2 again: every answer comes from the cache.

Prints requests/s of 1 and 2 and their ratio (target >= 10x), and the time of
3 over the time of 2 (target <= 1/50). Nothing leaves the machine.

    python scripts/bench/api.py [--requests 200] [--latency 0.05] [--concurrency 16]
                                [--json out.json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import platform
import tempfile
import time
from pathlib import Path

from evalmt.cache import TranslationCache
from evalmt.systems.openai_api import OpenAIConfig, OpenAISystem
from evalmt.translate import translate_segments


def answer(body: dict) -> bytes:
    """One chat-completions answer to ``body`` as a complete HTTP/1.1 response."""
    text = "EN " + body["messages"][-1]["content"][-12:]
    payload = json.dumps({
        "id": "b", "object": "chat.completion", "model": body["model"],
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": 40, "completion_tokens": 12, "total_tokens": 52},
    }).encode()
    head = (f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n").encode()
    return head + payload


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 latency: float) -> None:
    """Answer keep-alive requests on one connection, each after ``latency`` seconds."""
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            length = next(int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                          if line.lower().startswith(b"content-length:"))
            body = json.loads(await reader.readexactly(length))
            await asyncio.sleep(latency)
            writer.write(answer(body))  # one write: headers and body in one segment
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        writer.close()


def serve(latency: float, port: multiprocessing.Queue) -> None:
    """Run the server in its own process, on asyncio: a remote API's CPU is not ours.

    A stand-in that costs little CPU per request (no thread, no ``http.server``
    parsing), so on a small machine the benchmark measures evalmt's client.
    """

    async def main() -> None:
        server = await asyncio.start_server(lambda r, w: handle(r, w, latency), "127.0.0.1", 0)
        port.put(server.sockets[0].getsockname()[1])
        await server.serve_forever()

    asyncio.run(main())


def timed(system: OpenAISystem, sources: list[str], cache: TranslationCache | None) -> float:
    start = time.perf_counter()
    outcome = translate_segments(system, sources, cache=cache, progress=False)
    seconds = time.perf_counter() - start
    if outcome.failed:
        raise SystemExit(f"{len(outcome.failed)} requests failed: "
                         f"{next(iter(outcome.failed.values()))}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--latency", type=float, default=0.05, help="seconds per answer")
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args()

    queue: multiprocessing.Queue = multiprocessing.Queue()
    server = multiprocessing.Process(target=serve, args=(args.latency, queue), daemon=True)
    server.start()
    base_url = f"http://127.0.0.1:{queue.get(timeout=60)}/v1"
    sources = [f"第{i}段：今天的天气很好，我们去公园散步。" for i in range(args.requests)]

    def system(concurrency: int) -> OpenAISystem:
        config = OpenAIConfig(name="bench", base_url=base_url, model="bench-model",
                              concurrency=concurrency)
        return OpenAISystem(config, src_lang="zh", tgt_lang="en")

    try:
        serial = timed(system(1), sources, None)
        with tempfile.TemporaryDirectory() as tmp, \
                TranslationCache(Path(tmp) / "cache.sqlite") as cache:
            parallel = timed(system(args.concurrency), sources, cache)
            rerun = timed(system(args.concurrency), sources, cache)
    finally:
        server.terminate()
        server.join(10)
    n = args.requests
    results = {
        "requests": n, "latency_s": args.latency, "concurrency": args.concurrency,
        "serial_s": round(serial, 3), "parallel_s": round(parallel, 3),
        "cached_rerun_s": round(rerun, 4),
        "serial_rps": round(n / serial, 1), "parallel_rps": round(n / parallel, 1),
        "speedup": round(serial / parallel, 2), "rerun_fraction": round(rerun / parallel, 4),
        "machine": f"{platform.machine()}, {platform.system()}, Python "
                   f"{platform.python_version()}",
    }
    print(f"{n} requests, {args.latency * 1000:g} ms server latency ({results['machine']})")
    print(f"  concurrency 1:  {serial:7.3f} s  {results['serial_rps']:8.1f} req/s")
    print(f"  concurrency {args.concurrency}: {parallel:7.3f} s  {results['parallel_rps']:8.1f} "
          f"req/s   speedup {results['speedup']:.1f}x (target >= 10x)")
    print(f"  cached rerun:   {rerun:7.4f} s  = 1/{parallel / rerun:.0f} of the first run "
          "(target <= 1/50)")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
