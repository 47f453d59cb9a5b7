"""LangChain 替你做了什么, 又花了多少: 读同一个流, 每个 token 花多少 CPU。

模拟模型在另一个进程里 (python examples/openai_sim.py, 不限速), 本进程用四种方式读同一个很长的回答,
量本进程的 CPU (time.process_time), 除以 token 数:

  原始的读法      第 05 课的 open_raw_stream + raw_batches (第 06、07 课的服务器就这样读)
  SDK 类型化      第 05 课的 stream_deltas: SDK 为每个 chunk 构造一个类型对象
  LangChain       ChatOpenAI(...).astream(): 每个 chunk 变成一个 AIMessageChunk
  LangChain 事件  create_agent(...).astream_events(version="v2"): 每个 chunk 还要变成一个事件字典

只访问 127.0.0.1, 自己结束。看同一次运行里的比值。

    python tools/langchain_cost.py
    python tools/langchain_cost.py --tokens 20000 --repeat 5
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from contextlib import AsyncExitStack

from openai import AsyncOpenAI, DefaultAioHttpClient
from procs import load_example, start
from rich.console import Console
from rich.table import Table

oa = load_example("05_openai_stream.py")
openai_sim = load_example("openai_sim.py")


async def raw(url: str, text: str) -> int:
    client = AsyncOpenAI(api_key="k", base_url=url, http_client=DefaultAioHttpClient())
    async with client, AsyncExitStack() as stack:
        response = await oa.open_raw_stream(stack, client, "m", [{"role": "user", "content": text}])
        return sum([sum(k == "content" for k, _ in b) async for b in oa.raw_batches(response)])


async def typed(url: str, text: str) -> int:
    async with AsyncOpenAI(api_key="k", base_url=url, http_client=DefaultAioHttpClient()) as client:
        stream = await oa.open_stream(client, "m", [{"role": "user", "content": text}])
        return sum([k == "content" async for k, _ in oa.stream_deltas(stream)])


async def langchain(url: str, text: str) -> int:
    from langchain_openai import ChatOpenAI

    model = ChatOpenAI(model="m", base_url=url, api_key="k", streaming=True)
    return sum([bool(chunk.content) async for chunk in model.astream(text)])


async def langchain_events(url: str, text: str) -> int:
    from langchain.agents import create_agent
    from langchain_openai import ChatOpenAI

    agent = create_agent(ChatOpenAI(model="m", base_url=url, api_key="k", streaming=True), tools=[])
    count = 0
    async for ev in agent.astream_events({"messages": [{"role": "user", "content": text}]}, version="v2"):  # fmt: skip
        count += ev["event"] == "on_chat_model_stream" and bool(ev["data"]["chunk"].content)
    return count


WAYS = {"原始的读法": raw, "SDK 类型化": typed, "LangChain astream": langchain, "LangChain astream_events": langchain_events}  # fmt: skip


async def cpu_per_token(read, url: str, text: str) -> float:
    begin = time.process_time()
    tokens = await read(url, text)
    return (time.process_time() - begin) / max(tokens, 1) * 1e6


async def measure(url: str, text: str, repeat: int) -> dict[str, list[float]]:
    """全部在同一个事件循环里: LangChain 的客户端会缓存下来, 跨事件循环就不能用了。"""
    for read in WAYS.values():  # 预热: 第一次要导入模块、建连接
        await cpu_per_token(read, url, "/echo 预热")
    runs: dict[str, list[float]] = {name: [] for name in WAYS}
    for _ in range(repeat):  # 每一轮四种读法各一次: 机器的状态对它们一样
        for name, read in WAYS.items():
            runs[name].append(await cpu_per_token(read, url, text))
    return runs


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="LangChain 每个 token 的 CPU, 和原始的读法比 (只用本机)"
    )
    parser.add_argument("--tokens", type=int, default=5000, help="回答大约多少个 token (默认 5000)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="重复几轮, 报告中位数 (默认 3)")
    args = parser.parse_args(argv)
    text = "/echo " + "流式" * (min(args.tokens, 50_000) * 5 // 8)
    tokens = len(openai_sim.tokenize(text[6:]))
    sim, url, _ = start("openai_sim.py", "--token-delay", "0")
    try:
        runs = asyncio.run(measure(f"{url}/v1", text, max(1, min(args.repeat, 20))))
    finally:
        sim.terminate()
        sim.wait(timeout=10)
    base = statistics.median(runs["原始的读法"])
    table = Table(title=f"读同一个回答 ({tokens} 个 token), 本进程每个 token 的 CPU, {args.repeat} 轮的中位数")  # fmt: skip
    for column in ("读法", "微秒/token", "× 原始的读法"):
        table.add_column(column, justify="left" if column == "读法" else "right")
    for name, values in runs.items():
        m = statistics.median(values)
        table.add_row(name, f"{m:.1f}", f"{m / base:.1f}")
    Console(highlight=False).print(table)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
