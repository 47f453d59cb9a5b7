"""参考答案: 练习 06_chat_events —— 把增量变成命名的 SSE 事件。先自己做, 再来对照。"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

EVENT_NAMES = {"reasoning": "reasoning", "content": "delta"}


class UpstreamError(Exception):
    """模型在生成途中出错。"""


def event(name: str, payload: dict[str, Any]) -> bytes:
    # JSON 把换行写成 \n 两个字符: 整条 data 只有一行, 任何文本都破坏不了分帧。
    return f"event: {name}\ndata: {json.dumps(payload, ensure_ascii=False)}\n\n".encode()


async def chat_events(deltas: AsyncIterator[tuple[str, Any]]) -> AsyncIterator[bytes]:
    finish = usage = None
    try:
        async for kind, value in deltas:
            if kind in EVENT_NAMES:
                yield event(EVENT_NAMES[kind], {"text": value})
            elif kind == "finish":
                finish = value
            elif kind == "usage":
                usage = value
    except UpstreamError as exc:  # 响应头早已发出: 只能发一个 error 事件
        yield event("error", {"message": f"模型在生成途中出错: {exc}"})
        return
    if finish is None:
        yield event("error", {"message": "模型的流意外结束 (没有 finish_reason), 回答可能不完整"})
        return
    tokens = usage.get("completion_tokens") if usage else None
    yield event("done", {"finish_reason": finish, "tokens": tokens})
