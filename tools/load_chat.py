"""负载测试: 第 06 课的聊天服务器 (一个 uvicorn worker) 能同时撑住多少条流? 满了的时候, 拒绝来得够不够快?

三个进程, 都在本机 (127.0.0.1):
  模拟模型   python examples/openai_sim.py --token-delay 0.05   (每条流 20 token/秒)
  聊天服务器 python examples/06_complete_chat.py --base-url <模拟模型>             (被测的对象, 独占 0 号核)
  本脚本     同时发起 N 个 POST /chat, 读到连接关闭, 检查每一个字都到了          (和模拟模型共用 1 号核)

客户端故意写得很省: 原始 socket、HTTP/1.0 (响应读到连接关闭为止, 不用拆分块), 读完再统一解析,
免得测量工具自己成了瓶颈。请求数和时间都有上限, 跑完自己退出。

    python tools/load_chat.py                                  # 500 条流, 2 秒内陆续发起
    python tools/load_chat.py --ramp 0                         # 突发: 500 个请求在同一瞬间到达
    python tools/load_chat.py --streams 1000 --max-streams 600 --tokens 400   # 过载: 600 条流占满之后, 再来的 400 个应当很快得到 503
    python tools/load_chat.py --repeat 3                       # 重复 3 次, 报告中位数
    python tools/load_chat.py --chat-script /别处/06_complete_chat.py   # 测另一个版本 (比如改动之前的)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from procs import EXAMPLES, cpu_seconds, load_example, start

MAX_STREAMS = 2000  # 上限: 这是一个本机测试, 不是压垮机器的工具
DEADLINE = 300  # 一轮测试最多几秒


@dataclass
class Outcome:
    status: int  # HTTP 状态码; 0 = 没有收到响应
    first: float | None  # 收到第一个事件 (或者整个错误响应) 用了几秒, 从发出请求算起
    total: float
    raw: bytes


async def one_request(port: int, body: bytes, delay: float) -> Outcome:
    """等 delay 秒再发一个请求, 读到连接关闭。"""
    await asyncio.sleep(delay)
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        "POST /chat HTTP/1.0\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    first, raw = None, bytearray()
    while data := await reader.read(65536):
        raw += data
        if first is None and b"\nevent: " in raw:
            first = time.perf_counter() - start
    writer.close()
    total = time.perf_counter() - start
    status = int(raw[9:12]) if raw.startswith(b"HTTP/") else 0
    return Outcome(status, first if status == 200 else total, total, bytes(raw))


def delivered_text(raw: bytes, decoder_class) -> tuple[str, str, int]:
    """解析一条响应: (拼起来的回答, 最后一个事件的名字, 事件数)。"""
    body = raw.partition(b"\r\n\r\n")[2]
    events = decoder_class().feed(body)
    text = "".join(json.loads(e.data)["text"] for e in events if e.event == "delta")
    return text, (events[-1].event if events else ""), len(events)


def percentile(values: list[float], p: int) -> float:
    if not values:
        return float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]  # fmt: skip


async def run(port: int, streams: int, limit: int, text: str, ramp: float) -> list[Outcome]:
    """在 ramp 秒内均匀地发起 streams 条流 (ramp=0: 同一瞬间), 全部同时保持打开。

    过载 (streams > limit): 先发起 limit 条, 等它们都开始流了 (服务器正忙), 再一起发出多出来的那些 ——
    量的是"服务器已经满负荷时, 一个 503 要等多久"。"""
    body = json.dumps({"messages": [{"role": "user", "content": f"/echo {text}"}]}).encode()
    first = min(streams, limit)
    admitted = [asyncio.ensure_future(one_request(port, body, ramp * i / first)) for i in range(first)]  # fmt: skip
    extra: list[Outcome] = []
    if streams > limit:
        await asyncio.sleep(ramp + 1.0)  # 名额都占满了, 流都在进行
        extra = await asyncio.gather(*(one_request(port, body, 0) for _ in range(streams - limit)))
    return await asyncio.wait_for(asyncio.gather(*admitted), DEADLINE) + list(extra)


def pin(pid: int, core: int) -> None:
    """把进程固定在一个核上 (Linux): 被测的服务器独占一个核, 数字才可比。做不到就算了。"""
    if hasattr(os, "sched_setaffinity") and (os.cpu_count() or 1) > 1:
        os.sched_setaffinity(pid, {core})


def one_round(args: argparse.Namespace, text: str) -> dict[str, float]:
    """启动模拟模型和聊天服务器, 跑一轮, 停掉它们, 返回这一轮的数字。"""
    sim, _, sim_port = start("openai_sim.py", "--token-delay", str(args.token_delay))
    chat, _, chat_port = start(
        args.chat_script,
        *("--base-url", f"http://127.0.0.1:{sim_port}/v1", "--model", "sim"),
        *("--max-streams", str(args.max_streams), "--coalesce", str(args.coalesce)),
    )
    if args.pin:
        pin(chat.pid, 0)
        pin(sim.pid, 1)
        pin(os.getpid(), 1)
    try:
        cpu_chat, wall = cpu_seconds(chat.pid), time.perf_counter()
        outcomes = asyncio.run(run(chat_port, args.streams, args.max_streams, text, args.ramp))
        wall = time.perf_counter() - wall
        cpu_chat = cpu_seconds(chat.pid) - cpu_chat
    finally:
        for proc in (chat, sim):
            proc.terminate()
            proc.wait(timeout=10)
    return summarize(outcomes, text, cpu_chat, wall)


def summarize(outcomes: list[Outcome], text: str, cpu: float, wall: float) -> dict[str, float]:
    decoder = load_example("04_sse_protocol.py").SSEDecoder  # 用第 04 课的解码器检查每条响应
    admitted = [o for o in outcomes if o.status == 200]
    rejected = [o.total for o in outcomes if o.status == 503]
    parsed = [delivered_text(o.raw, decoder) for o in admitted]
    firsts = [o.first for o in admitted if o.first is not None]
    tokens = len(load_example("openai_sim.py").tokenize(text))
    return {
        "admitted": len(admitted),
        "complete": sum(1 for got, last, _ in parsed if got == text and last == "done"),
        "rejected": len(rejected),
        "other": len(outcomes) - len(admitted) - len(rejected),
        "first_p50": percentile(firsts, 50),
        "first_p95": percentile(firsts, 95),
        "first_p99": percentile(firsts, 99),
        "reject_p50": percentile(rejected, 50),
        "reject_p99": percentile(rejected, 99),
        "total_p95": percentile([o.total for o in admitted], 95),
        "events_per_token": sum(n for _, _, n in parsed) / max(1, len(parsed)) / tokens,
        "cpu_share": cpu / wall,
        "cpu_per_token_us": cpu / max(1, len(admitted) * tokens) * 1e6,
    }


def median_of(rounds: list[dict[str, float]], key: str) -> str:
    values = [r[key] for r in rounds]
    mid = statistics.median(values)
    return f"{mid:.3g}" if len(values) == 1 else f"{mid:.3g} ({min(values):.3g}–{max(values):.3g})"


def report(args: argparse.Namespace, tokens: int, rounds: list[dict[str, float]]) -> None:
    ideal = tokens * args.token_delay
    m = lambda key: median_of(rounds, key)  # noqa: E731
    print(
        f"{args.streams} 个请求 ({'同一瞬间' if not args.ramp else f'{args.ramp:g} 秒内陆续'}发起), 上限 {args.max_streams} 条流, "
        f"每条 {tokens} 个 token, 模型 {1 / args.token_delay:.0f} token/秒, 合并窗口 {args.coalesce}s, "
        f"{len(rounds)} 轮的中位数 (括号里是最小–最大)"
    )
    print(f"  被接受 / 每个字都送到并以 done 结束: {m('admitted')} / {m('complete')}")
    print(f"  首个事件 p50 / p95 / p99: {m('first_p50')}s / {m('first_p95')}s / {m('first_p99')}s")
    print(f"  整条流 p95: {m('total_p95')}s  (模型本身需要 {ideal:.2f}s)")
    if any(r["rejected"] for r in rounds):
        print(
            f"  503 拒绝: {m('rejected')} 个, 用时 p50 / p99: {m('reject_p50')}s / {m('reject_p99')}s"
        )
    if any(r["other"] for r in rounds):
        print(f"  既不是 200 也不是 503 的: {m('other')}")
    print(f"  每个 token 的事件数: {m('events_per_token')}")
    print(f"  聊天服务器 CPU: {m('cpu_share')} 个核, {m('cpu_per_token_us')} 微秒/token")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="第 06 课聊天服务器的负载测试 (只用本机)")
    add = parser.add_argument
    add("--streams", type=int, default=500, help="发起多少个请求 (默认 500)")
    add("--max-streams", type=int, help="聊天服务器的并发上限 (默认 = --streams, 即全部接受)")
    add("--tokens", type=int, default=100, help="每条流的 token 数 (默认 100)")
    add("--token-delay", type=float, default=0.05, help="模型每个 token 的秒数 (默认 0.05 = 20 token/秒)")  # fmt: skip
    add("--coalesce", type=float, default=0.1, help="聊天服务器的合并窗口 (默认 0.1, 与 06 相同; 0 = 不合并)")  # fmt: skip
    add("--ramp", type=float, default=2.0, help="在多少秒内把所有请求发起完 (默认 2; 0 = 同一瞬间)")  # fmt: skip
    add("--no-pin", dest="pin", action="store_false", help="不把进程固定到核上 (默认: 服务器独占 0 号核)")  # fmt: skip
    add("--repeat", type=int, default=1, help="重复几轮, 报告中位数 (默认 1)")
    add("--chat-script", type=Path, default=EXAMPLES / "06_complete_chat.py", help="被测的聊天服务器脚本 (默认 examples/06_complete_chat.py)")  # fmt: skip
    args = parser.parse_args(argv)
    args.streams = min(args.streams, MAX_STREAMS)
    args.max_streams = args.max_streams or args.streams
    args.chat_script = args.chat_script.resolve()  # 相对路径从当前目录算起

    text = "流式" * (args.tokens * 5 // 8)  # 切片长度循环 2,1,3,2,1,2: 平均 1.6 个字一个 token
    tokens = len(load_example("openai_sim.py").tokenize(text))
    rounds = [one_round(args, text) for _ in range(args.repeat)]
    report(args, tokens, rounds)
    expected = min(args.streams, args.max_streams)
    return 0 if all(r["complete"] >= expected for r in rounds) else 1


if __name__ == "__main__":
    raise SystemExit(main())
