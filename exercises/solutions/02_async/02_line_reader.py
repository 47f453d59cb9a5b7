"""参考答案: 练习 02_line_reader —— 按行读连接, 取消时也要关闭连接。先自己做, 再来对照。"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol


class Connection(Protocol):
    async def recv(self) -> bytes: ...

    async def aclose(self) -> None: ...


async def read_lines(conn: Connection) -> AsyncIterator[str]:
    buffer = b""
    try:
        while data := await conn.recv():
            buffer += data
            # 按字节找换行, 整行凑齐了才解码: 切在汉字中间的字节留在 buffer 里等下一段。
            *lines, buffer = buffer.split(b"\n")
            for line in lines:
                yield line.removesuffix(b"\r").decode("utf-8", errors="replace")
        if buffer:
            yield buffer.removesuffix(b"\r").decode("utf-8", errors="replace")
    finally:
        # 读完、出错、aclose()、取消 (CancelledError 从 recv() 冒出来) 都经过这里;
        # 不捕获 CancelledError, 它就会继续往外传。
        await conn.aclose()
