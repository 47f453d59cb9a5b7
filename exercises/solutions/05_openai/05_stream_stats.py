"""参考答案: 练习 05_stream_stats —— 首字时间、用量与生成速度。先自己做, 再来对照。"""

from __future__ import annotations

from typing import Any


class StreamStats:
    def __init__(self, start: float) -> None:
        self.start = start
        self.chunks = 0
        self.first_token: float | None = None
        self.ttft: float | None = None
        self.total: float | None = None
        self.finish_reason: str | None = None
        self.usage: dict[str, int] | None = None

    def add(self, chunk: dict[str, Any], now: float) -> None:
        self.chunks += 1
        t = now - self.start
        if chunk.get("usage"):  # "usage": null 不覆盖已经拿到的用量
            self.usage = chunk["usage"]
        for choice in chunk.get("choices") or []:  # 用量 chunk 的 choices 是空的
            delta = choice.get("delta") or {}
            # 空字符串不算: 第一个 chunk 的 content 是 ""
            if self.first_token is None and (
                delta.get("reasoning_content") or delta.get("content")
            ):
                self.first_token = t
            if self.ttft is None and delta.get("content"):
                self.ttft = t
            if choice.get("finish_reason"):
                self.finish_reason = choice["finish_reason"]

    def finish(self, now: float) -> None:
        self.total = now - self.start

    @property
    def tokens_per_second(self) -> float | None:
        if self.usage is None or self.first_token is None or self.total is None:
            return None
        seconds = self.total - self.first_token  # 从第一个 token 到结束: 不含排队和读输入的时间
        return self.usage["completion_tokens"] / seconds if seconds > 0 else None

    @property
    def truncated(self) -> bool:
        return self.total is not None and self.finish_reason is None
