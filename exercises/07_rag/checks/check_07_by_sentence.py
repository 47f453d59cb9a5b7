"""检查 07_by_sentence: 句子一完就交出、顺序不乱、上游停下时最多攒 max_wait、出错与关闭。

计时只比较同一次运行里的比值 ("等了几个 max_wait"), 不写死绝对时间。
"""

from __future__ import annotations

import asyncio
from contextlib import aclosing
from typing import Any

from checklib import AsyncSource, expect_equal, expect_no_leftover_tasks, fail, now, see, show

SEE = see("07_rag_agent_stream", "6. token 与 chunk")
ORDER = see("07_rag_agent_stream", "1. 一条流, 好几种事件")
TIMER = see("06_complete_chat", "8. 按时间合并, 第一片立刻发出")
TIMEOUT = see("02_async_generator", "5. asyncio.timeout: 给整条流设期限")
CANCEL = see("02_async_generator", "4. 提前停止: aclose() 与取消")
WAIT = 0.15  # max_wait (秒)
LONG = 10.0  # 用不到期限的用例: max_wait 长到不会触发
STEP = 0.03  # 这些用例里上游每片之间的间隔 (秒): 看你是不是等到下一片来了才交出


class Script:
    """按剧本交出的上游: [(这一项之前停几秒, 项), ...]; 记录每一项到达的时刻、取了几项、是否被关闭或取消。"""

    def __init__(self, steps: list[tuple[float, Any]], error: BaseException | None = None):
        self.steps, self.error = steps, error
        self.times: list[float] = []
        self.closed = self.cancelled = False

    @property
    def produced(self) -> int:
        return len(self.times)

    async def gen(self):
        try:
            for pause, item in self.steps:
                await asyncio.sleep(pause)
                self.times.append(now())
                yield item
            if self.error is not None:
                raise self.error
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        finally:
            self.closed = True


def words(pieces: list[str], pause: float = 0.0) -> Script:
    return Script([(pause, ("content", p)) for p in pieces])


async def collect(ex, source: Script, max_wait: float) -> list[tuple[Any, float, int]]:
    """读完 by_sentence 的输出: [(项, 交出的时刻, 那时上游已经交出了几项)]。"""
    got = []
    async for item in ex.by_sentence(source.gen(), max_wait):
        if not (isinstance(item, tuple) and len(item) == 2):
            fail("交出的每一项是 (种类, 值)", f"交出了 {show(item)}")
        if item[0] == "content" and not (isinstance(item[1], str) and item[1]):
            fail("不交出空字符串 (文字的值是非空的 str)", f"交出了 {show(item)}")
        got.append((item, now(), source.produced))
    return got


def text_of(got: list[tuple[Any, float, int]]) -> str:
    return "".join(item[1] for item, _, _ in got if item[0] == "content")


def expect_text(got, source: Script, expected: str) -> None:
    text = text_of(got)
    if text == expected:
        return
    why = ""
    if source.cancelled:
        why = (
            ": 上游被取消了 —— 超时取消了正在等的那次读取 (asyncio.wait_for、asyncio.timeout 都会这样),"
            " 上游的生成器随之结束, 后面的文字都丢了。超时只该是'不再等', 读取要接着挂着"
        )
    fail(f"拼起来的文字是 {expected!r}", f"{text!r}{why}", TIMEOUT if why else None)


async def check_cuts_at_sentence_ends(ex):
    """句子的结尾一到, 到结尾为止的文字就交出; 没有结尾不切开"""
    pieces = ["你", "好。", "今天", "天气不错！然", "后呢?", "\n", "没说完"]
    source = words(pieces, pause=STEP)
    got = await collect(ex, source, LONG)
    text = "".join(pieces)
    expect_text(got, source, text)
    ends, position = {}, 0  # 句子结尾的位置 -> 它在第几片里到达 (从 0 数)
    for k, piece in enumerate(pieces):
        for i, char in enumerate(piece):
            if char in "。！？!?\n":
                ends[position + i + 1] = k
        position += len(piece)
    boundaries, position = [], 0  # 每次交出之后, 一共交出了几个字; 交出的时刻
    for item, at, _ in got:
        position += len(item[1])
        boundaries.append((position, at, item[1]))
    for end, _, chunk in boundaries[:-1]:
        if end not in ends:
            fail(
                "只在句子的结尾处切开 (上游没有停顿, 期限也远远没到)",
                f"交出了 {chunk!r}: 它不以句子结尾结束。文字要攒到 。！？!? 或换行",
            )
    for end, k in ends.items():
        at = next(at for position, at, _ in boundaries if position >= end)
        if k + 1 < len(pieces) and at >= source.times[k + 1]:
            fail(
                "句子的结尾一到, 就交出到结尾为止的文字 (不等下一片)",
                f"{text[:end][-8:]!r} 的结尾在第 {k + 1} 片里就到了, 你等第 {k + 2} 片也到了才交出它",
            )
    if not source.closed:
        fail("读完之后上游已经关闭", "上游的 finally 没有执行", CANCEL)


async def check_tail_and_empty(ex):
    """上游结束: 交出剩下的文字; 空字符串不交出"""
    source = words(["", "没有句号的", "", "回答"])
    got = await collect(ex, source, LONG)
    expect_equal([item for item, _, _ in got], [("content", "没有句号的回答")], "交出的项")


async def check_other_kinds_in_order(ex):
    """不是文字的一项立刻交出, 而且先交出攒着的文字 (顺序不变)"""
    items = [
        ("reasoning", "让我想想"),
        ("content", "我来算一下"),
        ("event", ("tool_start", {"id": "call_1", "name": "calculator"})),
        ("content", "结果是 84"),
        ("finish", "stop"),
        ("usage", {"completion_tokens": 9}),
    ]
    source = Script([(STEP, item) for item in items])
    got = await collect(ex, source, LONG)
    produced = [item for item, _, _ in got]
    if produced != items:
        fail(
            f"交出的项依次是 {show(items, 500)}",
            f"{show(produced, 500)}: 攒着的文字被后面不是文字的一项越过了? 页面会先看到工具卡片 (或 done),"
            " 再看到它前面的那句话",
            ORDER,
        )
    for k, (item, at, _) in enumerate(got):
        if item[0] != "content" and k + 1 < len(items) and at >= source.times[k + 1]:
            fail(
                "不是文字的一项一到就交出 (连同它前面攒着的文字)",
                f"{show(item)} 是第 {k + 1} 项, 你等第 {k + 2} 项也到了才交出它",
            )


async def check_flushes_when_upstream_pauses(ex):
    """模型说到一半停下来: 攒着的文字大约 max_wait 后交出, 不等下一片"""
    source = Script(
        [
            (0.0, ("content", "这是一句")),
            (0.0, ("content", "很长的话")),
            (WAIT * 4, ("content", ", 说完了。")),  # 模型停下来想了 4 个 max_wait
        ]
    )
    got = await collect(ex, source, WAIT)
    expect_text(got, source, "这是一句很长的话, 说完了。")
    first_item, first_at, _ = got[0]
    waited = (first_at - source.times[0]) / WAIT
    if first_at >= source.times[-1] or waited > 1.8:
        fail(
            "没说完的文字最多攒大约 max_wait (1.8 个 max_wait 以内) 就交出, 即使上游还没有来下一片",
            f"'这是一句很长的话' 等了 {waited:.1f} 个 max_wait, 和下一片一起才交出:"
            " 只在下一片到来时才看时间是不够的, 按片数攒也不行;"
            " 等下一项的时候就要带上期限",
            TIMER,
        )
    if waited < 0.5:
        fail(
            "没说完的文字攒到期限再交出 (至少半个 max_wait)",
            f"{first_item[1]!r} 只等了 {waited:.2f} 个 max_wait 就交出了",
        )


async def check_long_sentence_by_time(ex):
    """一句很长的话: 按时间 (不是按片数) 分段交出, 每个字最多等大约 max_wait"""
    chars = "一句很长很长的话先慢慢地说然后越说越快好像永远也说不完似的"
    steps = [(WAIT * 0.8, ("content", c)) for c in chars[:4]]
    steps += [(WAIT / 12, ("content", c)) for c in chars[4:]]
    source = Script(steps)
    got = await collect(ex, source, WAIT)
    expect_text(got, source, chars)
    sent_at = [at for item, at, _ in got for _ in item[1]]
    waits = [(sent - arrived) / WAIT for sent, arrived in zip(sent_at, source.times, strict=True)]
    worst = max(range(len(waits)), key=waits.__getitem__)
    if waits[worst] > 1.8:
        speed = "慢的时候" if worst < 4 else "快的时候"
        fail(
            "每个字最多等大约 max_wait (1.8 个 max_wait 以内)",
            f"第 {worst + 1} 个字 ({speed}到达的) 等了 {waits[worst]:.1f} 个 max_wait:"
            " 按片数攒批, 上游慢的时候就会拖; 期限要按时间算",
            TIMER,
        )
    if len(got) > 9:
        fail(
            f"真的攒: 这句话 ({len(chars)} 片, 用了约 {(source.times[-1] - source.times[0]) / WAIT:.1f} 个 max_wait)"
            " 分成不超过 9 段交出",
            f"交出了 {len(got)} 段: 期限是不是太短了? 每段要攒满 max_wait",
        )


async def check_error_after_flush(ex):
    """上游出错: 先交出攒着的文字, 再抛出错误"""
    source = Script([(0.0, ("content", "说到一半"))], error=ConnectionError("上游断了"))
    got = []
    try:
        async for item in ex.by_sentence(source.gen(), LONG):
            got.append(item)
    except ConnectionError:
        if got != [("content", "说到一半")]:
            fail(
                "上游出错时, 先交出攒着的 '说到一半', 再抛出错误",
                f"出错之前交出的是 {show(got)}: 已经生成的文字不能丢, 页面可以显示'已生成的部分'",
            )
        await expect_no_leftover_tasks("上游出错")
        return
    fail("上游的 ConnectionError 传给消费者", f"没有异常, 交出了 {show(got)}")


async def check_close_stops_upstream(ex):
    """消费者提前关闭 (aclose): 上游被关闭, 没有留下任务"""
    source = AsyncSource([("content", "第一句。"), ("content", "第二句。")], delay=0.01)
    async with aclosing(ex.by_sentence(source.gen(), LONG)) as stream:
        async for _ in stream:
            break
    if not source.closed:
        fail(
            "aclose() 之后, 上游已经关闭",
            "上游还开着: finally 里要取消还挂着的那次读取 (如果有), 再 aclose() 上游",
            CANCEL,
        )
    await expect_no_leftover_tasks("aclose()", CANCEL)


async def check_cancel_while_waiting(ex):
    """等着下一片时任务被取消: 上游被关闭, 不留下任务, CancelledError 继续往外传"""
    source = AsyncSource([("content", "第一句。"), ("content", "第二句说到")], hang=True)
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in ex.by_sentence(source.gen(), LONG):
            first.set()

    task = asyncio.create_task(consume())
    try:
        await asyncio.wait_for(first.wait(), 1)
    except asyncio.TimeoutError:
        task.cancel()
        fail('"第一句。" 一到就交出', "1 秒内什么都没有交出")
    await asyncio.sleep(0.05)  # 现在它在等上游的下一片 (上游"卡住"了)
    task.cancel()
    done, _ = await asyncio.wait({task}, timeout=1)
    if not done:
        fail(
            "任务被取消后很快结束",
            "1 秒后还没有结束: 是不是把 CancelledError 吞掉了, 又接着等?",
            CANCEL,
        )
    if not task.cancelled():
        fail("by_sentence 被取消时, CancelledError 继续往外传", "CancelledError 被吞掉了", CANCEL)
    if not source.closed:
        fail("被取消之后, 上游已经关闭", "上游还开着: 正在等的那次读取没有被取消", CANCEL)
    await expect_no_leftover_tasks("任务被取消", CANCEL)
