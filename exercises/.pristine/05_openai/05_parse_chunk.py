"""练习 05_parse_chunk (★): 拆开原始 chunk —— 不怕空 choices 的用量 chunk

不用 SDK、直接读 HTTP 响应时 (第 06 课就这样做), 每行 data: 解析出来的是一个 dict。

任务:
    parse_chunk(data) 把一个 chunk 拆成 [(种类, 值), ...]:
        ("usage", 用量 dict)            —— 如果有用量 (放在最前面)
        然后对每个 choice, 按顺序:
        ("reasoning", 文本)             —— delta.reasoning_content, 非空才算
        ("content", 文本)               —— delta.content, 非空才算
        ("tool_call", 片段 dict)         —— delta.tool_calls 里的每一个
        ("finish", 原因)                —— finish_reason, 非空才算
    chunk 里有 "error" 时 (服务商在流的中途报错), 抛 StreamError(错误信息)。

做完的样子 (真实的服务商都这样发过):
    - 用量 chunk 的 choices 是空列表 [] —— 不能写 choices[0];
    - 普通 chunk 里 "usage": null; 有的服务商干脆没有 "choices" 这个键, 或者它是 null;
    - 第一个 chunk 只有 role, content 是 ""; delta 可能是 {} 或 null; content、tool_calls 可能是 null;
    - error 可能是 {"message": "..."}, 也可能直接是一个字符串。

运行:
    python exercises/check.py 05_parse_chunk
"""

from __future__ import annotations

from typing import Any


class StreamError(Exception):
    """服务商在流的中途报告了错误。"""


def parse_chunk(data: dict[str, Any]) -> list[tuple[str, Any]]:
    # TODO 1: 有 "error" 就抛 StreamError
    # TODO 2: 用量放在最前面; 然后逐个 choice 取出 reasoning、content、tool_call、finish
    raise NotImplementedError("TODO: 实现 parse_chunk")
