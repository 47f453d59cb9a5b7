"""参考答案: 练习 01_rechunk —— 把任意长短的片重新切成固定长度。先自己做, 再来对照。"""

from __future__ import annotations

from collections.abc import Iterable, Iterator


def rechunk(stream: Iterable[str], size: int) -> Iterator[str]:
    # 普通函数: 参数错误在调用时就报出来; 真正的生成器在里面。
    if size <= 0:
        raise ValueError(f"size 必须是正数, 收到 {size}")
    return _rechunk(stream, size)


def _rechunk(stream: Iterable[str], size: int) -> Iterator[str]:
    buffer = ""
    for piece in stream:
        buffer += piece
        while len(buffer) >= size:  # 一片很长时, 可能一次交出好几片
            yield buffer[:size]
            buffer = buffer[size:]
    if buffer:
        yield buffer
