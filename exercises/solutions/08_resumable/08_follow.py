"""参考答案: 练习 08_follow —— 跟着一个 run 的日志读。先自己做, 再来对照。

关键只有一条: 每次醒来 (或者从 yield 回来), 都从 after 之后重新看一遍日志, 而 after 只跟着"已经交出的最后一条"走。
不记"上次看到日志有多长", 也不假设"一次追加只有一条", 就不会漏, 也不会重复。
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
    while True:
        if after < len(log.entries):
            entry = log.entries[after]  # 位置 after + 1: 每次只取一条, 取之前总是重新看日志
            yield entry  # 停在这里的时候, 日志可能又长了好几条
            after = entry[0]
            if entry[1] in TERMINAL:
                return
            continue
        if log.finished:
            return  # 最后一条早就交出过了 (或者 after 就是最后一条)
        # 看日志和开始等之间没有 await: 这中间不会有追加溜过去
        try:
            await asyncio.wait_for(log.changed.wait(), keepalive)
        except asyncio.TimeoutError:  # Python 3.10 里它还不是内置的 TimeoutError
            yield None  # 保活; 被取消时 wait_for 会把等待一起取消, 什么都不留下
