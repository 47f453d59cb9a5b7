r"""练习 02_line_reader (★★): 按行读连接 —— 取消时也要关闭连接

conn 是一条连接: await conn.recv() 返回网络刚送到的一段字节 (切在哪里都有可能, 包括一个汉字的中间),
返回 b"" 表示对方关闭了连接; await conn.aclose() 关闭它。

任务:
    read_lines(conn) 是一个异步生成器, 交出一行一行的文本 (UTF-8, 不带行尾的 \n 或 \r\n)。

做完的样子:
    - 一行一凑齐就交出, 不等下一段字节;
    - 连接关闭时, 最后不带换行的半行 (如果不是空的) 也交出;
    - 无论怎样结束 —— 读完、recv() 出错、消费者提前 aclose()、读的任务被取消 ——
      都 await conn.aclose(), 而且只关闭一次;
    - 取消要继续往外传: 不能吞掉 CancelledError。

运行:
    python exercises/check.py 02_line_reader
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Protocol


class Connection(Protocol):
    async def recv(self) -> bytes: ...  # 一段字节; b"" 表示对方关闭了连接

    async def aclose(self) -> None: ...


async def read_lines(conn: Connection) -> AsyncIterator[str]:
    # TODO 1: 把收到的字节攒起来, 每凑齐一行 (以 b"\n" 结尾) 就解码并交出; 行尾的 \r 去掉
    # TODO 2: 连接关闭 (recv 返回 b"") 时, 交出剩下的半行 (如果有)
    # TODO 3: 无论怎样结束, 都 await conn.aclose()
    raise NotImplementedError("TODO: 实现 read_lines")
    yield  # 有了 yield, 这个函数才是异步生成器
