"""token 与 chunk: 同一个回答, 四种发给浏览器的方式, 第一个字什么时候出现、发了多少个事件、多少字节。

上游是模拟模型 (在本机的一个线程里, 真正的 HTTP), 每个 token 之间 --token-delay 秒 (默认 0.01: 每秒 100 个, 一个很快的模型)。
四种方式, 都是**一个** HTTP 响应里的很多个 SSE 事件 —— 不是"每个 token 一个网络请求":

  逐 token        每个 token 一个事件 (第 06 课的 --coalesce 0)
  时间窗口 0.1s   第 06 课的默认: 第一片立刻发出, 之后每 0.1 秒最多一批
  按句子          攒到句号、问号、换行才发 (给语音合成、给引用标注用), 最多攒 0.5 秒 (第 07 课的 by_sentence)
  按数量 (错的)   攒够 10 个 token 才发一次: 第一个字要等第 10 个 token

只访问 127.0.0.1, 自己结束。结果以同一次运行里的比较为准, 绝对数字因机器而异。

    python tools/token_vs_chunk.py
    python tools/token_vs_chunk.py --token-delay 0.005 --repeat 5
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

from openai import AsyncOpenAI
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
import lesson  # noqa: E402
import openai_sim  # noqa: E402

rag = lesson.load("07")
chat, oa, sse = rag.chat, rag.oa, rag.chat.sse
COUNT = 10  # "按数量" 攒几个 token
TEXT = (
    "流式输出的意义在于首字时间。" * 3 + "\n\n" + openai_sim.LONG_PARAGRAPH * 3
)  # 几句话, 长短不一


async def by_count(batches: AsyncIterator[list], count: int = COUNT) -> AsyncIterator[list]:
    """错误的做法: 攒够 count 个 token 才发一次。"""
    pending: list[str] = []
    async for batch in batches:
        for kind, value in batch:
            if kind == "content":
                pending.append(value)
                if len(pending) >= count:
                    yield [("content", "".join(pending))]
                    pending.clear()
    if pending:
        yield [("content", "".join(pending))]


def strategies() -> dict[str, tuple[float, object]]:
    """名字 → (合并窗口, 在窗口之前对上游的批次做什么)。"""
    return {
        "逐 token": (0.0, None),
        "时间窗口 0.1s": (chat.COALESCE, None),
        "按句子": (0.0, rag.by_sentence),
        f"按数量 ({COUNT} 个, 错的)": (0.0, by_count),
    }


async def one(client: AsyncOpenAI, window: float, shape) -> dict[str, float]:
    """走一遍第 06 课的管道 (中转 → 事件), 记下每个事件交出的时刻和字节数。"""
    start = time.perf_counter()
    first, events, size, text = None, 0, 0, []
    async with AsyncExitStack() as stack:
        messages = [{"role": "user", "content": f"/echo {TEXT}"}]
        response = await oa.open_raw_stream(stack, client, "sim", messages)
        batches = oa.raw_batches(response)
        if shape:
            batches = shape(batches)
        settings = chat.Settings(target=oa.Target(None, "k", "sim"), coalesce=window)
        relay = chat.Relay(batches, window, settings.max_pending, stack.aclose)
        async for records in chat.chat_records(relay, settings):
            if isinstance(records, bytes):
                continue
            for name, data in records:
                events += 1
                size += len(chat.event(name, data))
                if name == "delta":
                    first = first or time.perf_counter() - start
                    text.append(data["text"])
        await relay.aclose()
    complete = "".join(text) == TEXT  # 不管怎么切, 每一个字都要到
    return {"first_ms": (first or 0) * 1000, "events": events, "bytes": size,
            "total_ms": (time.perf_counter() - start) * 1000, "complete": complete}  # fmt: skip


async def measure(url: str, repeat: int) -> dict[str, list[dict[str, float]]]:
    results: dict[str, list[dict[str, float]]] = {name: [] for name in strategies()}
    async with AsyncOpenAI(api_key="k", base_url=f"{url}/v1") as client:
        for _ in range(repeat):  # 每一轮把四种方式各跑一遍: 机器的状态对它们一样
            for name, (window, shape) in strategies().items():
                results[name].append(await one(client, window, shape))
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="token 与 chunk: 四种发送方式的比较 (只用本机)")
    parser.add_argument("--token-delay", type=float, default=0.01, help="模拟模型每个 token 的秒数 (默认 0.01)")  # fmt: skip
    parser.add_argument("--repeat", type=int, default=3, help="重复几轮, 报告中位数 (默认 3)")
    args = parser.parse_args(argv)
    tokens = len(openai_sim.tokenize(TEXT))
    with openai_sim.running_in_thread(args.token_delay) as sim:
        results = asyncio.run(measure(sim.url, max(1, min(args.repeat, 20))))
    table = Table(title=f"同一个回答 ({tokens} 个 token, 每秒 {1 / args.token_delay:.0f} 个), {args.repeat} 轮的中位数")  # fmt: skip
    for column in ("发送方式", "第一个字 ms", "事件数", "字节数", "整个回答 ms", "HTTP 请求"):
        table.add_column(column, justify="left" if column == "发送方式" else "right")
    for name, runs in results.items():
        m = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
        table.add_row(name, f"{m['first_ms']:.0f}", f"{m['events']:.0f}", f"{m['bytes']:,.0f}", f"{m['total_ms']:.0f}", "1")  # fmt: skip
    Console(highlight=False).print(table)
    broken = [name for name, runs in results.items() if not all(r["complete"] for r in runs)]
    for name in broken:
        print(f"错误: {name} 没有把回答完整送到")
    return 1 if broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
