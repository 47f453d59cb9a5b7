"""参考答案: 练习 03_chunked_decoder —— 增量的分块解码器。先自己做, 再来对照。"""

from __future__ import annotations

import string

HEX = set(string.hexdigits)


class ChunkedDecoder:
    r"""一个小状态机: 读长度行 → 读数据 → 读数据后的 \r\n → 读长度行 …… → 读 trailer 行 → 结束。"""

    def __init__(self, max_line: int = 4096) -> None:
        self.max_line = max_line
        self.done = False
        self.trailers: dict[str, str] = {}
        self.unused = b""
        self._buffer = b""  # 收到了、还没处理的字节
        self._state = "size"  # size / data / crlf / trailer
        self._left = 0  # 当前这一块还差几个字节的数据

    def feed(self, data: bytes) -> bytes:
        if self.done:
            self.unused += data
            return b""
        self._buffer += data
        body = bytearray()
        while not self.done and self._step(body):
            pass
        return bytes(body)

    def _step(self, body: bytearray) -> bool:
        """往前走一步; 字节不够时返回 False, 等下一次 feed。"""
        if self._state == "data":
            piece = self._buffer[: self._left]
            body += piece  # 有多少交多少, 不等整块到齐
            self._buffer = self._buffer[len(piece) :]
            self._left -= len(piece)
            if self._left:
                return False
            self._state = "crlf"
            return True
        if self._state == "crlf":
            if len(self._buffer) < 2:
                return False
            if self._buffer[:2] != b"\r\n":
                raise ValueError("数据之后应该紧跟 \\r\\n")
            self._buffer = self._buffer[2:]
            self._state = "size"
            return True
        line = self._line()
        if line is None:
            return False
        if self._state == "size":
            self._read_size(line)
        else:
            self._read_trailer(line)
        return True

    def _line(self) -> str | None:
        r"""取出一整行 (不含 \r\n); 还没到行尾时返回 None。"""
        end = self._buffer.find(b"\r\n")
        if end < 0:
            if b"\n" in self._buffer:
                raise ValueError("行应该以 \\r\\n 结尾, 不能只有 \\n")
            if len(self._buffer) > self.max_line:
                raise ValueError(f"一行超过了 {self.max_line} 个字节")
            return None
        line, self._buffer = self._buffer[:end], self._buffer[end + 2 :]
        if b"\n" in line or b"\r" in line or len(line) > self.max_line:
            raise ValueError("行的格式不对")
        return line.decode("latin-1")

    def _read_size(self, line: str) -> None:
        size = line.partition(";")[0].rstrip(" \t")
        if not size or not set(size) <= HEX:  # 不用 int() 来判断: 它接受 0x、_、+、空白
            raise ValueError(f"长度不是十六进制数字: {line[:40]!r}")
        self._left = int(size, 16)
        self._state = "data" if self._left else "trailer"

    def _read_trailer(self, line: str) -> None:
        if line == "":
            self.done = True
            self.unused, self._buffer = self._buffer, b""
            return
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise ValueError(f"trailer 的格式不对: {line[:40]!r}")
        self.trailers[name.lower()] = value.strip(" \t")
