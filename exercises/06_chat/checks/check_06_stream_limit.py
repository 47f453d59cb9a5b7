"""检查 06_stream_limit: 满了立刻拒绝; 读完、出错、aclose、取消、没开始就关闭都归还; 只归还一次。"""

from __future__ import annotations

import asyncio
import inspect

from checklib import AsyncSource, cancel_and_wait, expect_equal, fail, see

SEE = see("06_complete_chat", "7. 并发限制: 名额要留到流结束")
CANCEL = see("02_async_generator", "4. 提前停止: aclose() 与取消")


def open_stream(ex, limit, source: AsyncSource):
    stream = ex.open_limited(limit, source.gen())
    if inspect.iscoroutine(stream):
        stream.close()
        fail(
            "open_limited 是普通函数 (def), 调用时就决定给不给名额",
            "它返回了一个协程: 在 handler 里, 拿名额这件事要等到有人 await 它才发生",
        )
    return stream


async def check_busy_when_full(ex):
    """名额满了: 调用的那一刻抛 Busy, 不碰上游"""
    limit = ex.StreamLimit(2)
    streams = [open_stream(ex, limit, AsyncSource(["a"])) for _ in range(2)]
    third = AsyncSource(["c"])
    try:
        open_stream(ex, limit, third)
    except ex.Busy:
        pass
    else:
        fail("第 3 条流 (名额为 2) 抛 Busy", "拿到了一条流")
    expect_equal(limit.active, 2, "拒绝之后的 active")
    for stream in streams:
        await stream.aclose()


async def check_released_when_read_to_end(ex):
    """读完: 名额归还, 新的流能进来"""
    limit = ex.StreamLimit(1)
    got = [piece async for piece in open_stream(ex, limit, AsyncSource(["流", "式"]))]
    expect_equal(got, ["流", "式"], "读到的片")
    expect_equal(limit.active, 0, "读完之后的 active")
    again = open_stream(ex, limit, AsyncSource(["x"]))
    await again.aclose()


async def check_not_released_early(ex):
    """流还在读的时候, 名额一直占着"""
    limit = ex.StreamLimit(1)
    stream = open_stream(ex, limit, AsyncSource(["a", "b"]))
    expect_equal(limit.active, 1, "还没开始读时的 active")
    await anext(stream)
    expect_equal(limit.active, 1, "读了一片之后的 active")
    await stream.aclose()


async def check_released_on_error(ex):
    """上游出错: 错误原样传出, 名额归还"""
    limit = ex.StreamLimit(1)
    stream = open_stream(ex, limit, AsyncSource(["a"], error=RuntimeError("模型出错")))
    try:
        async for _ in stream:
            pass
    except RuntimeError:
        expect_equal(limit.active, 0, "出错之后的 active")
        return
    fail("上游的 RuntimeError 传给读的人", "没有异常")


async def check_released_on_aclose(ex):
    """读了一片就 aclose(): 名额归还, 上游关闭"""
    limit = ex.StreamLimit(1)
    source = AsyncSource(["a", "b", "c"])
    stream = open_stream(ex, limit, source)
    await anext(stream)
    await stream.aclose()
    expect_equal(limit.active, 0, "aclose() 之后的 active")
    if not source.closed:
        fail("aclose() 之后, 上游已经关闭", "上游还暂停在 yield 处", CANCEL)


async def check_released_when_never_started(ex):
    """从没开始读就 aclose(): 也归还名额"""
    limit = ex.StreamLimit(1)
    stream = open_stream(ex, limit, AsyncSource(["a"]))
    await stream.aclose()
    if limit.active != 0:
        fail(
            "没开始读就 aclose() 之后, active 是 0",
            f"active 是 {limit.active}: 异步生成器在第一次 anext() 之前被关闭, 函数体 (和 finally) 根本不执行",
        )


async def check_released_on_cancel(ex):
    """读它的任务被取消: 名额归还"""
    limit = ex.StreamLimit(1)
    stream = open_stream(ex, limit, AsyncSource(["a"], hang=True))

    async def reader():
        async for _ in stream:
            pass

    task = asyncio.create_task(reader())
    await asyncio.sleep(0.05)
    await cancel_and_wait(task)
    expect_equal(limit.active, 0, "任务被取消之后的 active")


async def check_released_once(ex):
    """只归还一次: aclose() 两次、读完再 aclose(), active 不会变成负数"""
    limit = ex.StreamLimit(2)
    a = open_stream(ex, limit, AsyncSource(["a"]))
    await a.aclose()
    await a.aclose()
    b = open_stream(ex, limit, AsyncSource(["b"]))
    async for _ in b:
        pass
    await b.aclose()
    expect_equal(limit.active, 0, "两条流都结束、多次 aclose() 之后的 active")
