r"""练习 05_raw_stream (★★★): 从原始字节读 OpenAI 流 —— [DONE]、错误、关闭

不用 SDK 时 (第 06 课为了省 CPU 就这样做), 你拿到的是 HTTP 响应体的原始字节, 网络切在哪里都有可能:
一行 JSON 的中间、一个汉字的中间、\r 和 \n 之间。

任务:
    read_stream(source) 是一个异步生成器: source 一段一段地交出字节, 你交出每个 chunk 解析后的 dict。

规则:
    - 行以 \n 结尾, 行尾的 \r 去掉; 先按字节切出完整的行, 再按 UTF-8 解码
    - "data: {...}" 这一行是一个 chunk 的 JSON (冒号后面的空格可有可无)
    - "data: [DONE]" 表示流结束: 立刻结束, 不要再读 source (服务器可能还没关连接, 再读就会一直等下去)
    - 空行、注释 (":" 开头, 比如 ": keep-alive")、其他字段 (event:、id:、retry:) 都跳过
    - JSON 里有 "error" (服务商在流的中途报错): 抛 StreamError(错误信息)
    - 一行 data 不是合法的 JSON: 也抛 StreamError
    - 一个 chunk 的那一行一到齐就交出, 不等后面的字节
    - 无论怎样结束 —— [DONE]、source 读完、出错、消费者提前 aclose()、任务被取消 ——
      都 await source.aclose() (这就是关闭 HTTP 响应: 模型那边随之停止生成)

运行:
    python exercises/check.py 05_raw_stream
"""

from __future__ import annotations

import json  # noqa: F401 (你会用到它)
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any


class StreamError(Exception):
    """流里的错误: 服务商报错, 或者收到了无法解析的 chunk。"""


async def read_stream(source: AsyncGenerator[bytes, None]) -> AsyncIterator[dict[str, Any]]:
    # TODO 1: 把字节攒起来, 按 b"\n" 切出完整的行
    # TODO 2: 处理每一行: data 行解析 JSON 并交出; [DONE] 就结束; 其他的跳过; 错误抛 StreamError
    # TODO 3: 无论怎样结束, 都 await source.aclose()
    raise NotImplementedError("TODO: 实现 read_stream")
    yield  # 有了 yield, 这个函数才是异步生成器
