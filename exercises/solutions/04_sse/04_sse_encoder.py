"""参考答案: 练习 04_sse_encoder —— 任何文本都破坏不了分帧的 SSE 编码器。先自己做, 再来对照。"""

from __future__ import annotations

import re

LINE_BREAK = re.compile(r"\r\n|\r|\n")  # SSE 只认这三种; str.splitlines() 认的多得多


def encode_event(data: str, *, event: str | None = None, id: str | None = None) -> bytes:
    if event is not None and LINE_BREAK.search(event):
        raise ValueError("event 不能包含换行")
    if id is not None and (LINE_BREAK.search(id) or "\0" in id):
        raise ValueError("id 不能包含换行或 NUL")
    lines = []
    if event is not None:
        lines.append(f"event: {event}")
    if id is not None:
        lines.append(f"id: {id}")
    # 每个换行都开始一个新的 data: 行: 文本永远伪造不了字段, 也结束不了事件。
    lines += [f"data: {line}" for line in LINE_BREAK.split(data)]
    return ("\n".join(lines) + "\n\n").encode("utf-8")
