"""参考答案: 练习 05_tool_calls —— 按 index 拼接工具调用的碎片。先自己做, 再来对照。"""

from __future__ import annotations

from typing import Any


class ToolCalls:
    def __init__(self) -> None:
        self._calls: dict[int, dict[str, str]] = {}  # index -> 正在拼接的调用

    def add(self, fragments: list[dict[str, Any]] | None) -> None:
        for fragment in fragments or []:
            call = self._calls.setdefault(
                fragment["index"], {"id": "", "name": "", "arguments": ""}
            )
            call["id"] = call["id"] or fragment.get("id") or ""  # 重复的 id 不拼接
            function = fragment.get("function") or {}
            call["name"] += function.get("name") or ""
            call["arguments"] += function.get("arguments") or ""

    def result(self) -> list[dict[str, str]]:
        return [dict(self._calls[index]) for index in sorted(self._calls)]
