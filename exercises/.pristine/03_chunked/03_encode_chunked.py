r"""练习 03_encode_chunked (★): 编码分块响应体 (含 trailer)

任务:
    encode_chunked(chunks, trailers=None) 是一个生成器: 每来一块数据, 就交出它编码好的一帧
    (十六进制的字节数 + \r\n + 数据 + \r\n); 最后交出结束块 0\r\n, 接着每个 trailer 一行
    "名字: 值\r\n", 再一个空行 \r\n。

做完的样子:
    - 长度按字节算, 用十六进制写 (大小写都行);
    - 空的数据块跳过 —— 长度为 0 的块意味着"响应体结束了", 不能提前发出;
    - 惰性: 每拿到一块就交出一帧, 不等后面的块;
    - trailer 的名字或值里有 \r、\n (或名字为空、含冒号), 调用 encode_chunked(...) 的那一刻就抛 ValueError ——
      字节一旦发出就收不回来, 不能等发到最后才发现 (这也防止有人借 trailer 伪造别的头)。
    做完以后, 标准库的 http.client 应该能读懂你的输出 (检查会这样验证)。

运行:
    python exercises/check.py 03_encode_chunked
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def encode_chunked(
    chunks: Iterable[bytes], trailers: dict[str, str] | None = None
) -> Iterator[bytes]:
    # TODO 1: 先检查 trailers (调用时就报错), 再返回真正的生成器
    # TODO 2: 每个非空的块交出一帧; 最后交出结束块和 trailers
    raise NotImplementedError("TODO: 实现 encode_chunked")
