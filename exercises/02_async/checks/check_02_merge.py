"""检查 02_merge: 内容完整、真的并发、先到先出、背压、出错与提前关闭时的清理。"""

from __future__ import annotations

import asyncio
from contextlib import aclosing

from checklib import (
    AsyncSource,
    cancel_and_wait,
    expect_equal,
    expect_no_leftover_tasks,
    fail,
    now,
    see,
)

SEE = see("02_async_generator", "6. 有界队列与背压")
CANCEL = see("02_async_generator", "4. 提前停止: aclose() 与取消")
TWO_STREAMS = see("02_async_generator", "2. 两条流同时跑: 实测")
DELAY = 0.03


async def check_everything_arrives(ex):
    """每一项都交出, 每条流内部的顺序不变, 所有流结束后才结束"""
    a = AsyncSource(["a1", "a2", "a3"], delay=0.005)
    b = AsyncSource(["b1", "b2"], delay=0.008)
    c = AsyncSource([])
    got = [item async for item in ex.merge(a.gen(), b.gen(), c.gen())]
    expect_equal(sorted(got), ["a1", "a2", "a3", "b1", "b2"], "收到的全部项 (排序后)")
    expect_equal([x for x in got if x[0] == "a"], ["a1", "a2", "a3"], "流 a 的项的顺序")
    expect_equal([x async for x in ex.merge()], [], "merge() 没有流时")


async def check_concurrent(ex):
    """两条流同时读: 总时间接近一条流的时间, 而不是两条之和"""
    a = AsyncSource(range(5), delay=DELAY)
    b = AsyncSource(range(5), delay=DELAY)
    start = now()
    got = [item async for item in ex.merge(a.gen(), b.gen())]
    ratio = (now() - start) / (5 * DELAY)
    expect_equal(len(got), 10, "收到的项数")
    if ratio > 1.6:
        fail(
            "总时间约等于一条流的时间 (比值 < 1.6)",
            f"是一条流的 {ratio:.1f} 倍: 两条流是一条接一条读的",
            TWO_STREAMS,
        )


async def check_first_come_first_served(ex):
    """先到先出: 不是轮流读"""
    a = AsyncSource(["a1", "a2", "a3"], delay=0.04)  # 0.04s、0.08s、0.12s 到达
    b = AsyncSource(["b1"], delay=0.3)  # 0.3s 到达
    got = [item async for item in ex.merge(a.gen(), b.gen())]
    expect_equal(
        got,
        ["a1", "a2", "a3", "b1"],
        "到达的顺序 (轮流读会让 a2 等着 b1)",
    )


async def check_backpressure(ex):
    """消费者慢时, 读的一方不会无限往前读 (有界队列)"""
    for maxsize in (1, 3):
        a = AsyncSource(range(10_000))  # 两条很快的流
        b = AsyncSource(range(10_000))
        taken = 0
        async with aclosing(ex.merge(a.gen(), b.gen(), maxsize=maxsize)) as merged:
            async for _ in merged:
                taken += 1
                await asyncio.sleep(0.01)  # 慢消费者
                if taken == 5:
                    break
        ahead = a.produced + b.produced - taken
        allowed = maxsize + 2  # 队列里的 + 每个读的任务手里拿着、等着放进去的 1 项
        if ahead > allowed:
            fail(
                f"maxsize={maxsize}, 两条流: 读了但还没交出的项最多 {allowed} 个",
                f"多读了 {ahead} 个: 队列是无界的? 还是忘了把 maxsize 传给 asyncio.Queue?",
            )


async def check_close_early_cleans_up(ex):
    """提前关闭 merge: 每条流的 finally 都已执行, 没有留下任务"""
    fast = AsyncSource(range(100))  # 读它的任务很快就停在"队列满了"上, 流暂停在 yield 处
    slow = AsyncSource(range(100), delay=0.01)
    silent = AsyncSource([], hang=True)  # 一条一直没有内容的流
    async with aclosing(ex.merge(fast.gen(), slow.gen(), silent.gen())) as merged:
        async for _ in merged:
            await asyncio.sleep(0.02)
            break
    closed = {"fast": fast.closed, "slow": slow.closed, "silent": silent.closed}
    if not all(closed.values()):
        fail(
            "aclose() 返回时, 每条流都已关闭",
            f"还开着的流: {[name for name, ok in closed.items() if not ok]}"
            " (取消读的任务; 任务停在 queue.put() 上时, 流暂停在 yield 处, 还要替它 aclose())",
            CANCEL,
        )
    await expect_no_leftover_tasks("aclose()", CANCEL)


async def check_error_propagates(ex):
    """某条流出错: 之前的项照常交出, 错误传给消费者, 其他流被取消"""
    bad = AsyncSource(["坏1"], delay=0.01, error=ValueError("上游坏了"))
    slow = AsyncSource([], hang=True)
    got = []
    try:
        async for item in ex.merge(bad.gen(), slow.gen()):
            got.append(item)
    except ValueError:
        expect_equal(got, ["坏1"], "出错之前收到的项")
        if not slow.closed:
            fail("出错之后, 其他流已被取消、关闭", "另一条流还在运行", CANCEL)
        await expect_no_leftover_tasks("出错", CANCEL)
        return
    fail("流抛出的 ValueError 传给消费者", f"没有异常, 收到 {got!r}")


async def check_cancel_cleans_up(ex):
    """消费者的任务被取消: 每条流都被关闭, 没有留下任务"""
    a = AsyncSource([], hang=True)
    b = AsyncSource([], hang=True)

    async def consume():
        async for _ in ex.merge(a.gen(), b.gen()):
            pass

    task = asyncio.create_task(consume())
    await asyncio.sleep(0.05)
    await cancel_and_wait(task)
    if not (a.closed and b.closed):
        fail("任务被取消后, 每条流都已关闭", f"流 a 关闭了吗: {a.closed}, 流 b: {b.closed}", CANCEL)
    await expect_no_leftover_tasks("取消", CANCEL)
