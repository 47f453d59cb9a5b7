"""练习 08_follow (★★): 跟着一个 run 的日志读 —— 先读存着的, 再等新的, 不重复、不遗漏

第 08 课里, 读者和生成是分开的: 生成者在后台往日志里追加, 读者从日志读, 从 Last-Event-ID 之后开始,
读完已经存着的就等新的, 直到最后一条 (done 或 error)。读者来来去去, 生成照样进行。

RunLog 是内存里的日志 (已经写好, 和第 08 课的 MemoryStore 一样): 生成者每个时间窗口 append 一批事件,
然后 set 当前的 log.changed, 再换上一个新的 asyncio.Event —— 所以等着 log.changed 的读者会被叫醒。

任务:
    follow(log, after, keepalive) 是一个异步生成器, 按顺序交出日志里位置大于 after 的每一条 (位置, 事件名, 数据):
    - 先交出已经存着的, 再等新追加的; 交出 done 或 error 之后就结束;
    - 日志已经结束、after 又已经是最后一条: 什么都不交出, 立刻结束 (不要等);
    - 连续 keepalive 秒没有新事件: 交出 None (调用者会发一条保活注释, 第 04 课), 然后接着等。

做完的样子:
    - 每一条恰好交出一次。小心: 你交出一条之后, 就停在 yield 处, 直到消费者来取下一条 (它可能正在慢慢地发给浏览器);
      这段时间里生成者可能又追加了好几批, 一批也可能有好几条 —— 一条都不能漏, 也不能重复;
    - 新的一条追加之后, 立刻交出 (不要等到下一次保活才发现它);
    - 读者走了 —— 消费者 aclose() 你的生成器, 或者读它的任务被取消 (比如正在等新事件时) ——
      之后没有留下任何还在等日志的东西 (任务、log.changed.wait()); 取消要继续往外传, 不能吞掉。
      (在 Redis 里, 每个等着的读者占一个连接: 每漏掉一个, 连接池就少一个。)

运行:
    python exercises/check.py 08_follow
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

Entry = tuple[int, str, str]  # (位置, 事件名, JSON 文本)。位置从 1 开始, 就是 SSE 的 id
TERMINAL = ("done", "error")  # 一个 run 的最后一条一定是其中之一


class RunLog:
    """一个 run 的日志 (已经写好, 直接用)。只能在末尾追加; 第 i 条 (从 0 数) 的位置是 i + 1。"""

    def __init__(self) -> None:
        self.entries: list[Entry] = []
        self.finished = False  # 最后一条 (done / error) 已经写下了
        self.changed = asyncio.Event()  # 有新事件时 set, 然后换一个新的

    def append(self, records: list[tuple[str, str]]) -> int:
        """追加一批 [(事件名, 数据), ...], 返回最后一条的位置。"""
        if self.finished:
            raise RuntimeError("这个 run 已经结束了, 不能再追加")
        start = len(self.entries)
        self.entries += [(start + i + 1, name, data) for i, (name, data) in enumerate(records)]
        self.finished = bool(records) and records[-1][0] in TERMINAL
        self.changed.set()  # 叫醒等着的读者
        self.changed = asyncio.Event()
        return len(self.entries)


async def follow(log: RunLog, after: int, keepalive: float) -> AsyncIterator[Entry | None]:
    # TODO 1: 交出 log.entries 里位置大于 after 的每一条; 每交出一条, after 就前进到它的位置
    # TODO 2: 交出 done / error 之后 return; 日志已经结束而且没有新的了: 也 return
    # TODO 3: 没有新的: 等 log.changed, 最多 keepalive 秒; 等不到就 yield None, 然后再看一遍日志
    raise NotImplementedError("TODO: 实现 follow")
    yield  # 有了 yield, 这个函数才是异步生成器
