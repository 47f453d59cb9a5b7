"""练习 07_run_tool (★★): 运行一次工具调用 —— 出错是结果, 取消要传出去

智能体的工具参数是模型写的, 什么都可能有: 坏 JSON、参数名写错、不存在的工具。工具自己也会出错、会卡住。
这些都不能让整个请求崩掉: 它们是一个"结果", 告诉用户, 也告诉模型, 让它换个做法 (第 07 课 §4)。
可是用户按了"停止"不是工具出错: 那时工具要被取消, 取消还要继续往外传。

任务:
    await run_tool(tools, name, arguments, timeout) 运行模型要求的一次工具调用, 返回 Outcome:
        tools:     工具名 -> 函数 (普通函数, 或者 async 函数)
        name:      模型要调用的工具名
        arguments: 模型给的参数, 一段 JSON 文本, 应当是一个对象: 它的键就是函数的参数名
        timeout:   async 工具最多运行几秒
    成功: Outcome(result=str(返回值)); 失败: Outcome(error=一句说明)。两种情况都填上 duration_ms (用了几毫秒)。

做完的样子:
    - 不认识的工具名 (说明里带上这个名字)、坏 JSON、JSON 不是对象 (比如 "[1, 2]"、"null")、参数名不对:
      都是 error, 不抛异常; 空字符串当作 {} (不需要参数的工具, 模型常常给 "");
    - 工具自己抛的任何异常 (ToolError, 也包括 KeyError 这样的 bug): 都是 error;
    - ToolError、ValueError、TypeError 说的是哪里不对, 消息原样放进 error (模型要靠它改正);
      其余的异常是意外: 原文可能带着内部地址 ("连不上 http://10.0.0.7:9200"), 而 error 会显示在浏览器里,
      所以 error 只说类名 (比如 "工具内部出错 (RuntimeError)"), 原文用 logging 记进日志;
    - error 是给人看的一句话, 不能是空字符串 (ValueError()、TimeoutError() 的 str() 都是空的);
    - async 工具超过 timeout 秒: 取消它 (它的 finally 执行), 返回 error, 说明里有"超时"两个字;
    - run_tool 自己被取消 (用户按了停止): 正在运行的工具也被取消, CancelledError 继续往外传 —— 它不是工具出错。

运行:
    python exercises/check.py 07_run_tool
"""

from __future__ import annotations

import asyncio  # noqa: F401 (你会用到它)
import inspect  # noqa: F401 (你会用到它: inspect.isawaitable)
import json  # noqa: F401 (你会用到它)
import logging
import time  # noqa: F401 (你会用到它)
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

log = logging.getLogger("tools")  # 意外异常的原文记在这里


class ToolError(Exception):
    """工具失败了 (比如除数是 0): 消息原样交给模型和页面。"""


@dataclass
class Outcome:
    result: str | None = None
    error: str | None = None
    duration_ms: int = 0


async def run_tool(
    tools: dict[str, Callable[..., Any]], name: str, arguments: str, timeout: float
) -> Outcome:
    # TODO 1: 找到工具; 解析参数 (空字符串当作 {}), 确认它是一个 dict
    # TODO 2: 调用它; 返回值可以 await 的话, 最多等 timeout 秒
    # TODO 3: 出错变成 Outcome(error=...): 捕获哪些异常? 哪一个绝不能捕获?
    # TODO 4: 计时, 填上 duration_ms
    raise NotImplementedError("TODO: 实现 run_tool")
