r"""练习 03_request_head (★★): 读请求头 —— 没读到空行就断开是坏请求

第 03 课的 read_request 有一个漏洞: 连接在请求头中途断开时, readline() 返回 b"",
而 b"".strip() == b"" —— 它把"断开"当成了"空行", 半截请求被当成了完整的请求。

任务:
    await read_request_head(reader) 从 asyncio.StreamReader 读请求行和请求头, 读到空行为止, 返回 Request;
    不合格就抛 BadRequest(状态码, 说明)。

规则:
    - 请求行: 方法 (大写字母) + 一个空格 + 路径 (以 / 开头, 没有空白) + 一个空格 + HTTP/1.0 或 HTTP/1.1
    - 请求头: "名字: 值"。名字转成小写, 名字和冒号之间不能有空白; 值去掉两边的空格和制表符;
      同名的头用 ", " 合并; 以空格或制表符开头的行 (旧式折行) 不接受
    - 行以 \r\n 结尾, 只有 \n 也接受; 字节按 latin-1 解码 (任何字节都能解码, 不会抛异常)
    - 什么都没收到连接就关了: 返回 None (这很正常, 比如浏览器的预连接)
    - 收到了一些, 但在空行之前断开: 400
    - 请求行或请求头格式错误: 400; 请求头超过 max_headers 行, 或者一行太长 (reader 抛 ValueError): 431
    - 不能多读: 空行之后的字节 (请求体) 要留在 reader 里

运行:
    python exercises/check.py 03_request_head
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field


@dataclass
class Request:
    method: str
    target: str
    version: str
    headers: dict[str, str] = field(default_factory=dict)


class BadRequest(Exception):
    """请求不合格: status 是要回给客户端的状态码。"""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


async def read_request_head(reader: asyncio.StreamReader, max_headers: int = 100) -> Request | None:
    # TODO 1: 一行一行地读 (reader.readline()); 读到的一行不以 b"\n" 结尾, 说明连接断了
    # TODO 2: 解析请求行和每一个请求头, 不合格就 raise BadRequest(400 或 431, "说明")
    # TODO 3: 读到空行就返回 Request
    raise NotImplementedError("TODO: 实现 read_request_head")
