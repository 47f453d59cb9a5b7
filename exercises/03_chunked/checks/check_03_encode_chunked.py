"""检查 03_encode_chunked: 帧的格式、字节长度、空块、惰性、trailer, 以及 http.client 能不能读懂。"""

from __future__ import annotations

import http.client
import io

from checklib import Source, expect_equal, fail, see, show

SEE = see("03_http_chunked", "1. 一个块长什么样")
MISTAKES = see("01_generator_basics", "常见误区")
HEAD = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/plain\r\n\r\n"


def parse(body: bytes) -> tuple[list[bytes], bytes]:
    """严格地拆开分块编码: 返回 (每块的数据, 结束块之后的 trailer 部分)。格式不对就 fail。"""
    chunks, rest = [], body
    while True:
        line, sep, rest = rest.partition(b"\r\n")
        if not sep or not line or any(c not in b"0123456789abcdefABCDEF" for c in line):
            fail("长度行是十六进制数字 + \\r\\n", f"长度行是 {show(line)}")
        size = int(line, 16)
        if size == 0:
            return chunks, rest
        data, rest = rest[:size], rest[size:]
        if len(data) != size or not rest.startswith(b"\r\n"):
            fail(
                f"长度行说有 {size} 个字节 (长度按字节算, 不是按字符), 数据之后紧跟 \\r\\n",
                f"接下来的字节是 {show(data + rest[:4])}",
            )
        chunks.append(data)
        rest = rest[2:]


def check_one_chunk(ex):
    """一块数据: 长度行 + 数据 + CRLF, 最后是结束块"""
    body = b"".join(ex.encode_chunked([b"hello"]))
    expect_equal(body, b"5\r\nhello\r\n0\r\n\r\n", "encode_chunked([b'hello']) 的字节")


def check_length_in_bytes_and_hex(ex):
    """长度按字节算, 用十六进制写"""
    data = ["你好".encode(), b"x" * 26, b"y" * 4096]
    chunks, trailer = parse(b"".join(ex.encode_chunked(data)))
    expect_equal(
        chunks, data, "拆开之后的每块数据 ('你好' 是 6 个字节; 26 写作 1A, 4096 写作 1000)"
    )
    expect_equal(trailer, b"\r\n", "结束块之后的部分 (没有 trailer 时只有一个空行)")


def check_empty_chunks_skipped(ex):
    """空的数据块被跳过, 不会提前结束响应体"""
    chunks, _ = parse(b"".join(ex.encode_chunked([b"a", b"", b"b", b""])))
    expect_equal(chunks, [b"a", b"b"], "拆开之后的每块数据 (空块会被当成结束块)")


def check_lazy(ex):
    """惰性: 每拿到一块就交出一帧"""
    source = Source([b"ab", b"cd", b"ef"])
    frames = ex.encode_chunked(source.gen())
    first = next(frames)
    expect_equal(first, b"2\r\nab\r\n", "第一帧")
    expect_equal(source.pulled, 1, "交出第一帧时, 从上游取的块数")


def check_trailers(ex):
    """trailer 写在结束块之后, 再以空行结束"""
    body = b"".join(ex.encode_chunked([b"hi"], {"X-Body-Bytes": "2", "X-Done": "yes"}))
    _, trailer = parse(body)
    expect_equal(trailer, b"X-Body-Bytes: 2\r\nX-Done: yes\r\n\r\n", "结束块之后的部分")


def check_bad_trailers_rejected_at_call(ex):
    """有换行的 trailer: 调用的那一刻就抛 ValueError"""
    bad = [
        {"X-Evil": "1\r\nSet-Cookie: a=b"},
        {"X-Evil\r\nSet-Cookie": "a=b"},
        {"X-Evil": "1\n"},
        {"": "x"},
        {"X:Y": "z"},
    ]
    for trailers in bad:
        try:
            ex.encode_chunked([b"x"], trailers)  # 注意: 还没有开始迭代
        except ValueError:
            continue
        fail(
            f"encode_chunked(..., {trailers!r}) 一调用就抛 ValueError",
            "没有报错 (如果检查写在生成器里, 要等第一次 next() 才执行)",
            MISTAKES,
        )


def check_http_client_understands(ex):
    """标准库 http.client 能读懂你的输出 (包括 trailer)"""
    data = [b"first ", "第二块".encode(), b"", b"third"]
    body = b"".join(ex.encode_chunked(data, {"X-Checksum": "abc"}))

    class FakeSocket:
        def makefile(self, *args, **kwargs):
            return io.BytesIO(HEAD + body + b"NEXT RESPONSE")

    response = http.client.HTTPResponse(FakeSocket())
    response.begin()
    try:
        got = response.read()
    except http.client.HTTPException as exc:
        fail("http.client 读完整个响应体", f"它报错了: {type(exc).__name__}: {exc}")
    expect_equal(got, b"".join(data), "http.client 读到的响应体")
