r"""练习 07_agent_loop (★★★): 智能体的循环 —— 工具卡片、错误交回模型、步数上限、停下时一起停

智能体 = 一个循环: 问模型 → 模型要调用工具就执行, 把结果放回对话 → 再问模型, 直到它给出回答 (第 07 课 §4)。
用户要看见每一步: 每次工具调用是一对事件 —— tool_start 让页面出现一张"运行中"的卡片, tool_end 把它变成"完成"或"失败"。

任务:
    agent_loop(model, tools, messages, max_steps) 是一个异步生成器。
        model(messages)  -> 一轮模型的输出, 一个异步生成器, 交出 (种类, 值):
            ("content", 文本)、("reasoning", 文本)、("finish", 原因),
            ("tool_call", 碎片)  碎片和 OpenAI 的一样, 按 index 拼起来 (add_fragment 已经写好):
                                {"index": 0, "id": "call_1", "function": {"name": "calc", "arguments": "{\"ex"}}
        tools: 工具名 -> async 函数; 参数是 JSON 对象里的键; 工具失败时抛异常
        messages: 对话 (OpenAI 格式的消息列表); 不要改调用者的这个列表
    你交出:
        ("content", 文本) / ("reasoning", 文本)     原样, 一到就交出
        ("tool_start", {"id", "name", "args"})       一轮结束、参数齐了之后, 运行这个工具之前;
                                                     args 是解析好的 JSON, 解析不了就是原来的字符串
        ("tool_end", {"id", "result", "error"})      工具结束: 成功 result=str(返回值), error=None; 失败反过来
        ("finish", 原因)                             只交出最后一轮的; 中间那几轮的 "tool_calls" 不交出

    一轮的 finish 是 "tool_calls" 时, 下一轮的 messages 是: 之前的消息, 加上
        {"role": "assistant", "content": None, "tool_calls": [{"id", "type": "function", "function": {"name", "arguments"}}, ...]}
        每个调用一条 {"role": "tool", "tool_call_id": id, "content": 结果, 失败时是 TOOL_FAILED + 错误说明}

做完的样子:
    - 工具失败 (抛异常、不认识的工具名、参数不是合法 JSON): tool_end 里是 error, 再交回模型, 循环接着走;
    - 调用了 max_steps 轮模型, 最后一轮还是要调用工具: 抛 TooManySteps, 消息里说明走了几轮; 不再问模型;
    - 停下时模型和工具一起停:
        工具运行时任务被取消 (用户按了停止): 工具被取消 (它的 finally 执行), CancelledError 继续往外传,
        不再问模型; 消费者在回答中途 aclose(): 这一轮模型的流也立刻关闭 (它的 finally 执行);
        无论哪种, 都不留下任务。

运行:
    python exercises/check.py 07_agent_loop
"""

from __future__ import annotations

import asyncio  # noqa: F401 (你会用到它)
import json  # noqa: F401 (你会用到它)
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import aclosing  # noqa: F401 (你会用到它)
from typing import Any

TOOL_FAILED = "错误: "  # 工具失败时, 交给模型的结果以它开头

Model = Callable[[list[dict[str, Any]]], AsyncIterator[tuple[str, Any]]]
Tools = dict[str, Callable[..., Awaitable[Any]]]


class TooManySteps(Exception):
    """走了 max_steps 轮还没有回答: 消息给用户看。"""


def add_fragment(calls: dict[int, dict[str, str]], fragment: dict[str, Any]) -> None:
    """已经写好 (第 05 课的练习 05_tool_calls): 把一个碎片按 index 拼进 calls。"""
    call = calls.setdefault(fragment["index"], {"id": "", "name": "", "arguments": ""})
    call["id"] = call["id"] or fragment.get("id") or ""
    function = fragment.get("function") or {}
    call["name"] += function.get("name") or ""
    call["arguments"] += function.get("arguments") or ""


async def agent_loop(
    model: Model, tools: Tools, messages: list[dict[str, Any]], max_steps: int
) -> AsyncIterator[tuple[str, Any]]:
    # TODO 1: 最多 max_steps 轮: 读这一轮模型的流 (用 aclosing, 提前关闭时它也被关闭),
    #         文字和思考原样交出, tool_call 碎片拼起来, 记下 finish
    # TODO 2: finish 不是 "tool_calls": 交出 finish (如果有), 结束
    # TODO 3: 把 assistant 的 tool_calls 消息放进对话; 每个调用: tool_start → 运行 → tool_end → tool 消息
    #         (运行工具: 出错是结果, 但 CancelledError 要继续往外传)
    # TODO 4: 走完 max_steps 轮还没有回答: raise TooManySteps(...)
    raise NotImplementedError("TODO: 实现 agent_loop")
    yield  # 有了 yield, 这个函数才是异步生成器
