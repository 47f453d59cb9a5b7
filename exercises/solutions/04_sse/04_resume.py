"""参考答案: 练习 04_resume —— 按 Last-Event-ID 续传。先自己做, 再来对照。"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

LINE_BREAK = re.compile(r"\r\n|\r|\n")
EVENT_ID = re.compile(r"[0-9]{1,18}")  # 只认我们自己发出去的样子; 不用 isdigit()/int() 判断


def encode_event(data: str, *, event: str | None = None, id: str | None = None) -> bytes:
    """一条 SSE 事件 (已经写好, 直接用; 见练习 04_sse_encoder)。"""
    lines = [f"event: {event}"] if event is not None else []
    lines += [f"id: {id}"] if id is not None else []
    lines += [f"data: {line}" for line in LINE_BREAK.split(data)]
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def resume(history: Sequence[tuple[int, str]], last_event_id: str | None) -> Iterator[bytes]:
    start = 0  # 从 history 的第几条开始发
    if last_event_id:
        first = history[0][0] if history else 0
        last = history[-1][0] if history else 0
        n = int(last_event_id) if EVENT_ID.fullmatch(last_event_id) else None
        if n is not None and first - 1 <= n <= last:
            start = n - first + 1  # 编号连续: 第 n 条之后就是下标 n - first + 1
        else:
            yield encode_event("从头开始", event="reset")  # 缺了一段, 或者根本不是我们的 id
    for number, text in history[start:]:
        yield encode_event(text, id=str(number))
