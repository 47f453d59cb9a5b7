"""参考答案: 练习 03_request_head —— 读请求头, 没读到空行就断开是坏请求。先自己做, 再来对照。"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field

REQUEST_LINE = re.compile(r"(?P<method>[A-Z]+) (?P<target>/\S*) (?P<version>HTTP/1\.[01])")
# 名字是 HTTP 的 token (没有空白), 紧跟冒号: "Host : x" 和以空格开头的折行都匹配不上。
HEADER = re.compile(r"(?P<name>[!#$%&'*+\-.^_`|~0-9A-Za-z]+):(?P<value>.*)")


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


async def read_raw_line(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.readline()
    except ValueError as exc:  # 一行超过了 reader 的 limit
        raise BadRequest(431, "请求头的一行太长") from exc


def decode_line(raw: bytes) -> str:
    r"""去掉行尾。readline() 在连接断开时返回不以 \n 结尾的半行 (或 b""): 那不是空行。"""
    if not raw.endswith(b"\n"):
        raise BadRequest(400, "请求头还没发完, 连接就断开了")
    return raw.decode("latin-1").removesuffix("\n").removesuffix("\r")


async def read_request_head(reader: asyncio.StreamReader, max_headers: int = 100) -> Request | None:
    raw = await read_raw_line(reader)
    if raw == b"":
        return None  # 什么都没收到连接就关了: 不是错误
    line = decode_line(raw)
    if not (m := REQUEST_LINE.fullmatch(line)):
        raise BadRequest(400, f"请求行格式错误: {line[:80]!r}")
    request = Request(m["method"], m["target"], m["version"])
    for _ in range(max_headers + 1):  # 最多 max_headers 行请求头, 再加结尾的空行
        line = decode_line(await read_raw_line(reader))
        if line == "":
            return request  # 空行之后的字节 (请求体) 留在 reader 里
        if not (h := HEADER.fullmatch(line)):
            raise BadRequest(400, f"请求头格式错误: {line[:80]!r}")
        name, value = h["name"].lower(), h["value"].strip(" \t")
        old = request.headers.get(name)
        request.headers[name] = value if old is None else f"{old}, {value}"
    raise BadRequest(431, f"请求头超过 {max_headers} 行")
