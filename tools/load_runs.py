"""负载测试: 第 08 课, 两个 worker 共用一个 Redis, 500 个 run 同时进行, 每一个事件都送到了吗? 多花了多少?

每一轮都在本机 (127.0.0.1) 上启动自己的进程, 跑完全部停掉:
  06 直连   模拟模型 + 06_complete_chat.py, 同时 N 个 POST /chat (对照: 第 06 课的中转, 没有日志)
  08 Redis  模拟模型 + redis-server + 两个 08 worker; 在 A 上 POST /runs, 在 B 上读 (反过来也一样), 合并窗口 0.1 秒
  08 c0     同上, 但 --coalesce 0: 每次网络读取都追加一次, 看合并省下了什么
报告: 每个 token 的 CPU (worker 合计、Redis), Redis 命令数 / token (INFO commandstats 前后之差), 追加次数 / token,
一个结束了的 run 在 Redis 里占多少字节 (MEMORY USAGE)。比值都是同一次运行里、同一台机器上的。

    python tools/load_runs.py                    # 500 个 run, 每个约 100 个 token, 模型 20 token/秒
    python tools/load_runs.py --runs 100 --tokens 50
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
from contextlib import ExitStack
from pathlib import Path

import load_chat  # 第 06 课的负载测试: 同样的客户端写法, 用来量 06 直连这一轮
from procs import cpu_seconds, load_example, start

MAX_RUNS = 2000  # 上限: 这是本机测试, 不是压垮机器的工具
DEADLINE = 300  # 一轮最多几秒


async def http10(port: int, request: bytes) -> bytes:
    """发一个 HTTP/1.0 请求, 读到连接关闭 (响应不分块, 不用拆)。"""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(request)
    raw = bytearray()
    while data := await reader.read(65536):
        raw += data
    writer.close()
    return bytes(raw)


async def one_run(write_port: int, read_port: int, body: bytes, delay: float) -> bytes:
    """在一个 worker 上开始一个 run, 在另一个 worker 上从头读到结尾。返回读到的原始响应。"""
    await asyncio.sleep(delay)
    head = ("POST /runs HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode()  # fmt: skip
    created = await http10(write_port, head + body)
    if not created.startswith(b"HTTP/1.1 202"):
        return created  # 没能开始: check() 会把它算作失败, 报告里打印第一个
    run = json.loads(created.partition(b"\r\n\r\n")[2])
    get = f"GET {run['stream_url']} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode()
    return await http10(read_port, get)


def check(raw: bytes, text: str, decoder_class) -> bool:
    """每一个事件都到了: id 从 1 开始连续, 文字一字不差, 以 done 结束。"""
    events = decoder_class().feed(raw.partition(b"\r\n\r\n")[2])
    got = "".join(json.loads(e.data)["text"] for e in events if e.event == "delta")
    positions = [int(e.id) for e in events]
    return bool(events) and events[-1].event == "done" and got == text and positions == list(range(1, len(events) + 1))  # fmt: skip


def commandstats(client) -> dict[str, int]:
    return {k.removeprefix("cmdstat_"): v["calls"] for k, v in client.info("commandstats").items()}


def round_06(args, text: str, tokens: int) -> dict[str, float]:
    sim, _, sim_port = start("openai_sim.py", "--token-delay", str(args.token_delay))
    chat, _, port = start("06_complete_chat.py", "--base-url", f"http://127.0.0.1:{sim_port}/v1",
                          "--model", "sim", "--max-streams", str(args.runs + 10))  # fmt: skip
    try:
        cpu = cpu_seconds(chat.pid)
        outcomes = asyncio.run(load_chat.run(port, args.runs, args.runs + 10, text, args.ramp))
        cpu = cpu_seconds(chat.pid) - cpu
    finally:
        for proc in (chat, sim):
            proc.terminate()
            proc.wait(timeout=10)
    complete = sum(1 for o in outcomes if load_chat.delivered_text(o.raw, sse().SSEDecoder)[:2] == (text, "done"))  # fmt: skip
    return {"complete": complete, "app_cpu_us": cpu / (args.runs * tokens) * 1e6}


def round_08(args, text: str, tokens: int, coalesce: float) -> dict[str, float]:
    import redis

    services = load_example("local_services.py")
    with tempfile.TemporaryDirectory(prefix="load-runs-") as tmp, ExitStack() as stack:
        url = stack.enter_context(services.redis_server(Path(tmp), services.find_binary("redis-server") or "redis-server"))  # fmt: skip
        client = redis.Redis.from_url(url)
        stack.callback(client.close)
        sim, _, sim_port = start("openai_sim.py", "--token-delay", str(args.token_delay))
        stack.callback(services.stop_process, sim)
        workers = []
        for _ in range(2):
            proc, _, port = start("08_resumable_streams.py", "--redis", url, "--base-url",
                                  f"http://127.0.0.1:{sim_port}/v1", "--model", "sim",
                                  "--max-streams", str(args.runs + 10), "--coalesce", str(coalesce))  # fmt: skip
            stack.callback(services.stop_process, proc)
            workers.append((proc, port))
        redis_pid = int(client.info("server")["process_id"])
        body = json.dumps({"messages": [{"role": "user", "content": f"/echo {text}"}]}).encode()
        before = commandstats(client)
        cpu = [cpu_seconds(p.pid) for p, _ in workers] + [cpu_seconds(redis_pid)]

        async def everything() -> list[bytes]:
            ports = [port for _, port in workers]
            jobs = [one_run(ports[i % 2], ports[(i + 1) % 2], body, args.ramp * i / args.runs) for i in range(args.runs)]  # fmt: skip
            return await asyncio.wait_for(asyncio.gather(*jobs), DEADLINE)

        raws = asyncio.run(everything())
        after = [cpu_seconds(p.pid) for p, _ in workers] + [cpu_seconds(redis_pid)]
        calls = {k: v - before.get(k, 0) for k, v in commandstats(client).items()}
        calls.pop("info", None)
        sample = next(iter(client.scan_iter("run:*:events")))
        memory = client.memory_usage(sample) + client.memory_usage(
            sample.replace(b":events", b":meta")
        )
        events = client.xlen(sample)
    total_tokens = args.runs * tokens
    decoder = sse().SSEDecoder
    failed = [raw for raw in raws if not check(raw, text, decoder)]
    if failed:
        print(f"  (coalesce {coalesce}) 第一个没有完整送到的响应: {failed[0][:300]!r}")
    return {
        "complete": len(raws) - len(failed),
        "app_cpu_us": (after[0] - cpu[0] + after[1] - cpu[1]) / total_tokens * 1e6,
        "redis_cpu_us": (after[2] - cpu[2]) / total_tokens * 1e6,
        "redis_calls": sum(calls.values()) / total_tokens,
        "appends": (calls.get("evalsha", 0) - args.runs)
        / total_tokens,  # 减去每个 run 的那一次 CREATE
        "xadd": calls.get("xadd", 0) / total_tokens,
        "xread": calls.get("xread", 0) / total_tokens,
        "events_per_run": events,
        "bytes_per_run": memory,
        "top": sorted(calls.items(), key=lambda kv: -kv[1])[:6],
    }


def sse():
    return load_example("04_sse_protocol.py")


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(encoding="utf-8", errors="replace")
    parser = argparse.ArgumentParser(
        description="第 08 课的负载测试: 两个 worker + Redis (只用本机)"
    )
    add = parser.add_argument
    add("--runs", type=int, default=500, help="同时进行几个 run (默认 500)")
    add("--tokens", type=int, default=100, help="每个回答大约几个 token (默认 100)")
    add("--token-delay", type=float, default=0.05, help="模型每个 token 的秒数 (默认 0.05 = 20 token/秒)")  # fmt: skip
    add("--ramp", type=float, default=2.0, help="在多少秒内把所有 run 发起完 (默认 2)")
    args = parser.parse_args(argv)
    args.runs = min(args.runs, MAX_RUNS)
    if not load_example("local_services.py").find_binary("redis-server"):
        print("没有找到 redis-server。Debian/Ubuntu: sudo apt-get install -y redis-server; macOS: brew install redis")  # fmt: skip
        return 1
    text = "流式" * (args.tokens * 5 // 8)
    tokens = len(load_example("openai_sim.py").tokenize(text))
    print(f"{args.runs} 个回答 ({args.ramp:g} 秒内陆续发起), 每个 {tokens} 个 token, 模型 {1 / args.token_delay:.0f} token/秒; 这台机器 ({os.cpu_count()} 核) 上的一次运行")  # fmt: skip
    direct = round_06(args, text, tokens)
    logged = round_08(args, text, tokens, 0.1)
    c0 = round_08(args, text, tokens, 0.0)
    print(f"  每一个事件都送到 (id 连续、文字一字不差、以 done 结束): 06 {direct['complete']}/{args.runs}, "
          f"08 {logged['complete']}/{args.runs}, 08 c0 {c0['complete']}/{args.runs}")  # fmt: skip
    print("                              06 直连    08 + Redis   08 + Redis, 不合并")

    def row(name: str, key: str, fmt) -> None:
        print(f"  {name:<24}{fmt(direct.get(key)):>10}{fmt(logged.get(key)):>13}{fmt(c0.get(key)):>17}")  # fmt: skip

    us = lambda v: "—" if v is None else f"{v:.0f} µs"  # noqa: E731
    num = lambda v: "—" if v is None else f"{v:.2f}"  # noqa: E731
    row("worker CPU / token", "app_cpu_us", us)
    row("Redis CPU / token", "redis_cpu_us", us)
    row("Redis 命令 / token", "redis_calls", num)
    row("追加 (EVALSHA) / token", "appends", num)
    row("XADD (事件) / token", "xadd", num)
    row("XREAD / token", "xread", num)
    total = logged["app_cpu_us"] + logged["redis_cpu_us"]
    print(f"  08 (两个 worker + Redis) 每个 token 的 CPU 是 06 直连的 {total / direct['app_cpu_us']:.2f} 倍"
          f" (只算 worker: {logged['app_cpu_us'] / direct['app_cpu_us']:.2f} 倍)")  # fmt: skip
    print(f"  合并 (0.1 秒) 让追加次数变成不合并时的 {logged['appends'] / c0['appends']:.2f} 倍, Redis 命令 {logged['redis_calls'] / c0['redis_calls']:.2f} 倍")  # fmt: skip
    print(f"  一个结束了的 run 在 Redis 里: {logged['events_per_run']} 条事件, {logged['bytes_per_run']} 字节 (流 + 元数据)")  # fmt: skip
    top = ", ".join(f"{name} {count}" for name, count in logged["top"])
    print(f"  Redis 命令最多的几种 (08 这一轮的合计): {top}")
    ok = direct["complete"] == logged["complete"] == c0["complete"] == args.runs
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
