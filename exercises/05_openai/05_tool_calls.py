r"""练习 05_tool_calls (★★): 按 index 拼接工具调用的碎片

流式时, 模型要求调用的工具也是一片一片到达的 (第 05 课 §6): 名字和 id 先到,
参数 (一段 JSON 文本) 被切成碎片陆续到达, 用 index 区分同时进行的几个调用。

任务:
    ToolCalls.add(fragments) 收下一个 chunk 里 delta["tool_calls"] 的全部片段 (可能是 None 或 []);
    ToolCalls.result() 返回拼好的调用: [{"id": ..., "name": ..., "arguments": ...}, ...], 按 index 从小到大。

做完的样子 (不同的服务商发法不同, 都要对):
    - 几个调用的片段可能交错到达 (index 0、1、0、1……), index 1 也可能比 index 0 先到;
    - 参数碎片按到达顺序拼起来, 拼完才是合法的 JSON (碎片可能切在一个汉字的 \u 转义中间);
    - 名字也可能被切成几片; 整个调用也可能一次到齐;
    - 有的服务商在每个片段里重复同一个 id: id 不能拼接, 只取第一个非空的;
    - 片段里的 id、type、function、name、arguments 都可能没有, 或者是 null。

运行:
    python exercises/check.py 05_tool_calls
"""

from __future__ import annotations

from typing import Any


class ToolCalls:
    def __init__(self) -> None:
        pass  # TODO: 按 index 存放正在拼接的调用

    def add(self, fragments: list[dict[str, Any]] | None) -> None:
        # TODO: 每个片段按它的 index 拼到对应的调用上
        raise NotImplementedError("TODO: 实现 ToolCalls.add")

    def result(self) -> list[dict[str, str]]:
        # TODO: 按 index 从小到大, 返回 {"id", "name", "arguments"}
        raise NotImplementedError("TODO: 实现 ToolCalls.result")
