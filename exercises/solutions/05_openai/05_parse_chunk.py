"""参考答案: 练习 05_parse_chunk —— 拆开原始 chunk。先自己做, 再来对照。"""

from __future__ import annotations

from typing import Any


class StreamError(Exception):
    """服务商在流的中途报告了错误。"""


def parse_chunk(data: dict[str, Any]) -> list[tuple[str, Any]]:
    if "error" in data:
        error = data["error"]
        raise StreamError(
            error.get("message", str(error)) if isinstance(error, dict) else str(error)
        )
    parts: list[tuple[str, Any]] = [("usage", data["usage"])] if data.get("usage") else []
    for choice in data.get("choices") or []:  # [] 和 null 都当成没有: 不能写 choices[0]
        delta = choice.get("delta") or {}
        if delta.get("reasoning_content"):
            parts.append(("reasoning", delta["reasoning_content"]))
        if delta.get("content"):
            parts.append(("content", delta["content"]))
        for call in delta.get("tool_calls") or []:
            parts.append(("tool_call", call))
        if choice.get("finish_reason"):
            parts.append(("finish", choice["finish_reason"]))
    return parts
