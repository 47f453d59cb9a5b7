r"""练习 06_chat_events (★): 把增量变成命名的 SSE 事件 —— 文本放在 JSON 里

聊天应用发给浏览器的是命名的事件 (第 06 课 §3): 页面按名字分别处理推理、回答、出错和结束。
模型输出的文本什么都可能有 (换行、\r、"data: [DONE]"), 放进 JSON 以后, 整条 data 只有一行, 一字不差。

任务:
    chat_events(deltas) 是一个异步生成器。deltas 交出 (种类, 值), 和第 05 课的 parse_chunk 一样;
    它可能在中途抛出 UpstreamError (模型出错了)。你交出 SSE 事件的字节:

        ("reasoning", 文本)  ->  event: reasoning   data: {"text": 文本}
        ("content", 文本)    ->  event: delta       data: {"text": 文本}
        ("finish", 原因)     ->  记下来
        ("usage", 用量)      ->  记下来
        其他种类              ->  忽略
        结束时                ->  event: done        data: {"finish_reason": 原因, "tokens": 用量里的 completion_tokens 或 null}

做完的样子:
    - 每一片一到就交出它的事件, 不攒;
    - 上游抛 UpstreamError: 已经交出的事件不变, 再交出 event: error, data: {"message": 说明}, 然后正常结束 ——
      响应头早就发出去了, 改不了状态码, 只能发一个 error 事件 (不要让异常继续往外抛);
    - 流结束了却没有 finish: 也交出一个 error 事件 (回答可能不完整), 而不是 done。

运行:
    python exercises/check.py 06_chat_events
"""

from __future__ import annotations

import json  # noqa: F401 (你会用到它)
from collections.abc import AsyncIterator
from typing import Any


class UpstreamError(Exception):
    """模型在生成途中出错。"""


async def chat_events(deltas: AsyncIterator[tuple[str, Any]]) -> AsyncIterator[bytes]:
    # TODO 1: 写一个小函数: 事件名 + dict -> b"event: 名字\ndata: JSON\n\n"
    # TODO 2: 逐个处理 deltas; 捕获 UpstreamError
    # TODO 3: 最后交出 done, 或者 (没有 finish 时) error
    raise NotImplementedError("TODO: 实现 chat_events")
    yield  # 有了 yield, 这个函数才是异步生成器
