"""参考答案: 练习 03_encode_chunked —— 编码分块响应体 (含 trailer)。先自己做, 再来对照。"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

FIELD_NAME = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")  # HTTP 的 token: 没有空格、冒号、换行


def encode_chunked(
    chunks: Iterable[bytes], trailers: dict[str, str] | None = None
) -> Iterator[bytes]:
    trailers = trailers or {}
    for name, value in trailers.items():  # 普通函数里检查: 调用时就报错
        if not FIELD_NAME.fullmatch(name):
            raise ValueError(f"trailer 的名字不合法: {name!r}")
        if any(ch in value for ch in "\r\n\0"):
            raise ValueError(f"trailer {name} 的值里有换行或 NUL")
    return _frames(chunks, trailers)


def _frames(chunks: Iterable[bytes], trailers: dict[str, str]) -> Iterator[bytes]:
    for data in chunks:
        if data:  # 空块会被当成结束块: 跳过
            yield f"{len(data):X}\r\n".encode("ascii") + data + b"\r\n"
    lines = "".join(f"{name}: {value}\r\n" for name, value in trailers.items())
    yield b"0\r\n" + lines.encode("latin-1") + b"\r\n"
