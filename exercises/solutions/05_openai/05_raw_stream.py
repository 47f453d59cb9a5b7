"""参考答案: 练习 05_raw_stream —— 从原始字节读 OpenAI 流。先自己做, 再来对照。"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any


class StreamError(Exception):
    """流里的错误: 服务商报错, 或者收到了无法解析的 chunk。"""


def parse_data(payload: str) -> dict[str, Any]:
    try:
        data = json.loads(payload)
    except ValueError:
        raise StreamError(f"无法解析的 chunk: {payload[:80]!r}") from None
    if "error" in data:
        error = data["error"]
        raise StreamError(
            error.get("message", str(error)) if isinstance(error, dict) else str(error)
        )
    return data


async def read_stream(source: AsyncGenerator[bytes, None]) -> AsyncIterator[dict[str, Any]]:
    buffer = b""
    try:
        async for piece in source:
            buffer += piece
            *lines, buffer = buffer.split(b"\n")  # 按字节切行: 切开的汉字留在 buffer 里
            for raw in lines:
                line = raw.removesuffix(b"\r").decode("utf-8", errors="replace")
                if not line.startswith("data:"):
                    continue  # 空行、注释、其他字段
                payload = line[5:].strip()
                if payload == "[DONE]":
                    return  # 不再读 source: finally 关闭它
                yield parse_data(payload)
    finally:
        await source.aclose()  # 关闭 HTTP 响应; [DONE]、出错、aclose()、取消都经过这里
