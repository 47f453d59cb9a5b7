"""练习 04_resume (★★): 按 Last-Event-ID 续传, 认不出的 id 要求客户端从头来过

服务器记着最近发过的事件 (history, 编号连续、从小到大, 例如 101~200; 更早的已经丢掉了)。
浏览器断线重连时, 在 Last-Event-ID 请求头里告诉我们它收到的最后一条。

任务:
    resume(history, last_event_id) 是一个生成器, 交出这次连接应该发送的事件 (用下面给好的 encode_event)。

规则:
    - 没有 Last-Event-ID (None 或 ""): 新客户端, 发 history 里的全部事件
    - 一个我们认得的编号 n (从 history 第一条的前一条, 到最后一条): 发编号大于 n 的事件, 可能一条都没有
    - 其他所有情况 —— 编号太旧 (中间的事件已经丢了)、比最后一条还新、根本不是编号 ——
      先发一条 event: reset 的事件 (告诉客户端清空已显示的内容), 再发全部事件
    - "编号"只能是 ASCII 数字, 最多 18 位。小心: "١٥".isdigit() 是 True, int("١٥") == 15;
      int(" 15")、int("+15")、int("1_5") 也都能成功 —— 这些都不是我们发出去的 id
    - 每条普通事件都带上 id (它的编号), 浏览器才能再次续传; reset 事件不带 id

运行:
    python exercises/check.py 04_resume
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

LINE_BREAK = re.compile(r"\r\n|\r|\n")


def encode_event(data: str, *, event: str | None = None, id: str | None = None) -> bytes:
    """一条 SSE 事件 (已经写好, 直接用; 见练习 04_sse_encoder)。"""
    lines = [f"event: {event}"] if event is not None else []
    lines += [f"id: {id}"] if id is not None else []
    lines += [f"data: {line}" for line in LINE_BREAK.split(data)]
    return ("\n".join(lines) + "\n\n").encode("utf-8")


def resume(history: Sequence[tuple[int, str]], last_event_id: str | None) -> Iterator[bytes]:
    # TODO 1: 看懂 last_event_id: 没有? 认得的编号? 还是认不出?
    # TODO 2: 认不出就先交出 reset 事件; 然后交出该发的事件, 每条带上 id
    raise NotImplementedError("TODO: 实现 resume")
    yield  # 有了 yield, 这个函数才是生成器
