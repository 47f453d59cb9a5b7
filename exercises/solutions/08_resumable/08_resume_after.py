"""参考答案: 练习 08_resume_after —— 从 Last-Event-ID 算出从哪里接着读。先自己做, 再来对照。

和第 08 课的 resume_after 一样, 只是把"比 last 还大"也放进了同一个函数 (课上是在 stream_run 里判断的)。
"""

from __future__ import annotations

import re
from collections.abc import Sequence

# 日志里的一条: (位置, 事件名, JSON 文本)。位置从 1 开始, 就是 SSE 的 id
Entry = tuple[int, str, str]
POSITION = re.compile(r"[0-9]{1,9}")  # 只认我们自己发出去的样子; 不用 isdigit()/int() 判断


def resume_after(raw: str | None, last: int) -> int:
    if not raw or not POSITION.fullmatch(raw):
        return 0  # 没有, 或者看不懂: 从头读
    n = int(raw)
    return n if n <= last else 0  # 还不存在的位置: 也从头读 (宁可重复, 不可遗漏)


def to_send(entries: Sequence[Entry], finished: bool, raw: str | None) -> list[Entry] | None:
    after = resume_after(raw, len(entries))
    if finished and after == len(entries):
        return None  # 最后一条已经收到了: 204, EventSource 不再重连
    return list(entries[after:])  # 位置 = 下标 + 1, 所以位置 after 之后就是下标 after 起
