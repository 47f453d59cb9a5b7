"""练习 08_resume_after (★): 从 Last-Event-ID 算出从哪里接着读 —— 宁可重复, 不可遗漏

第 08 课的约定: 一个事件的 SSE id 就是它在日志里的位置 (1, 2, 3, ……)。浏览器收到 id 15, 断开,
带着 Last-Event-ID: 15 回来, 就从位置 16 接着读 —— 不管这次落在哪个 worker 上。
可是请求头是客户端写的, 里面可能是任何东西。

任务:
    resume_after(raw, last) 返回从日志的哪个位置之后读 (0 = 从头读)。
        raw 是 Last-Event-ID 请求头 (可能是 None), last 是日志现在最后一条的位置 (0 = 还没有事件)。
    to_send(entries, finished, raw) 返回这次连接先要发的事件: entries 里位置在 resume_after 之后的那些;
        返回 None 表示回 204 No Content。entries 是整个日志, 第 i 条 (从 0 数) 的位置是 i + 1。

规则:
    - 没有 Last-Event-ID (None 或 ""): 从头读;
    - 一个我们发出去过的位置 n (只由 ASCII 数字 0-9 组成, 而且 0 <= n <= last): 从 n 之后读;
    - 其他一切 —— 乱码、负数、"+3"、" 3"、全角的 "３"、"²"、"٣"、含 NUL、五千位的数字,
      以及比 last 还大的位置 (比如同一个幂等键在 TTL 过后又建了一个新 run, 日志从 1 重新编号) ——
      一律从头读。重复几条, 页面会把回答整段重画一遍; 漏掉几条, 页面上就永远缺一段话, 而且谁也不知道;
    - run 已经结束 (finished), 而客户端已经收到了最后一条: 返回 None (回 204, 让 EventSource 不再重连);
      还没结束, 而客户端已经是最新的: 返回 [] (读者接着等新事件);
    - 不许抛异常: 一个坏的请求头不能变成 500。

做完的样子:
    >>> log = [(1, "delta", "你"), (2, "delta", "好"), (3, "done", "{}")]
    >>> to_send(log, True, "1")
    [(2, 'delta', '好'), (3, 'done', '{}')]
    >>> to_send(log, True, "3") is None
    True
    >>> to_send(log, True, "٣")    # 阿拉伯-印度数字的 3: 不是我们发出去的 id, 从头读
    [(1, 'delta', '你'), (2, 'delta', '好'), (3, 'done', '{}')]

运行:
    python exercises/check.py 08_resume_after
"""

from __future__ import annotations

from collections.abc import Sequence

# 日志里的一条: (位置, 事件名, JSON 文本)。位置从 1 开始, 就是 SSE 的 id
Entry = tuple[int, str, str]


def resume_after(raw: str | None, last: int) -> int:
    # TODO 1: 没有 raw -> 0
    # TODO 2: 只认 ASCII 数字, 而且不比 last 大; 其他一律 0。小心: "²".isdigit() 是 True, int("²") 却会出错
    raise NotImplementedError("TODO: 实现 resume_after")


def to_send(entries: Sequence[Entry], finished: bool, raw: str | None) -> list[Entry] | None:
    # TODO 3: 用 resume_after 算出位置; 已经结束、客户端又已经收到最后一条 -> None (204)
    # TODO 4: 否则返回位置在它之后的事件 (位置 = 下标 + 1)
    raise NotImplementedError("TODO: 实现 to_send")
