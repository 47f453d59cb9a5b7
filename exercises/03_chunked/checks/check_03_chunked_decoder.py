"""检查 03_chunked_decoder: 三种切法结果一样、数据一到就交出、扩展与 trailer、unused、各种坏格式。"""

from __future__ import annotations

from checklib import expect_equal, fail, see, show, splits

SEE = see("03_http_chunked", "5. 客户端: 逐块读, 增量解码")
FRAMES = see("03_http_chunked", "1. 一个块长什么样")
BODY = "你好！这段回复被切成很多块 🚀".encode()
WIRE = b"9\r\n" + BODY[:9] + b"\r\n" + b"1a\r\n" + BODY[9:35] + b"\r\n"
WIRE += b'%X;name=value;q="a;b"\r\n' % len(BODY[35:]) + BODY[35:] + b"\r\n"
WIRE += b"0\r\nX-Checksum: abc\r\nX-Count:  3 \r\n\r\n"


def decode(ex, pieces: list[bytes]):
    """把 pieces 依次喂进一个新的解码器; 返回 (解出的数据, 解码器, 每次 feed 之后 done 的值)。"""
    decoder = ex.ChunkedDecoder()
    body, done = b"", []
    for piece in pieces:
        body += decoder.feed(piece)
        done.append(decoder.done)
    return body, decoder, done


def expect_error(ex, wire: bytes, why: str, see_: str = FRAMES) -> None:
    for how, pieces in splits(wire):
        try:
            decode(ex, pieces)
        except ValueError:
            continue
        fail(f"{why}: 抛 ValueError ({how})", f"没有报错。输入是 {show(wire)}", see_)


def check_any_split(ex):
    """一次全部、一个字节一个字节、随机切块: 解出的数据都一样"""
    for how, pieces in splits(WIRE):
        body, decoder, done = decode(ex, pieces)
        expect_equal(body, BODY, f"{how}时解出的数据")
        expect_equal(decoder.done, True, f"{how}, 喂完之后的 done")
        if any(done[:-1]):
            fail(
                f"{how}时, 只有最后的空行到了之后 done 才是 True",
                f"提前变成了 True: {done.index(True)}",
            )


def check_data_delivered_at_once(ex):
    """一块数据只到了一部分, 就先交出这一部分"""
    decoder = ex.ChunkedDecoder()
    expect_equal(decoder.feed(b"5\r\nhe"), b"he", "feed(b'5\\r\\nhe') 的返回值")
    expect_equal(decoder.feed(b"llo\r\n"), b"llo", "接着 feed(b'llo\\r\\n') 的返回值")
    expect_equal(decoder.done, False, "还没有收到结束块时的 done")


def check_trailers(ex):
    """结束块之后的 trailer: 名字小写, 值去掉两边空白"""
    _, decoder, _ = decode(ex, [WIRE])
    expect_equal(decoder.trailers, {"x-checksum": "abc", "x-count": "3"}, "trailers")


def check_unused(ex):
    """结束之后的字节放进 unused"""
    extra = b"HTTP/1.1 200 OK\r\n"
    for how, pieces in splits(WIRE + extra):
        body, decoder, _ = decode(ex, pieces)
        expect_equal(body, BODY, f"{how}时解出的数据")
        expect_equal(decoder.unused, extra, f"{how}时的 unused")


def check_bad_sizes(ex):
    """长度不是纯十六进制数字: ValueError (int(x, 16) 接受的 0x、_、+、空白都不行)"""
    for size in [b"zz", b"0x5", b"1_0", b"+5", b"-5", b" 5", b""]:
        expect_error(ex, size + b"\r\nhello\r\n0\r\n\r\n", f"长度行 {size!r}")


def check_bad_framing(ex):
    """数据之后不是 \\r\\n, 或者行尾只有 \\n: ValueError"""
    expect_error(ex, b"3\r\nabcX\r\n0\r\n\r\n", "数据之后是 X 而不是 \\r\\n")
    expect_error(ex, b"5\nhello\r\n0\r\n\r\n", "长度行只用 \\n 结尾")
    expect_error(ex, b"5\r\nhello\r\n0\r\nNoColon\r\n\r\n", "trailer 行没有冒号")


def check_line_too_long(ex):
    """长度行一直不结束: 超过 max_line 就抛 ValueError, 不无限地攒"""
    decoder = ex.ChunkedDecoder(max_line=100)
    try:
        for _ in range(100):
            decoder.feed(b"1" * 50)
    except ValueError:
        return
    fail("喂了 5000 个字节还没有行尾 (max_line=100): 抛 ValueError", "一直没有报错")
