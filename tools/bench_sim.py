"""基准: 模拟服务器会不会成为瓶颈? openai SDK 每个 chunk 花多少? 新建客户端花多少?

模拟服务器在另一个进程里运行 (python examples/openai_sim.py), 不和测量代码抢 GIL。
只访问 127.0.0.1, 请求次数有上限, 跑完自己退出。结果以同一次运行里的比值为准, 绝对数字因机器而异。

    python tools/bench_sim.py              # 默认 20000 个 chunk
    python tools/bench_sim.py --tokens 5000
"""

from __future__ import annotations

import argparse
import asyncio
import time
from contextlib import AsyncExitStack

import httpx
from openai import AsyncOpenAI, DefaultAioHttpClient, OpenAI
from procs import cpu_seconds, load_example, start


def raw_chunks_per_second(url: str, prompt: str) -> tuple[float, int]:
    """不经过 SDK, 直接读 HTTP 响应、数 data: 行: 这是模拟服务器能发多快。"""
    body = {"model": "bench", "messages": [{"role": "user", "content": prompt}], "stream": True}
    start, count = time.perf_counter(), 0
    with httpx.stream(
        "POST", f"{url}/v1/chat/completions", json=body, headers={"Authorization": "Bearer b"}
    ) as response:
        for line in response.iter_lines():
            count += line.startswith("data: {")
    return count / (time.perf_counter() - start), count


def sdk_chunks_per_second(client: OpenAI, prompt: str) -> tuple[float, int]:
    """同一个流, 经过 openai SDK: 每个 chunk 都被解析成带类型的对象。"""
    start, count = time.perf_counter(), 0
    messages = [{"role": "user", "content": prompt}]
    with client.chat.completions.create(model="bench", messages=messages, stream=True) as stream:
        for _ in stream:
            count += 1
    return count / (time.perf_counter() - start), count


def client_creation_seconds(url: str, n: int = 20) -> float:
    start = time.perf_counter()
    for _ in range(n):
        OpenAI(api_key="b", base_url=f"{url}/v1").close()
    return (time.perf_counter() - start) / n


def sse_server_cpu_per_event(path: str, count: int = 1000) -> float:
    """第 04 课的服务器发 count 条事件 (不停顿), 服务器进程每条事件用多少 CPU (微秒)。"""
    proc, url, _ = start("04_sse_protocol.py", "--delay", "0")
    try:
        httpx.get(f"{url}{path}?count=10", timeout=30)  # 预热
        before = cpu_seconds(proc.pid)
        for _ in range(5):
            httpx.get(f"{url}{path}?count={count}", timeout=60)
        return (cpu_seconds(proc.pid) - before) / (5 * count) * 1e6
    finally:
        proc.terminate()
        proc.wait(timeout=10)


async def async_cpu_per_chunk(url: str, prompt: str) -> dict[str, float]:
    """第 05 课的两种异步读法, 各用两种 HTTP 客户端: 每个 chunk 花多少 CPU (微秒)。"""
    oa = load_example("05_openai_stream.py")
    messages = [{"role": "user", "content": prompt}]

    async def typed(client: AsyncOpenAI) -> int:
        stream = await oa.open_stream(client, "bench", messages)
        return sum([1 async for _ in oa.stream_deltas(stream)])

    async def raw(client: AsyncOpenAI) -> int:
        async with AsyncExitStack() as stack:
            response = await oa.open_raw_stream(stack, client, "bench", messages)
            return sum([len(batch) async for batch in oa.raw_batches(response)])

    results = {}
    for transport in ("httpx", "aiohttp"):
        http_client = DefaultAioHttpClient() if transport == "aiohttp" else None
        async with AsyncOpenAI(
            api_key="b", base_url=f"{url}/v1", http_client=http_client
        ) as client:
            for read in (typed, raw):
                await read(client)  # 预热
                start = time.process_time()
                count = await read(client)
                results[f"{read.__name__} + {transport}"] = (
                    (time.process_time() - start) / count * 1e6
                )
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="模拟服务器与 openai SDK 的吞吐量基准")
    parser.add_argument(
        "--tokens", type=int, default=20000, help="一条流有多少个 chunk (默认 20000)"
    )
    args = parser.parse_args(argv)
    prompt = "/echo " + "流式" * args.tokens  # 切片长度循环 2,1,3,…: 约 args.tokens 个 chunk
    proc, url, _ = start("openai_sim.py", "--token-delay", "0")
    try:
        raw_rate, raw_count = raw_chunks_per_second(url, prompt)
        with OpenAI(api_key="b", base_url=f"{url}/v1", max_retries=0) as client:
            sdk_chunks_per_second(client, "/echo 预热")
            sdk_rate, sdk_count = sdk_chunks_per_second(client, prompt)
        new_client = client_creation_seconds(url)
        per_chunk = asyncio.run(async_cpu_per_chunk(url, prompt))
        handwritten = sse_server_cpu_per_event("/events")
        with_fastapi_sse = sse_server_cpu_per_event("/fastapi/events")
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    print(f"一条流 {raw_count} 个 chunk, 模拟服务器不限速 (token-delay 0)")
    print(f"  直接读 HTTP:        {raw_rate:10,.0f} chunk/秒")
    print(f"  经过 openai SDK:    {sdk_rate:10,.0f} chunk/秒  ({1e6 / sdk_rate:.0f} 微秒/chunk)")
    print(f"  比值 直接读/SDK:    {raw_rate / sdk_rate:10.1f} ×  (>1: 瓶颈在 SDK, 不在模拟服务器)")
    print(
        f"  新建一个 OpenAI():  {new_client * 1000:10.1f} 毫秒 = {new_client * sdk_rate:,.0f} 个 chunk 的解析时间"
    )
    print("异步读法 (第 05 课 stream_deltas / raw_batches), 每个 chunk 的 CPU:")
    base = per_chunk["typed + httpx"]
    for name, micros in per_chunk.items():
        print(f"  {name:16} {micros:6.1f} 微秒  (类型对象+httpx 的 {micros / base:.2f} 倍)")
    print("第 04 课的服务器, 每条事件的服务器 CPU (含 HTTP 和保活包装):")
    print(f"  手写 StreamingResponse: {handwritten:6.1f} 微秒")
    print(
        f"  fastapi.sse:            {with_fastapi_sse:6.1f} 微秒  ({with_fastapi_sse / handwritten:.1f} 倍)"
    )
    if sdk_count != raw_count:
        raise RuntimeError(f"两次读到的 chunk 数不同: {raw_count} != {sdk_count}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
