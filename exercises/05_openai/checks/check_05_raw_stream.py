"""检查 05_raw_stream: 任意切开的字节、[DONE] 之后不再读、错误、凑齐就交出、各种结束方式都关闭上游。"""

from __future__ import annotations

import asyncio
import json
from contextlib import aclosing

from checklib import AsyncSource, cancel_and_wait, expect_equal, fail, see, splits

SEE = see("05_openai_stream", "1. 线上的字节")
CLOSE = see("05_openai_stream", "3. 同步的读法, 以及一定要关闭流")
CHUNKS = [
    {"choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}}], "usage": None},
    {"choices": [{"index": 0, "delta": {"content": "你好🚀"}}], "usage": None},
    {"choices": [{"index": 0, "delta": {"content": "\n第二行"}}], "usage": None},
    {"choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}},
]


def wire(chunks, *, done: bool = True) -> bytes:
    """像真实服务商那样: 每个 chunk 一行 data, 空行分隔; 夹着注释和 \\r\\n。"""
    lines = [": keep-alive", "retry: 1000", ""]
    for i, data in enumerate(chunks):
        space = " " if i % 2 == 0 else ""  # 冒号后面的空格可有可无
        lines += [f"data:{space}{json.dumps(data, ensure_ascii=False)}", ""]
    lines += ["data: [DONE]", ""] if done else []
    return "\r\n".join(lines).encode() + b"\r\n"


async def collect(ex, source: AsyncSource):
    got = []
    async for data in ex.read_stream(source.gen()):
        got.append(data)
    return got


async def check_any_split(ex):
    """不管字节怎么切, 读到的 chunk 都一样; 读完之后关闭上游"""
    for how, pieces in splits(wire(CHUNKS)):
        source = AsyncSource(pieces)
        got = await collect(ex, source)
        expect_equal(got, CHUNKS, f"{how}时读到的 chunk")
        if not source.closed:
            fail("读到 [DONE] 之后, 上游已经关闭", "上游没有关闭", CLOSE)


async def check_done_stops_reading(ex):
    """读到 [DONE] 立刻结束: 不再等上游的下一段字节"""
    source = AsyncSource([wire(CHUNKS[:2])], hang=True)  # [DONE] 之后, 服务器还没关连接
    try:
        got = await asyncio.wait_for(collect(ex, source), 1.0)
    except asyncio.TimeoutError:
        fail("读到 [DONE] 就结束", "1 秒后还在等上游: [DONE] 之后不要再读 source")
    expect_equal(got, CHUNKS[:2], "读到的 chunk")
    if not source.closed:
        fail("结束之后, 上游已经关闭", "上游没有关闭", CLOSE)


async def check_yields_when_line_complete(ex):
    """一个 chunk 的那一行到齐就交出, 不等后面的字节"""
    first_line = wire(CHUNKS[:1], done=False)
    source = AsyncSource([first_line], hang=True)
    async with aclosing(ex.read_stream(source.gen())) as stream:
        try:
            first = await asyncio.wait_for(anext(stream), 1.0)
        except asyncio.TimeoutError:
            fail("第一行到齐就交出第一个 chunk", "1 秒后还没有交出: 是不是在等整个流读完?")
    expect_equal(first, CHUNKS[0], "第一个 chunk")
    if not source.closed:
        fail("aclose() 之后, 上游已经关闭", "上游没有关闭", CLOSE)


async def check_error_chunk(ex):
    """流中途的错误: 之前的 chunk 照常交出, 然后抛 StreamError; 上游关闭"""
    error = 'data: {"error": {"message": "模型过载"}}\n\n'.encode()
    source = AsyncSource([wire(CHUNKS[:2], done=False) + error], hang=True)
    got = []
    try:
        async for data in ex.read_stream(source.gen()):
            got.append(data)
    except ex.StreamError as exc:
        expect_equal(got, CHUNKS[:2], "出错之前读到的 chunk")
        if "模型过载" not in str(exc):
            fail("StreamError 里带着服务商的说明 '模型过载'", repr(str(exc)))
        if not source.closed:
            fail("出错之后, 上游已经关闭", "上游没有关闭", CLOSE)
        return
    fail("error chunk 变成 StreamError", f"没有抛出, 读到 {len(got)} 个 chunk")


async def check_bad_json(ex):
    """不是 JSON 的 data 行: StreamError"""
    source = AsyncSource([b"data: {not json\n\n"])
    try:
        await collect(ex, source)
    except ex.StreamError:
        return
    fail("data: {not json 变成 StreamError", "没有抛出 StreamError")


async def check_cancel_closes_source(ex):
    """读的任务被取消: 上游关闭, 取消继续往外传"""
    source = AsyncSource([wire(CHUNKS[:1], done=False)], hang=True)
    first_line = asyncio.Event()

    async def reader():
        async for _ in ex.read_stream(source.gen()):
            first_line.set()

    task = asyncio.create_task(reader())
    await first_line.wait()
    await cancel_and_wait(task)
    if not source.closed:
        fail("任务被取消后, 上游已经关闭", "上游没有关闭", CLOSE)
    if not task.cancelled():
        fail("任务以 CancelledError 结束", "CancelledError 被吞掉了")
