"""检查 06_coalesce: 内容完整、第一片立刻、真的合并、不拖、出错与提前关闭。

每片都是一个不同的字符, 所以能从输出里认出每一片是什么时候被交出的。计时只比较同一次运行里的比值。
"""

from __future__ import annotations

import asyncio
import string
from contextlib import aclosing

from checklib import AsyncSource, expect_equal, expect_no_leftover_tasks, fail, now, see

SEE = see("06_complete_chat", "8. 按时间合并, 第一片立刻发出")
MISTAKES = see("01_generator_basics", "常见误区")
WINDOW = 0.2
LETTERS = string.ascii_letters


async def timed(ex, source: AsyncSource, window: float = WINDOW) -> tuple[list[str], list[float]]:
    """读完 coalesce 的输出, 记下每次交出的时刻。"""
    outputs, times = [], []
    async for text in ex.coalesce(source.gen(), window):
        outputs.append(text)
        times.append(now())
    return outputs, times


def delays(source: AsyncSource, outputs: list[str], times: list[float]) -> list[float]:
    """每一片从到达到被交出, 等了多久 (以 window 为单位)。"""
    sent_at = [t for text, t in zip(outputs, times, strict=True) for _ in text]
    return [(sent - arrived) / WINDOW for sent, arrived in zip(sent_at, source.times, strict=True)]


async def check_everything_arrives(ex):
    """所有片都交出, 顺序不变, 一个不多一个不少"""
    source = AsyncSource(list(LETTERS[:30]))
    outputs, _ = await timed(ex, source, window=0.02)
    expect_equal("".join(outputs), LETTERS[:30], "拼起来的输出")
    if "" in outputs:
        fail("不交出空字符串", f"输出里有空字符串: {outputs!r}")


async def check_first_piece_at_once(ex):
    """第一片立刻交出 (不是攒够一批再发)"""
    source = AsyncSource(list(LETTERS[:12]), delay=WINDOW / 10)
    outputs, times = await timed(ex, source)
    expect_equal("".join(outputs), LETTERS[:12], "拼起来的输出")
    waited = delays(source, outputs, times)[0]
    if waited > 0.5:
        fail(
            "第一片到达后立刻交出 (小于 0.5 个窗口)",
            f"等了 {waited:.1f} 个窗口: 按数量攒批, 首字时间会乘以批的大小",
            MISTAKES,
        )


async def check_merges(ex):
    """快的上游: 片被合并, 事件数大约是 时长/窗口"""
    source = AsyncSource(list(LETTERS[:40]), delay=WINDOW / 20)  # 2 个窗口内到达 40 片
    outputs, _ = await timed(ex, source)
    if len(outputs) > 6:
        fail(
            "2 个窗口内到达的 40 片, 合并成不超过 6 次输出",
            f"输出了 {len(outputs)} 次: {outputs!r}",
        )


async def check_no_piece_waits_too_long(ex):
    """上游安静下来时, 攒着的片也在大约一个窗口内交出"""
    burst = AsyncSource(list(LETTERS[:10]), delay=WINDOW / 10)

    async def burst_then_quiet():
        async for piece in burst.gen():
            yield piece
        await asyncio.sleep(WINDOW * 4)  # 模型在想下一句
        burst.times.append(now())
        yield "!"

    outputs, times = [], []
    async for text in ex.coalesce(burst_then_quiet(), WINDOW):
        outputs.append(text)
        times.append(now())
    waited = delays(burst, outputs, times)
    expect_equal("".join(outputs), LETTERS[:10] + "!", "拼起来的输出")
    if max(waited[:-1]) > 2.5:
        fail(
            "每一片最多等大约一个窗口 (小于 2.5 个窗口)",
            f"有一片等了 {max(waited[:-1]):.1f} 个窗口: 上游安静时, 攒着的片要到下一片来了才交出",
        )
    if waited[-1] > 0.5:
        fail("安静一阵之后新来的一片立刻交出", f"它等了 {waited[-1]:.1f} 个窗口")


async def check_error_after_flush(ex):
    """上游出错: 先交出攒着的, 再抛出错误"""
    source = AsyncSource(["a", "b"], error=ConnectionError("上游断了"))
    outputs = []
    try:
        async for text in ex.coalesce(source.gen(), WINDOW):
            outputs.append(text)
    except ConnectionError:
        expect_equal("".join(outputs), "ab", "出错之前交出的文本")
        await expect_no_leftover_tasks("出错")
        return
    fail("上游的 ConnectionError 传给消费者", f"没有异常, 输出 {outputs!r}")


async def check_close_stops_upstream(ex):
    """消费者提前关闭: 上游被关闭, 没有留下任务"""
    source = AsyncSource(LETTERS * 100, delay=0.005)
    async with aclosing(ex.coalesce(source.gen(), 0.02)) as stream:
        async for _ in stream:
            break
    if not source.closed:
        fail("aclose() 之后, 上游已经关闭", "上游还在被读")
    await expect_no_leftover_tasks("aclose()")
