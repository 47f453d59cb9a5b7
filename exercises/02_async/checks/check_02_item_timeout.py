"""检查 02_item_timeout: 快的流不超时、卡住的流按期超时、上游总是被关闭。计时只比较同一次运行里的比值。"""

from __future__ import annotations

import asyncio
from contextlib import aclosing

from checklib import AsyncSource, expect_equal, fail, now, see

SEE = see("02_async_generator", "5. asyncio.timeout: 给整条流设期限")
CLOSE = see("02_async_generator", "4. 提前停止: aclose() 与取消")
LIMIT = 0.15  # 每片的期限 (秒)


async def collect(ex, source: AsyncSource) -> tuple[list[str], BaseException | None, float]:
    """读完这条流; 返回 (收到的片, 结束时的异常, 最后一片之后又等了多久)。"""
    got: list[str] = []
    last = now()
    try:
        async for item in ex.with_item_timeout(source.gen(), LIMIT):
            got.append(item)
            last = now()
    except (TimeoutError, asyncio.TimeoutError) as exc:
        return got, exc, now() - last
    return got, None, now() - last


async def check_fast_stream_passes(ex):
    """每片都按时到达: 总时长超过期限也不超时"""
    source = AsyncSource(list("流式输出真好"), delay=LIMIT / 5)
    got, error, _ = await collect(ex, source)
    if error is not None:
        waited = source.times[-1] - source.times[0] if source.times else 0
        fail(
            f"每片间隔 {LIMIT / 5:.2f}s、期限 {LIMIT}s: 不超时",
            f"收到 {got!r} 后超时了 (总共才过了 {waited:.2f}s): 期限是每一片的, 不是整条流的",
        )
    expect_equal(got, list("流式输出真好"), "收到的片")
    if not source.closed:
        fail("读完之后上游已经关闭", "上游的 finally 没有执行", CLOSE)


async def check_stalled_stream_times_out(ex):
    """上游卡住: 大约 seconds 秒后抛 TimeoutError, 之前的片都已交出"""
    source = AsyncSource(["a", "b"], delay=0.01, hang=True)
    got, error, waited = await collect(ex, source)
    if error is None:
        fail("上游卡住时抛 TimeoutError", f"没有异常, 流正常结束了, 收到 {got!r}")
    expect_equal(got, ["a", "b"], "超时之前收到的片")
    if not 0.7 <= waited / LIMIT <= 4:
        fail(
            f"在最后一片之后约 {LIMIT}s 超时 (比值 0.7~4 倍)",
            f"等了 {waited:.2f}s, 是期限的 {waited / LIMIT:.1f} 倍",
        )


async def check_first_item_has_a_deadline_too(ex):
    """第一片也有期限"""
    source = AsyncSource([], hang=True)
    got, error, _ = await collect(ex, source)
    if error is None:
        fail("第一片迟迟不来时抛 TimeoutError", f"没有异常, 收到 {got!r}")


async def check_upstream_closed_after_timeout(ex):
    """超时之后, 上游已经关闭 (它的 finally 已执行)"""
    source = AsyncSource(["a"], hang=True)
    await collect(ex, source)
    if not source.closed:
        fail("TimeoutError 传到消费者时, 上游已经关闭", "上游还在等待, 它占着的连接没有释放", CLOSE)


async def check_upstream_closed_on_early_stop(ex):
    """消费者读到一片就停下 (aclose): 上游也被关闭"""
    source = AsyncSource(list("abc"), delay=0.01)
    async with aclosing(ex.with_item_timeout(source.gen(), LIMIT)) as stream:
        async for _ in stream:
            break
    if not source.closed:
        fail("aclose() 你的生成器之后, 上游也已经关闭", "上游还暂停在 yield 处", CLOSE)
