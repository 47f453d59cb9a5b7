"""检查 03_request_head: 正常的请求、任意切开、半截请求、各种坏请求、不多读。"""

from __future__ import annotations

import asyncio

from checklib import expect_equal, fail, see, show

SEE = see("03_http_chunked", "4. 读请求, 以及坏请求")
GOOD = b"GET /chat?q=1 HTTP/1.1\r\nHost: example\r\nContent-Length: 3\r\n\r\n"


async def read(ex, pieces: list[bytes], *, limit: int = 2**16, max_headers: int = 100):
    """另一个任务一段一段地喂字节, 最后关闭 (EOF)。返回 (结果或 BadRequest, reader)。"""
    reader = asyncio.StreamReader(limit=limit)

    async def feed():
        for piece in pieces:
            reader.feed_data(piece)
            await asyncio.sleep(0)
        reader.feed_eof()

    feeder = asyncio.create_task(feed())
    try:
        result = await ex.read_request_head(reader, max_headers)
    except ex.BadRequest as exc:
        result = exc
    await feeder
    return result, reader


async def expect_status(ex, data: bytes, status: int, why: str, **options):
    result, _ = await read(ex, [data], **options)
    if not isinstance(result, ex.BadRequest):
        fail(f"{why}: 抛 BadRequest({status})", f"返回了 {show(result)} (请求是 {show(data)})")
    if result.status != status:
        fail(f"{why}: 状态码 {status}", f"状态码 {result.status} (请求是 {show(data)})")


async def check_good_request(ex):
    """正常的请求: 方法、路径、版本、请求头; 请求体留在 reader 里"""
    result, reader = await read(ex, [GOOD + b"abc"])
    if isinstance(result, ex.BadRequest):
        fail("正常的请求被接受", f"BadRequest({result.status}, {result})")
    expect_equal(
        (result.method, result.target, result.version),
        ("GET", "/chat?q=1", "HTTP/1.1"),
        "(method, target, version)",
    )
    expect_equal(result.headers, {"host": "example", "content-length": "3"}, "headers")
    expect_equal(await reader.read(), b"abc", "读完请求头之后, reader 里剩下的字节 (请求体)")


async def check_any_split(ex):
    """一个字节一个字节地到达, 或者只用 \\n 换行: 结果一样"""
    result, _ = await read(ex, [GOOD[i : i + 1] for i in range(len(GOOD))])
    if isinstance(result, ex.BadRequest):
        fail("一个字节一个字节到达的请求被接受", f"BadRequest({result.status}, {result})")
    expect_equal(result.headers, {"host": "example", "content-length": "3"}, "headers")
    result, _ = await read(ex, [GOOD.replace(b"\r\n", b"\n")])
    if isinstance(result, ex.BadRequest):
        fail("只用 \\n 换行的请求被接受", f"BadRequest({result.status}, {result})")


async def check_nothing_received(ex):
    """什么都没收到连接就关了: 返回 None"""
    result, _ = await read(ex, [])
    expect_equal(result, None, "空连接的结果")


async def check_cut_off_is_400(ex):
    """在空行之前断开: 400 (不是一个完整的请求)"""
    for end in (5, GOOD.index(b"\r\n") + 2, GOOD.index(b"Content"), len(GOOD) - 2):
        await expect_status(ex, GOOD[:end], 400, "请求头在空行之前断开")


async def check_bad_request_line(ex):
    """请求行格式错误: 400"""
    for line in [
        b"GET /\r\n",
        b"get / HTTP/1.1\r\n",
        b"GET  / HTTP/1.1\r\n",
        b"GET / HTTP/1.1 extra\r\n",
        b"GET x HTTP/1.1\r\n",
        b"GET / HTTP/2.0\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n",  # 有人对着 HTTP 端口说 HTTPS
    ]:
        await expect_status(ex, line + b"Host: a\r\n\r\n", 400, "请求行格式错误")


async def check_bad_headers(ex):
    """请求头格式错误: 400"""
    for header in [b"Host example", b"Host : example", b" folded", b"\tfolded", b": no-name"]:
        data = b"GET / HTTP/1.1\r\nHost: a\r\n" + header + b"\r\n\r\n"
        await expect_status(ex, data, 400, f"请求头 {header!r}")


async def check_header_values(ex):
    """名字转小写, 值去掉两边空白, 同名的合并, 任何字节都能解码"""
    data = b"GET / HTTP/1.0\r\nX-A:  1 \t\r\nx-a: 2\r\nX-Name: caf\xe9\r\nX-Empty:\r\n\r\n"
    result, _ = await read(ex, [data])
    if isinstance(result, ex.BadRequest):
        fail("这个请求被接受", f"BadRequest({result.status}, {result})")
    expect_equal(result.headers, {"x-a": "1, 2", "x-name": "café", "x-empty": ""}, "headers")


async def check_too_many_or_too_long(ex):
    """请求头超过 max_headers 行, 或者一行太长: 431"""
    head = b"GET / HTTP/1.1\r\n" + b"".join(b"X-%d: v\r\n" % i for i in range(5))
    result, _ = await read(ex, [head + b"\r\n"], max_headers=5)
    if isinstance(result, ex.BadRequest):
        fail("正好 max_headers 行请求头时被接受", f"BadRequest({result.status}, {result})")
    await expect_status(
        ex, head + b"X-5: v\r\n\r\n", 431, "6 行请求头, max_headers=5", max_headers=5
    )
    long_line = b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 200 + b"\r\n\r\n"
    await expect_status(ex, long_line, 431, "一行 200 多字节, reader 的 limit=64", limit=64)
