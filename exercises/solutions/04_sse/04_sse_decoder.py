"""参考答案: 练习 04_sse_decoder —— 按规范的增量 SSE 解码器。先自己做, 再来对照。

和第 04 课的 SSEDecoder 只有一处不同: id 先进缓冲区 (_id_buffer), 派发时才生效。
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

LINE_BREAK = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True)
class Event:
    data: str
    event: str = "message"
    id: str = ""


class SSEDecoder:
    def __init__(self, last_event_id: str = "") -> None:
        self.last_event_id = last_event_id  # 已经生效的 id: 重连时放进 Last-Event-ID
        self.retry: int | None = None
        self._utf8 = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._started = False  # 流的开头处理过了吗 (那里可能有一个 BOM)
        self._after_cr = False  # 上一段以 \r 结尾: 下一段开头的 \n 属于同一个 CRLF
        self._line = ""  # 还没遇到换行的半行
        self._data: list[str] = []
        self._event_type = ""
        self._id_buffer = last_event_id  # id 行写到这里; 派发时才生效

    def feed(self, chunk: bytes) -> list[Event]:
        text = self._utf8.decode(chunk)
        if text and not self._started:
            self._started = True
            text = text.removeprefix("\ufeff")
        if text and self._after_cr:
            text = text.removeprefix("\n")
            self._after_cr = False
        if text:
            self._after_cr = text.endswith("\r")
        *lines, self._line = LINE_BREAK.split(self._line + text)
        return [event for line in lines if (event := self._process(line))]

    def _process(self, line: str) -> Event | None:
        if line == "":
            return self._dispatch()
        if line.startswith(":"):
            return None
        name, colon, value = line.partition(":")
        if colon and value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event_type = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id_buffer = value  # 还没生效: 这条事件可能永远等不到它的空行
        elif name == "retry" and value.isascii() and value.isdigit():
            self.retry = int(value)
        return None

    def _dispatch(self) -> Event | None:
        self.last_event_id = self._id_buffer  # 规范的第一步: 无论有没有 data, id 都在此刻生效
        data, event_type = self._data, self._event_type
        self._data, self._event_type = [], ""
        if not data:
            return None
        return Event("\n".join(data), event_type or "message", self.last_event_id)
