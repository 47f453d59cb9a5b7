"""负载测试: 第 06 课的聊天服务器 (一个 uvicorn worker) 能同时撑住多少条流?

三个进程, 都在本机 (127.0.0.1):
  模拟模型   python examples/05_openai_stream.py --serve-sim --token-delay 0.05   (每条流 20 token/秒)
  聊天服务器 python examples/06_complete_chat.py --base-url <模拟模型>             (被测的对象)
  本脚本     同时发起 N 个 POST /chat, 读到 done 为止, 检查每一个字都到了

客户端故意写得很省: 原始 socket、HTTP/1.0 (响应读到连接关闭为止, 不用拆分块), 读完再统一解析,
免得测量工具自己成了瓶颈。请求数和时间都有上限, 跑完自己退出。

    python tools/load_chat.py                     # 500 条流, 每条 100 个 token
    python tools/load_chat.py --streams 200 --coalesce 0   # 对比: 不合并
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import time

from procs import cpu_seconds, load_example, start

MAX_STREAMS = 2000  # 上限: 这是一个本机测试, 不是压垮机器的工具
DEADLINE = 180  # 整个测试最多几秒


async def one_stream(port: int, body: bytes, delay: float) -> tuple[float | None, float, bytes]:
    """等 delay 秒再发一个请求, 读到连接关闭; 返回 (首个事件用时, 整条流用时, 原始响应), 从这条流自己开始算起。"""
    await asyncio.sleep(delay)
    start = time.perf_counter()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    head = (
        "POST /chat HTTP/1.0\r\nHost: load\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    writer.write(head.encode() + body)
    first, raw = None, bytearray()
    while data := await reader.read(65536):
        raw += data
        if first is None and b"\nevent: " in raw:
            first = time.perf_counter() - start
    writer.close()
    return first, time.perf_counter() - start, bytes(raw)


def delivered_text(raw: bytes, decoder_class) -> tuple[str, str, int]:
    """解析一条响应: (拼起来的回答, 最后一个事件的名字, 事件数)。"""
    body = raw.partition(b"\r\n\r\n")[2]
    events = decoder_class().feed(body)
    text = "".join(json.loads(e.data)["text"] for e in events if e.event == "delta")
    return text, (events[-1].event if events else ""), len(events)


def percentile(values: list[float], p: float) -> float:
    return statistics.quantiles(values, n=100)[p - 1] if len(values) > 1 else values[0]


async def run(
    port: int, streams: int, text: str, ramp: float
) -> list[tuple[float | None, float, bytes]]:
    """在 ramp 秒内均匀地发起 streams 条流 (真实用户不会在同一微秒一起到达), 全部同时保持打开。"""
    body = json.dumps({"messages": [{"role": "user", "content": f"/echo {text}"}]}).encode()
    tasks = [one_stream(port, body, ramp * i / streams) for i in range(streams)]
    return await asyncio.wait_for(asyncio.gather(*tasks), DEADLINE)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="第 06 课聊天服务器的负载测试 (只用本机)")
    parser.add_argument("--streams", type=int, default=500, help="同时进行的流 (默认 500)")
    parser.add_argument("--tokens", type=int, default=100, help="每条流的 token 数 (默认 100)")
    parser.add_argument(
        "--token-delay",
        type=float,
        default=0.05,
        help="模型每个 token 的秒数 (默认 0.05 = 20 token/秒)",
    )
    parser.add_argument(
        "--coalesce",
        type=float,
        default=0.1,
        help="聊天服务器的合并窗口 (默认 0.1, 与 06 相同; 0 = 不合并)",
    )
    parser.add_argument(
        "--ramp",
        type=float,
        default=2.0,
        help="在多少秒内把所有流发起完 (默认 2; 之后它们同时保持打开)",
    )
    args = parser.parse_args(argv)
    streams = min(args.streams, MAX_STREAMS)

    openai_sim = load_example("openai_sim.py")  # 模拟模型的分词规则: 算出期望的 token 数
    lesson04 = load_example("04_sse_protocol.py")  # 用第 04 课的解码器检查每条响应

    text = "流式" * (args.tokens * 5 // 8)  # 切片长度循环 2,1,3,2,1,2: 平均 1.6 个字一个 token
    tokens = len(openai_sim.tokenize(text))
    ideal = tokens * args.token_delay
    sim, _, sim_port = start(
        "05_openai_stream.py", "--serve-sim", "--token-delay", str(args.token_delay)
    )
    chat, _, chat_port = start(
        "06_complete_chat.py",
        *("--base-url", f"http://127.0.0.1:{sim_port}/v1", "--model", "sim"),
        *("--max-streams", str(streams), "--coalesce", str(args.coalesce)),
    )
    try:
        cpu_chat, cpu_sim, wall = cpu_seconds(chat.pid), cpu_seconds(sim.pid), time.perf_counter()
        results = asyncio.run(run(chat_port, streams, text, args.ramp))
        wall = time.perf_counter() - wall
        cpu_chat, cpu_sim = cpu_seconds(chat.pid) - cpu_chat, cpu_seconds(sim.pid) - cpu_sim
    finally:
        for proc in (chat, sim):
            proc.terminate()
            proc.wait(timeout=10)

    parsed = [delivered_text(raw, lesson04.SSEDecoder) for _, _, raw in results]
    complete = sum(1 for got, last, _ in parsed if got == text and last == "done")
    events = sum(n for _, _, n in parsed)
    firsts = [first for first, _, _ in results if first is not None]
    totals = [total for _, total, _ in results]
    print(
        f"{streams} 条并发流 ({args.ramp:g} 秒内陆续发起, 然后同时保持), 每条 {tokens} 个 token, 模型 {1 / args.token_delay:.0f} token/秒, 合并窗口 {args.coalesce}s"
    )
    print(f"  每一个字都送到、以 done 结束的流: {complete}/{streams}")
    print(f"  首个事件 p50/p95: {percentile(firsts, 50):.2f}s / {percentile(firsts, 95):.2f}s")
    print(
        f"  整条流 p50/p95:   {percentile(totals, 50):.2f}s / {percentile(totals, 95):.2f}s  (模型本身需要 {ideal:.2f}s, 比值 {percentile(totals, 95) / ideal:.2f})"
    )
    print(
        f"  发出的事件: {events} (每条流 {events / streams:.0f} 个, 每个 token {events / streams / tokens:.2f} 个)"
    )
    print(
        f"  聊天服务器 CPU: {cpu_chat:.1f}s / {wall:.1f}s = {cpu_chat / wall:.0%} 个核  ({cpu_chat / (streams * tokens) * 1e6:.0f} 微秒/token)"
    )
    print(f"  模拟模型 CPU:   {cpu_sim:.1f}s / {wall:.1f}s = {cpu_sim / wall:.0%} 个核")
    return 0 if complete == streams else 1


if __name__ == "__main__":
    raise SystemExit(main())
