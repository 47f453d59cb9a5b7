"""练习 05_stream_stats (★★): 首字时间、用量与生成速度

用户关心的是"多久看到第一个字" (TTFT), 运维关心每秒多少 token。两者都要从原始 chunk 里算,
而 chunk 里有很多"看起来像内容, 其实不是"的东西。

任务:
    StreamStats(start) 记下请求发出的时刻; add(chunk, now) 收下一个原始 chunk (dict) 和它到达的时刻;
    finish(now) 在流结束时调用。之后这些属性给出结果 (时间都是从 start 算起的秒数):

        chunks            收到了几个 chunk (所有的都算)
        first_token       第一个非空的 reasoning_content 或 content 到达的时间; 没有就是 None
        ttft              第一个非空的 content 到达的时间 (首字时间); 没有就是 None
        total             finish 的时刻 - start
        finish_reason     最后的 finish_reason; 没有就是 None
        usage             用量 dict; 没有就是 None
        tokens_per_second usage["completion_tokens"] / (total - first_token); 算不出来就是 None (不能抛异常)
        truncated         流结束了却没有 finish_reason: 回答可能不完整

做完的样子:
    - 第一个 chunk 只有 role、content 是 "", 它不是首字; 推理模型先输出 reasoning, 再输出 content;
    - 用量 chunk 的 choices 是空的; 其他 chunk 里 "usage": null 不能覆盖掉已经拿到的用量。

运行:
    python exercises/check.py 05_stream_stats
"""

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
        # TODO: 数 chunk; 记下第一个 reasoning/content 和第一个 content 的时间; finish_reason; usage
        raise NotImplementedError("TODO: 实现 StreamStats.add")

    def finish(self, now: float) -> None:
        # TODO: 记下 total
        raise NotImplementedError("TODO: 实现 StreamStats.finish")

    @property
    def tokens_per_second(self) -> float | None:
        # TODO: completion_tokens / (total - first_token); 缺任何一项, 或者分母不是正数, 返回 None
        raise NotImplementedError("TODO: 实现 tokens_per_second")

    @property
    def truncated(self) -> bool:
        # TODO: 流结束了 (finish 调用过), 却没有 finish_reason
        raise NotImplementedError("TODO: 实现 truncated")
