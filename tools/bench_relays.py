"""基准: 第 06 课的 relay 比常见的写法贵多少? 一条命令, 只用本机 (127.0.0.1), 有时间上限。

被比较的 relay, 每个都是单独的 uvicorn 进程, 协议都和 06 一样 (POST /chat → event: delta / done):
  raw            原始 ASGI + aiohttp, 不多做任何事: 上限, 其他的都和它比
  usual          FastAPI StreamingResponse + AsyncOpenAI 的类型化 chunk (最常见的教程写法)
  sse-starlette  sse-starlette 的 EventSourceResponse + 类型化 chunk
  fastapi.sse    FastAPI 自带的 fastapi.sse + 类型化 chunk
  06             python examples/06_complete_chat.py, 合并窗口 0.1 秒 (默认)
  06-c0          同上, --coalesce 0: 每片一个事件
它们读的上游是 tools/relay_bench/upstream.py: 每个 token 的文字就是它发出的时刻 (monotonic_ns)。

测量 (每个 relay 跑 --repeat 轮, 报中位数和最小–最大; "× raw" 是同一轮里和 raw 的比值再取中位数):
  CPU/token   N 条流同时进行 (默认 200 条 × 100 token, 20 token/秒): relay 进程的 CPU 秒 / 送到的 token
  CPU/请求    很多个只有 2 个 token 的短请求: relay 进程的 CPU 秒 / 请求数 (每个请求一个新连接)
  晚到        每个 token 客户端收到的时刻 − 上游发出的时刻, p50/p99 (合并窗口会让它变大, 这是设计如此)
  首个事件    N 条流时从发出请求到第一个 delta; 突发: B 个请求在同一瞬间发出, p50/p95
  取消        收到第一个事件就关掉连接, 到上游发现这条流被取消, 经过多久 (p50)
  首字多花    没有负载时, 一个一个地请求: 经过 relay 的首个 delta, 比 openai SDK 直连上游的首个 token 多花多久 (p50)
  模拟服务器  第 05 课的 openai_sim.py 发 chunk 的速度, 和原始 ASGI 写的上游 (upstream.py) 比
  --find-max  (可选, 较慢) 20 token/秒时, p99 晚到 ≤ 合并窗口 + 50ms 最多能撑多少条流
系统允许时, relay 绑在一个核上, 上游和客户端绑在另一个核上。绝对数字因机器而异, 看同一次运行里的比值。

运行:
    python tools/bench_relays.py                         # 全部 relay, 慢的双核虚拟机上约 6 分钟
    python tools/bench_relays.py --quick                 # 冒烟: 很小的规模, 约 30 秒
    python tools/bench_relays.py --only raw,06 --streams 500 --json /tmp/relays.json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.util
import json
import math
import os
import resource
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from procs import ROOT, cpu_seconds, load_example, start
from rich.console import Console
from rich.table import Table

HOST = "127.0.0.1"
RELAY_BENCH = Path(__file__).resolve().parent / "relay_bench"
SERVE = RELAY_BENCH / "serve.py"
sys.path.insert(0, str(RELAY_BENCH))
from upstream import parse_stamps  # noqa: E402  (时间戳的格式只在上游那里定义一次)

# 上限: 这是一个本机基准, 不是压垮机器的工具
CAPS = {"streams": 2000, "tokens": 1000, "requests": 20000, "burst": 2000, "cancels": 20, "ttft": 200, "repeat": 10}  # fmt: skip
MAX_DEADLINE = 1800  # 整个运行最多几秒, 无论怎么设
CANCEL_WAIT = 2.0  # 关掉连接之后, 最多等几秒让上游发现
CANCEL_TOKENS = 400  # 取消测试用的长回答 (20 token/秒时 20 秒, 足够在中途关掉)
SHORT = "/bench tokens=2 interval=0"  # 短请求: 两个 token, 立刻回答
FIND_MAX_TOKENS = 40  # --find-max 每次试探的流长度 (20 token/秒时 2 秒)
FIND_MAX_PROBES = 8  # --find-max 每个 relay 最多试几次
FIND_MAX_SLACK_MS = 50  # --find-max: p99 晚到可以比合并窗口多这么多
NOISY = 0.1  # 测量期间别的进程用掉超过 0.1 个核, 这一轮就算"有干扰"

DEFAULTS = {"streams": 200, "tokens": 100, "interval": 0.05, "ramp": 1.0, "requests": 200,
            "concurrency": 50, "burst": 500, "cancels": 5, "ttft": 30, "repeat": 3, "deadline": 600.0}  # fmt: skip
QUICK = {"streams": 5, "tokens": 5, "interval": 0.05, "ramp": 0.1, "requests": 20,
         "concurrency": 5, "burst": 10, "cancels": 2, "ttft": 3, "repeat": 1, "deadline": 60.0}  # fmt: skip
SIM_RATE_TOKENS = 20_000  # 量模拟服务器的速度: 一条流多少个 chunk

console = Console(highlight=False, width=None if sys.stdout.isatty() else 160)
sse = load_example("04_sse_protocol.py")  # 用第 04 课的解码器解析每一条响应


# --------------------------------------------------------------------------- relay 们


@dataclass(frozen=True)
class Relay:
    name: str
    label: str  # 表格下面的图例
    window: float = 0.0  # 合并窗口 (秒): --find-max 的标准是 p99 ≤ window + 50ms

    def start(self, upstream: str, max_streams: int) -> tuple[subprocess.Popen[str], int]:
        if self.name.startswith("06"):
            proc, _, port = start(
                "06_complete_chat.py",
                *("--base-url", f"{upstream}/v1", "--model", "bench"),
                *("--max-streams", str(max_streams), "--coalesce", str(self.window)),
            )
        else:  # procs.start 接受绝对路径: examples/ 之外的脚本也能用同一套启动和等待
            proc, _, port = start(str(SERVE), self.name, "--base-url", f"{upstream}/v1")
        return proc, port


RELAYS = [
    Relay("raw", "原始 ASGI + aiohttp, 最少的 JSON 解析 (上限)"),
    Relay("usual", "FastAPI StreamingResponse + AsyncOpenAI 类型化 chunk (常见教程写法)"),
    Relay("sse-starlette", "sse-starlette EventSourceResponse + 类型化 chunk"),
    Relay("fastapi.sse", "fastapi.sse EventSourceResponse + ServerSentEvent + 类型化 chunk"),
    Relay("06", "第 06 课 (校验、名额、合并窗口 0.1 秒、保活; aiohttp + 原始行)", 0.1),
    Relay("06-c0", "第 06 课, --coalesce 0 (每片一个事件)", 0.0),
]


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    if proc.stdout:
        proc.stdout.close()


# --------------------------------------------------------------------------- 绑核


def plan_cores() -> tuple[set[int] | None, set[int] | None, str]:
    """(relay 的核, 上游和客户端的核, 说明)。不能绑时返回 None, 照常运行。"""
    if not hasattr(os, "sched_setaffinity"):
        return None, None, "这个系统不支持 sched_setaffinity: 未绑核, 进程之间会互相抢 CPU"
    cpus = sorted(os.sched_getaffinity(0))
    if len(cpus) < 2:
        return None, None, "只有 1 个可用的核: 未绑核, relay 和客户端抢同一个核"
    return {cpus[0]}, {cpus[1]}, f"relay 绑在 CPU {cpus[0]}, 上游和客户端绑在 CPU {cpus[1]}"


def pin(pid: int, cores: set[int] | None) -> None:
    """绑定一个进程的所有线程 (sched_setaffinity 只管一个线程; 之后新建的线程会继承)。"""
    if cores is None:
        return
    with contextlib.suppress(OSError):  # 线程可能刚好退出
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError):
                os.sched_setaffinity(int(tid), cores)


# --------------------------------------------------------------------------- 客户端


class Reply(asyncio.Protocol):
    """一个请求的响应: 收到的每一块字节和收到的时刻。解析留到测完以后, 客户端因此很省。"""

    def __init__(self) -> None:
        loop = asyncio.get_running_loop()
        self.chunks: list[tuple[int, bytes]] = []
        self.sent = 0  # 请求写出的时刻 (monotonic_ns)
        self.timed_out = False
        self.closed = loop.create_future()
        self.first = loop.create_future()  # 第一条完整的事件到了 (取消测试用)
        self.transport: asyncio.Transport | None = None
        self._head = bytearray()

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.chunks.append((time.monotonic_ns(), data))
        if not self.first.done():
            self._head += data
            _, sep, body = self._head.partition(b"\r\n\r\n")
            if sep and (b"\n\n" in body or b"\r\n\r\n" in body):
                self.first.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


def http_request(prompt: str) -> bytes:
    """HTTP/1.0: 响应读到连接关闭为止, 不用拆分块编码。"""
    body = json.dumps({"messages": [{"role": "user", "content": prompt}]}).encode()
    head = (
        f"POST /chat HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def connect(port: int) -> Reply:
    loop = asyncio.get_running_loop()
    try:
        _, reply = await loop.create_connection(Reply, HOST, port)
    except OSError:
        reply = Reply()  # 连不上: 一个空的响应, 统计时算作没送到
        reply.closed.set_result(None)
    return reply


def send(reply: Reply, request: bytes) -> None:
    if reply.transport and not reply.closed.done():
        reply.sent = time.monotonic_ns()
        reply.transport.write(request)


async def finish(reply: Reply, timeout: float) -> Reply:
    try:
        await asyncio.wait_for(asyncio.shield(reply.closed), max(timeout, 0.1))
    except TimeoutError:
        reply.timed_out = True
        if reply.transport:
            reply.transport.abort()
    return reply


async def fetch(port: int, prompt: str, timeout: float) -> Reply:
    reply = await connect(port)
    send(reply, http_request(prompt))
    return await finish(reply, timeout)


async def get_json(port: int, path: str) -> Any:
    reader, writer = await asyncio.open_connection(HOST, port)
    writer.write(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n".encode())
    raw = await reader.read()
    writer.close()
    return json.loads(raw.partition(b"\r\n\r\n")[2])


@dataclass
class Parsed:
    """一条响应里客户端看到的东西。"""

    status: int = 0
    tokens: int = 0  # 送到的 token 数 (合并过的 delta 里有好几个时间戳)
    events: int = 0  # delta 事件数
    last: str = ""  # 最后一个事件的名字: 应该是 done
    broken: int = 0  # data 不是 {"text": "时间戳|…"} 的 delta 事件
    first_ms: float | None = None  # 从发出请求到第一个 delta
    late_ms: list[float] = field(default_factory=list)  # 每个 token 晚到多少


def parse(reply: Reply) -> Parsed:
    result, decoder, head = Parsed(), sse.SSEDecoder(), b""
    for arrived, data in reply.chunks:
        if not result.status:  # 还在响应头里
            head += data
            top, sep, data = head.partition(b"\r\n\r\n")
            if not sep:
                continue
            result.status = int(top.split(b" ", 2)[1])
        for event in decoder.feed(data):
            result.last = event.event
            if event.event != "delta":
                continue
            try:
                stamps = parse_stamps(json.loads(event.data)["text"])
            except (ValueError, KeyError, TypeError):
                result.broken += 1  # relay 改坏了文字: 算作没送到, 不让整个基准崩掉
                continue
            result.events += 1
            result.tokens += len(stamps)
            result.late_ms += [(arrived - stamp) / 1e6 for stamp in stamps]
            if result.first_ms is None:
                result.first_ms = (arrived - reply.sent) / 1e6
    return result


def percentile(values: list[float], p: float) -> float | None:
    """最近秩法: 至少有 p% 的值 ≤ 它。"""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(p / 100 * len(ordered)) - 1))]


def complete(parsed: Parsed, tokens: int) -> bool:
    return (parsed.status == 200 and parsed.tokens == tokens and parsed.last == "done"
            and not parsed.broken)  # fmt: skip


# --------------------------------------------------------------------------- 各项测量


def busy_seconds() -> float:
    """整台机器所有核到目前为止用了多少 CPU 秒 (/proc/stat 第一行)。

    算 user、nice、system 和 steal (虚拟机被宿主机拿走的时间); 不算 irq/softirq: 本机回环网络的
    一部分处理记在那里, 不属于任何进程, 算进来会把我们自己的流量误当成"别的进程"。"""
    try:
        fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    except OSError:
        return 0.0
    user, nice, system, _idle, _iowait, _irq, _softirq, steal = fields
    return (user + nice + system + steal) / os.sysconf("SC_CLK_TCK")


@dataclass
class Clocks:
    """一段测量期间各方用掉的 CPU 和墙钟时间; foreign 是这台机器上别的进程用掉的。"""

    relay_pid: int
    upstream_pid: int

    def read(self) -> tuple[float, ...]:
        return (time.perf_counter(), cpu_seconds(self.relay_pid), cpu_seconds(self.upstream_pid),
                time.process_time(), busy_seconds())  # fmt: skip

    def __enter__(self) -> Clocks:
        self.start = self.read()
        return self

    def __exit__(self, *exc: object) -> None:
        wall, relay, upstream, client, busy = (
            b - a for a, b in zip(self.start, self.read(), strict=True)
        )
        self.wall, self.relay, self.upstream, self.client = wall, relay, upstream, client
        self.foreign = max(0.0, busy - relay - upstream - client)


async def streams_phase(
    port: int, n: int, tokens: int, interval: float, ramp: float, timeout: float
) -> list[Reply]:
    """在 ramp 秒内均匀地发起 n 条流, 然后它们同时保持打开, 直到各自读完。"""
    request = http_request(f"/bench tokens={tokens} interval={interval}")

    async def one(i: int) -> Reply:
        await asyncio.sleep(ramp * i / n)
        reply = await connect(port)
        send(reply, request)
        return await finish(reply, timeout - ramp * i / n)

    return await asyncio.gather(*(one(i) for i in range(n)))


async def requests_phase(port: int, count: int, concurrency: int, timeout: float) -> list[Reply]:
    limit = asyncio.Semaphore(concurrency)
    end = time.monotonic() + timeout

    async def one() -> Reply:
        async with limit:
            return await fetch(port, SHORT, end - time.monotonic())

    return await asyncio.gather(*(one() for _ in range(count)))


async def burst_phase(port: int, count: int, timeout: float) -> list[Reply]:
    """先把 count 条连接都连好, 再在同一个循环里一口气写出所有请求: "同一瞬间到达"。"""
    replies = await asyncio.gather(*(connect(port) for _ in range(count)))
    request = http_request(SHORT)
    for reply in replies:
        send(reply, request)
    sent = min((r.sent for r in replies if r.sent), default=0)
    for reply in replies:
        reply.sent = sent or reply.sent  # 从第一个请求写出的那一刻算起
    return await asyncio.gather(*(finish(r, timeout) for r in replies))


async def cancel_phase(
    port: int, upstream_port: int, count: int, interval: float, tag: str
) -> list[float | None]:
    """收到第一个事件就关掉连接 (像用户关掉页面); 上游记下它发现断开的时刻, 两者相减。"""
    await get_json(upstream_port, "/stats?reset=1")

    async def one(k: int) -> tuple[str, int | None]:
        await asyncio.sleep(k * 0.05)  # 错开: 基本上一次只测一个
        name = f"{tag}-{k}"
        reply = await connect(port)
        send(reply, http_request(f"/bench tokens={CANCEL_TOKENS} interval={interval} id={name}"))
        try:
            await asyncio.wait_for(asyncio.shield(reply.first), 10)
        except TimeoutError:
            if reply.transport:
                reply.transport.abort()
            return name, None
        closed = time.monotonic_ns()
        assert reply.transport  # 收到过事件, 连接一定建立过
        reply.transport.close()
        return name, closed

    closes = await asyncio.gather(*(one(k) for k in range(count)))
    end = time.monotonic() + CANCEL_WAIT
    while True:
        seen = (await get_json(upstream_port, "/stats"))["cancels"]
        if all(name in seen for name, _ in closes) or time.monotonic() > end:
            break
        await asyncio.sleep(0.01)
    return [
        (seen[name] - closed) / 1e6 if closed and name in seen else None for name, closed in closes
    ]


async def warm_up(port: int) -> None:
    """第一次请求要建连接池、编译校验器……这些不算进测量。"""
    for _ in range(3):
        await fetch(port, SHORT, 10)
    await streams_phase(port, 5, 3, 0.01, 0.05, 10)
    await asyncio.sleep(0.3)  # 让预热的收尾 (关连接、清理任务) 在测量开始之前做完


@dataclass
class Settings:
    streams: int
    tokens: int
    interval: float
    ramp: float
    requests: int
    concurrency: int
    burst: int
    cancels: int
    ttft: int


async def measure(
    relay: Relay, port: int, relay_pid: int, upstream_port: int, upstream_pid: int,
    s: Settings, tag: str, time_left: float,
) -> dict[str, Any]:  # fmt: skip
    """一个 relay 的一轮: 依次做 4 项测量, 返回一行结果。"""
    end = time.monotonic() + time_left
    phases: dict[str, float] = {}  # 每项测量用了几秒 (墙钟)
    result: dict[str, Any] = {"relay": relay.name, "seconds": phases}

    def left(limit: float) -> float:
        return min(limit, end - time.monotonic())

    mark = time.monotonic()
    await warm_up(port)
    phases["warm_up"] = time.monotonic() - mark

    # 1. N 条流同时进行: CPU/token、晚到、首个事件
    await get_json(upstream_port, "/stats?reset=1")
    timeout = left(s.ramp + s.tokens * s.interval + 30)
    with Clocks(relay_pid, upstream_pid) as clocks:
        replies = await streams_phase(port, s.streams, s.tokens, s.interval, s.ramp, timeout)
    upstream = await get_json(upstream_port, "/stats?reset=1")
    parsed = [parse(r) for r in replies]
    delivered = sum(p.tokens for p in parsed)
    late = [ms for p in parsed for ms in p.late_ms]
    firsts = [p.first_ms for p in parsed if p.first_ms is not None]
    phases["streams"] = clocks.wall
    result |= {
        "streams": s.streams,
        "streams_complete": sum(complete(p, s.tokens) for p in parsed),
        "streams_timed_out": sum(r.timed_out for r in replies),
        "tokens_expected": s.streams * s.tokens,
        "tokens_delivered": delivered,
        "events_per_token": sum(p.events for p in parsed) / delivered if delivered else None,
        "cpu_per_token_us": clocks.relay / delivered * 1e6 if delivered else None,
        "late_p50_ms": percentile(late, 50),
        "late_p99_ms": percentile(late, 99),
        "first_p50_ms": percentile(firsts, 50),
        "first_p95_ms": percentile(firsts, 95),
        "relay_core_load": clocks.relay / clocks.wall,
        "upstream_core_load": clocks.upstream / clocks.wall,
        "client_core_load": clocks.client / clocks.wall,
        "foreign_core_load": clocks.foreign / clocks.wall,
        "upstream_lag_mean_ms": upstream["lag_mean_ms"],
        "upstream_lag_max_ms": upstream["lag_max_ms"],
    }

    # 2. 很多短请求: CPU/请求
    with Clocks(relay_pid, upstream_pid) as clocks:
        replies = await requests_phase(port, s.requests, s.concurrency, left(60))
    phases["requests"] = clocks.wall
    result |= {
        "requests": s.requests,
        "requests_complete": sum(complete(parse(r), 2) for r in replies),
        "cpu_per_request_ms": clocks.relay / s.requests * 1e3,
    }

    # 3. 突发: B 个请求同一瞬间到达
    with Clocks(relay_pid, upstream_pid) as clocks:
        replies = await burst_phase(port, s.burst, left(60))
    phases["burst"] = clocks.wall
    # 晚到、首个事件和突发都是墙钟数字: 两段里别的进程用得多的那一段算数
    result["foreign_core_load"] = max(result["foreign_core_load"], clocks.foreign / clocks.wall)
    parsed = [parse(r) for r in replies]
    firsts = [p.first_ms for p in parsed if p.first_ms is not None]
    result |= {
        "burst": s.burst,
        "burst_complete": sum(complete(p, 2) for p in parsed),
        "burst_p50_ms": percentile(firsts, 50),
        "burst_p95_ms": percentile(firsts, 95),
    }

    # 4. 取消
    mark = time.monotonic()
    cancels = await cancel_phase(port, upstream_port, s.cancels, s.interval, tag)
    phases["cancel"] = time.monotonic() - mark
    seen = [ms for ms in cancels if ms is not None]
    result |= {
        "cancel_ms": cancels,
        "cancel_seen": len(seen),
        "cancel_p50_ms": percentile(seen, 50),
    }

    # 5. 没有负载时的首字: 经过 relay 比 SDK 直连上游多花多久
    mark = time.monotonic()
    result["ttft_overhead_ms"] = await ttft_overhead(port, upstream_port, s.ttft)
    phases["ttft"] = time.monotonic() - mark
    return result


async def ttft_overhead(port: int, upstream_port: int, count: int) -> float | None:
    """一个接一个地请求 (没有别的负载), 交替走两条路: openai SDK 直连上游, 和我们的客户端经过 relay。
    两边 p50 的差, 就是 relay 给首字时间加上的那一段。"""
    from openai import AsyncOpenAI, DefaultAioHttpClient

    prompt = "/bench tokens=2 interval=0.2"  # 第二个 token 晚到: 首个 token 之后的事不算进来
    messages = [{"role": "user", "content": prompt}]
    direct, relayed = [], []
    base = f"http://{HOST}:{upstream_port}/v1"
    async with AsyncOpenAI(
        api_key="bench", base_url=base, http_client=DefaultAioHttpClient()
    ) as sdk:

        async def via_sdk() -> float:
            start = time.perf_counter()
            stream = await sdk.chat.completions.create(
                model="bench", messages=messages, stream=True
            )
            async for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content:
                    break
            took = time.perf_counter() - start
            await stream.close()
            return took

        await via_sdk()  # 预热 SDK 的连接池
        for _ in range(count):
            direct.append(await via_sdk())
            reply = await connect(port)
            send(reply, http_request(prompt))
            await finish(reply, 10)
            if (first := parse(reply).first_ms) is not None:
                relayed.append(first / 1000)
            await asyncio.sleep(0.01)
    if not direct or not relayed:
        return None
    return (statistics.median(relayed) - statistics.median(direct)) * 1000


async def chunk_rate(port: int, path: str, body: dict[str, Any]) -> float:
    """读一条很长的流, 数 data: 行: 每秒多少个 chunk。客户端用 aiohttp, 它自己不是瓶颈。"""
    import aiohttp

    async with aiohttp.ClientSession() as session:
        start, count = time.perf_counter(), 0
        url = f"http://{HOST}:{port}{path}"
        async with session.post(url, json=body, headers={"Authorization": "Bearer bench"}) as r:
            async for line in r.content:
                count += line.startswith(b"data: {")
        return count / (time.perf_counter() - start)


def simulator_rate(repeat: int) -> dict[str, Any]:
    """第 05 课的模拟服务器 (FastAPI) 每秒能发多少个 chunk, 和原始 ASGI 的上游比。两者都不限速。"""
    text = "流式" * (SIM_RATE_TOKENS * 5 // 8)  # 模拟模型的切片平均 1.6 个字一个 token
    rates: dict[str, list[float]] = {"sim": [], "raw": []}
    sim, _, sim_port = start("openai_sim.py", "--token-delay", "0")
    raw, _, raw_port = start(str(SERVE), "upstream")
    try:
        for _ in range(repeat):
            rates["sim"].append(asyncio.run(chunk_rate(sim_port, "/v1/chat/completions", {
                "model": "bench", "stream": True, "messages": [{"role": "user", "content": f"/echo {text}"}]})))  # fmt: skip
            rates["raw"].append(asyncio.run(chunk_rate(raw_port, "/v1/chat/completions", {
                "model": "bench", "stream": True,
                "messages": [{"role": "user", "content": f"/bench tokens={SIM_RATE_TOKENS} interval=0"}]})))  # fmt: skip
    finally:
        stop(sim)
        stop(raw)
    ratios = [a / b for a, b in zip(rates["sim"], rates["raw"], strict=True)]
    return {"sim": statistics.median(rates["sim"]), "raw": statistics.median(rates["raw"]),
            "ratio": statistics.median(ratios), "ratios": ratios}  # fmt: skip


async def find_max(
    relay: Relay, port: int, relay_pid: int, upstream_pid: int, s: Settings, cap: int,
    time_left: float,
) -> dict[str, Any]:  # fmt: skip
    """20 token/秒时, p99 晚到 ≤ 窗口 + 50ms 且每个字都送到, 最多几条流? 先翻倍, 再二分, 次数有限。"""
    limit_ms = relay.window * 1000 + FIND_MAX_SLACK_MS
    end = time.monotonic() + time_left
    probes: list[dict[str, Any]] = []

    async def ok(n: int) -> bool:
        timeout = min(1 + FIND_MAX_TOKENS * s.interval + 30, end - time.monotonic())
        with Clocks(relay_pid, upstream_pid) as clocks:
            replies = await streams_phase(port, n, FIND_MAX_TOKENS, s.interval, 1.0, timeout)
        parsed = [parse(r) for r in replies]
        late = [ms for p in parsed for ms in p.late_ms]
        p99 = percentile(late, 99)
        passed = all(complete(p, FIND_MAX_TOKENS) for p in parsed) and (p99 or 0) <= limit_ms
        probes.append({"streams": n, "late_p99_ms": p99, "passed": passed,
                       "relay_core_load": clocks.relay / clocks.wall,
                       "other_core_load": (clocks.upstream + clocks.client) / clocks.wall,
                       "foreign_core_load": clocks.foreign / clocks.wall})  # fmt: skip
        return passed

    await warm_up(port)
    low, high, n = 0, None, 50
    while len(probes) < FIND_MAX_PROBES and time.monotonic() < end - 10:
        if await ok(n):
            low = n
            if n >= cap:
                break
        else:
            high = n
        if high is None:
            n = min(n * 2, cap)
        elif high - low <= max(10, low // 10):
            break
        else:
            n = (low + high) // 2
    # 第一个没通过的试探里, 上游+客户端那个核已经快满了: 找到的是测量工具的上限, 不是 relay 的
    failed = [p for p in probes if not p["passed"] and p["streams"] == high]
    client_bound = bool(failed) and failed[0]["other_core_load"] > 0.85
    return {"max_streams": low, "capped": low >= cap, "client_bound": client_bound,
            "limit_ms": limit_ms, "probes": probes}  # fmt: skip


# --------------------------------------------------------------------------- 汇总与输出


METRICS = ["cpu_per_token_us", "cpu_per_request_ms", "late_p50_ms", "late_p99_ms",
           "first_p50_ms", "first_p95_ms", "burst_p50_ms", "burst_p95_ms", "cancel_p50_ms",
           "relay_core_load", "upstream_core_load", "client_core_load", "foreign_core_load",
           "upstream_lag_mean_ms", "upstream_lag_max_ms", "events_per_token", "ttft_overhead_ms"]  # fmt: skip


def spread(values: list[float | None]) -> dict[str, float] | None:
    present = [v for v in values if v is not None]
    if not present:
        return None
    return {"median": statistics.median(present), "min": min(present), "max": max(present)}


def summarize(runs: dict[str, list[dict[str, Any]]]) -> dict[str, dict[str, Any]]:
    """每个 relay 每项指标: 各轮的中位数、最小、最大; CPU 的两项还有和同一轮 raw 的比值。"""
    summary: dict[str, dict[str, Any]] = {}
    raw = {run["round"]: run for run in runs.get("raw", [])}
    for name, rounds in runs.items():
        row: dict[str, Any] = {m: spread([r.get(m) for r in rounds]) for m in METRICS}
        for metric in ("cpu_per_token_us", "cpu_per_request_ms"):
            ratios = [
                r[metric] / raw[r["round"]][metric]
                for r in rounds
                if r["round"] in raw and r.get(metric) and raw[r["round"]].get(metric)
            ]
            row[f"{metric}_x_raw"] = spread(ratios)
        row["rounds"] = len(rounds)
        for key in ("tokens_expected", "tokens_delivered", "streams", "streams_complete",
                    "requests", "requests_complete", "burst", "burst_complete", "cancel_seen"):  # fmt: skip
            row[key] = sum(r[key] for r in rounds)
        row["cancel_total"] = sum(len(r["cancel_ms"]) for r in rounds)
        row["noisy_rounds"] = sum((r.get("foreign_core_load") or 0) > NOISY for r in rounds)
        summary[name] = row
    return summary


def fmt(value: float | None, digits: int = 0) -> str:
    return "—" if value is None else f"{value:,.{digits}f}"


def cell(stat: dict[str, float] | None, digits: int = 0, with_range: bool = False) -> str:
    if stat is None:
        return "—"
    text = fmt(stat["median"], digits)
    if with_range and stat["max"] > stat["min"]:
        text += f" ({fmt(stat['min'], digits)}–{fmt(stat['max'], digits)})"
    return text


def med(stat: dict[str, float] | None) -> float | None:
    return stat["median"] if stat else None


def max_of(stat: dict[str, float] | None) -> float | None:
    return stat["max"] if stat else None


def table(summary: dict[str, dict[str, Any]], maxima: dict[str, Any], s: Settings) -> Table:
    t = Table(
        title=f"relay 对比: {s.streams} 条流 × {s.tokens} token, {1 / s.interval:g} token/秒",
        caption="中位数 (最小–最大); × raw: 同一轮里和 raw 的比值的中位数",
    )
    t.add_column("写法")
    t.add_column("CPU/token\nµs", justify="right")
    t.add_column("× raw", justify="right")
    t.add_column("CPU/请求\nms", justify="right")
    t.add_column("× raw", justify="right")
    t.add_column("晚到 p50/p99\nms", justify="right")
    t.add_column(f"首个事件 p50\nms ({s.streams} 条流)", justify="right")
    t.add_column(f"突发 p50/p95\nms ({s.burst} 个)", justify="right")
    t.add_column("取消\nms", justify="right")
    t.add_column("首字多花\nms", justify="right")
    if maxima:
        t.add_column("最多流数\n(--find-max)", justify="right")
    for name, row in summary.items():
        cancel = cell(row["cancel_p50_ms"], 1)
        if row["cancel_seen"] < row["cancel_total"]:
            cancel = f"{cancel} ({row['cancel_seen']}/{row['cancel_total']} 传到上游)"
        cells = [
            name,
            cell(row["cpu_per_token_us"], 1, with_range=True),
            cell(row["cpu_per_token_us_x_raw"], 2),
            cell(row["cpu_per_request_ms"], 2, with_range=True),
            cell(row["cpu_per_request_ms_x_raw"], 2),
            f"{fmt(med(row['late_p50_ms']))} / {fmt(med(row['late_p99_ms']))}",
            cell(row["first_p50_ms"], 1),
            f"{fmt(med(row['burst_p50_ms']))} / {fmt(med(row['burst_p95_ms']))}",
            cancel,
            cell(row["ttft_overhead_ms"], 1),
        ]
        if maxima:
            found = maxima.get(name)
            at_least = found and (found["capped"] or found["client_bound"])  # 真实上限只会更高
            cells.append(f"{'≥' if at_least else ''}{found['max_streams']}" if found else "—")
        t.add_row(*cells)
    return t


def problems(summary: dict[str, dict[str, Any]]) -> tuple[list[str], list[str]]:
    """(错误, 提醒): 错误是丢了字、没有正常结束; 提醒是测量本身可能不准的地方。"""
    errors, notes = [], []
    for name, row in summary.items():
        lost = row["tokens_expected"] - row["tokens_delivered"]
        if lost or row["streams_complete"] < row["streams"]:
            errors.append(f"{name}: {row['streams'] - row['streams_complete']} 条流没有完整送到 (少了 {lost} 个 token)")  # fmt: skip
        for kind in ("requests", "burst"):
            if row[f"{kind}_complete"] < row[kind]:
                errors.append(f"{name}: {kind} 有 {row[kind] - row[f'{kind}_complete']} 个请求没有完整回答")  # fmt: skip
        if row["cancel_seen"] < row["cancel_total"]:
            notes.append(f"{name}: 关掉连接后 {CANCEL_WAIT:g} 秒内, 上游只发现了 {row['cancel_seen']}/{row['cancel_total']} 次取消 (relay 没有关掉上游的连接?)")  # fmt: skip
        if (lag := med(row["upstream_lag_mean_ms"])) and lag > 2:
            notes.append(f"{name}: 上游平均比计划晚 {lag:.1f} ms 发出 token: 上游所在的核太忙, relay 实际的负载比设定的小")  # fmt: skip
        other = (med(row["upstream_core_load"]) or 0) + (med(row["client_core_load"]) or 0)
        if other > 0.85:
            notes.append(f"{name}: 上游+客户端用了 {other:.0%} 个核: 晚到和首个事件可能被它们拖慢")
        if noisy := row["noisy_rounds"]:
            worst = max_of(row["foreign_core_load"]) or 0
            verdict = "中位数仍可参考" if noisy < row["rounds"] / 2 else "延迟类的数字不可靠"
            notes.append(f"{name}: {noisy}/{row['rounds']} 轮测量时, 这台机器上别的进程在用 CPU (最多 {worst:.0%} 个核): {verdict}; CPU/token 受影响较小")  # fmt: skip
        if (load := med(row["relay_core_load"])) and load > 0.95:
            notes.append(f"{name}: relay 用满了一个核 ({load:.0%}): 它的晚到是排队造成的")
    return errors, notes


# --------------------------------------------------------------------------- 主流程


def resolve(args: argparse.Namespace) -> tuple[Settings, int, float, list[Relay]]:
    profile = QUICK if args.quick else DEFAULTS
    value = {k: getattr(args, k) if getattr(args, k) is not None else v for k, v in profile.items()}
    for key, cap in CAPS.items():
        value[key] = max(1, min(int(value[key]), cap))
    value["interval"] = max(0.001, float(value["interval"]))
    value["ramp"] = max(0.0, float(value["ramp"]))
    value["concurrency"] = max(1, min(int(value["concurrency"]), CAPS["streams"]))
    settings = Settings(**{k: value[k] for k in Settings.__dataclass_fields__})
    names = [n.strip() for n in args.only.split(",")] if args.only else [r.name for r in RELAYS]
    unknown = [n for n in names if n not in {r.name for r in RELAYS}]
    if unknown:
        raise SystemExit(f"不认识的 relay: {', '.join(unknown)} (可选: {', '.join(r.name for r in RELAYS)})")  # fmt: skip
    relays = [r for r in RELAYS if r.name in names]
    return settings, value["repeat"], min(float(value["deadline"]), MAX_DEADLINE), relays


@dataclass
class Report:
    settings: Settings
    relays: list[Relay]
    repeat: int
    notes: list[str] = field(default_factory=list)
    runs: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    maxima: dict[str, Any] = field(default_factory=dict)
    sim_rate: dict[str, Any] | None = None
    seconds: float = 0.0


def run(args: argparse.Namespace) -> Report:
    """启动上游, 然后逐轮逐个启动 relay、测量、停掉。进程的启停是同步的, 测量在各自的事件循环里。"""
    s, repeat, deadline, relays = resolve(args)
    report = Report(s, relays, repeat, runs={r.name: [] for r in relays})
    started = time.monotonic()
    end = started + deadline
    relay_cores, other_cores, pinning = plan_cores()
    pin(os.getpid(), other_cores)  # 客户端; 之后启动的上游继承这个设置
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)  # 上千条连接需要上千个文件描述符
    with contextlib.suppress(ValueError, OSError):  # 提不上去就算了, 连接多了会报错而不是挂住
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    max_streams = max(s.streams, s.burst, s.concurrency, CAPS["streams"] if args.find_max else 0)
    fast = [m for m in ("httptools", "uvloop") if importlib.util.find_spec(m)]
    report.notes += [pinning, f"uvicorn 用的是 {'、'.join(fast) or 'h11 + asyncio (没有安装 httptools / uvloop)'}"]  # fmt: skip
    children: list[subprocess.Popen[str]] = []

    def launch(relay: Relay) -> tuple[subprocess.Popen[str], int]:
        proc, port = relay.start(upstream_url, max_streams + 10)
        children.append(proc)
        pin(proc.pid, relay_cores)
        return proc, port

    try:
        if args.sim_rate:
            console.print("模拟服务器的速度 …", style="dim")
            report.sim_rate = simulator_rate(repeat)
        upstream, upstream_url, upstream_port = start(str(SERVE), "upstream")
        children.append(upstream)
        jobs = [(n, relay) for n in range(1, repeat + 1) for relay in rotate(relays, n - 1)]
        for round_no, relay in jobs:
            left = end - time.monotonic()
            if left < 20 + s.ramp + s.tokens * s.interval:
                report.notes.append(f"到了时间上限 ({deadline:g} 秒): 第 {round_no} 轮从 {relay.name} 起没有测")  # fmt: skip
                break
            console.print(f"第 {round_no}/{repeat} 轮: {relay.name} …", style="dim")
            proc, port = launch(relay)
            try:
                result = asyncio.run(measure(
                    relay, port, proc.pid, upstream_port, upstream.pid, s,
                    f"r{round_no}-{relay.name}", left,
                ))  # fmt: skip
            finally:
                stop(proc)
            report.runs[relay.name].append(result | {"round": round_no})
        for relay in relays if args.find_max else []:
            left = end - time.monotonic()
            if left < 30:
                report.notes.append(f"到了时间上限: {relay.name} 没有做 --find-max")
                continue
            console.print(f"--find-max: {relay.name} …", style="dim")
            proc, port = launch(relay)
            try:
                report.maxima[relay.name] = asyncio.run(
                    find_max(relay, port, proc.pid, upstream.pid, s, CAPS["streams"], left)
                )
            finally:
                stop(proc)
    finally:
        for proc in children:  # 出了什么事都不留下子进程
            stop(proc)
    report.runs = {name: rounds for name, rounds in report.runs.items() if rounds}
    report.seconds = time.monotonic() - started
    return report


def rotate(relays: list[Relay], shift: int) -> list[Relay]:
    """每一轮换一个起点: 机器状态的漂移不会总落在同一个 relay 头上。"""
    shift %= len(relays)
    return relays[shift:] + relays[:shift]


def show(report: Report, json_path: str | None) -> int:
    s = report.settings
    summary = summarize(report.runs)
    errors, warnings = problems(summary)
    console.print(table(summary, report.maxima, s))
    console.print(
        f"短请求 {s.requests} 个 (同时 {min(s.concurrency, s.requests)} 个), 每个 2 个 token; 突发 {s.burst} 个同时到达; "
        f"取消 {s.cancels} 次/轮; {report.repeat} 轮; 用时 {report.seconds:.0f} 秒"
    )
    for relay in report.relays:
        console.print(f"  {relay.name:14} {relay.label}")
    if rate := report.sim_rate:
        console.print(
            f"模拟服务器 (openai_sim.py) {rate['sim']:,.0f} chunk/秒, 原始 ASGI 上游 {rate['raw']:,.0f} chunk/秒: "
            f"{rate['ratio']:.2f} 倍 (各轮 {', '.join(f'{r:.2f}' for r in rate['ratios'])})"
        )
    for name, found in report.maxima.items():
        if found["client_bound"]:
            warnings.append(f"{name}: --find-max 停在 {found['max_streams']} 条流时, 上游+客户端那个核已经快满了: 这是测量工具的上限, relay 可能还能更多")  # fmt: skip
    for line in report.notes + warnings:
        console.print(f"注意: {line}", style="yellow")
    for line in errors:
        console.print(f"错误: {line}", style="bold red")
    if json_path:
        dump = {"settings": s.__dict__, "repeat": report.repeat, "seconds": report.seconds,
                "notes": report.notes, "warnings": warnings, "errors": errors,
                "summary": summary, "runs": report.runs, "find_max": report.maxima,
                "sim_rate": report.sim_rate}  # fmt: skip
        Path(json_path).write_text(json.dumps(dump, ensure_ascii=False, indent=1), encoding="utf-8")
    return 1 if errors or not summary else 0


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        stream.reconfigure(encoding="utf-8", errors="replace")
    d, q = DEFAULTS, QUICK
    parser = argparse.ArgumentParser(description="relay 对比基准 (只用本机, 有时间上限)")
    parser.add_argument("--quick", action="store_true", help="冒烟: 很小的规模, 1 轮 (约 30 秒)")
    parser.add_argument("--only", help="只测这些 relay, 逗号分隔: " + ",".join(r.name for r in RELAYS))  # fmt: skip

    def option(name: str, kind: type, text: str) -> None:
        cap = f"; 上限 {CAPS[name]}" if name in CAPS else ""
        help = f"{text} (默认 {d[name]}; --quick 时 {q[name]}{cap})"
        parser.add_argument(f"--{name}", type=kind, help=help)

    option("streams", int, "同时进行的流")
    option("tokens", int, "每条流的 token 数")
    option("interval", float, "上游的 token 间隔, 秒")
    option("ramp", float, "在多少秒内把所有流发起完")
    option("requests", int, "短请求的个数 (测 CPU/请求)")
    option("concurrency", int, "短请求同时进行几个")
    option("burst", int, "同一瞬间发出的请求数")
    option("cancels", int, "每轮测几次取消")
    option("ttft", int, "每轮测几次没有负载时的首字 (经过 relay 和 SDK 直连各一次)")
    parser.add_argument(
        "--no-sim-rate", dest="sim_rate", action="store_false", help="不量模拟服务器的速度"
    )
    option("repeat", int, "每个 relay 跑几轮")
    option("deadline", float, f"整个运行最多几秒 (上限 {MAX_DEADLINE})")
    parser.add_argument(
        "--find-max", action="store_true",
        help=f"另外找出每个 relay 最多能撑多少条流 (较慢; 最多试 {FIND_MAX_PROBES} 次)",
    )  # fmt: skip
    parser.add_argument("--json", help="把原始结果写进这个 JSON 文件")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    return show(run(args), args.json)


if __name__ == "__main__":
    raise SystemExit(main())
