"""第 03 课的测试: 线上的字节是合法的分块编码, 第一块远早于最后一块到达, 坏请求回 400。"""

from __future__ import annotations

import io
import socket
import time

import pytest
from conftest import load_script, run_script, start_script, unused_port

hc = load_script("03")
BODY = b"".join(hc.body_chunks())


def parse_chunked_strictly(data: bytes) -> tuple[list[bytes], list[int]]:
    """独立于脚本的严格解析器: 返回每块的数据和每块结束处在 data 里的偏移。"""
    chunks, ends, pos = [], [], 0
    while True:
        eol = data.index(b"\r\n", pos)
        size_text = data[pos:eol]
        assert size_text and all(c in b"0123456789ABCDEFabcdef" for c in size_text), size_text
        size = int(size_text, 16)
        start = eol + 2
        if size == 0:
            assert data[start:] == b"\r\n", "最后一块之后应当只有一个空行"
            return chunks, ends
        assert data[start + size : start + size + 2] == b"\r\n", "数据后面必须紧跟 CRLF"
        chunks.append(data[start : start + size])
        ends.append(start + size + 2)
        pos = start + size + 2


def fetch(port: int, request: bytes) -> tuple[bytes, list[tuple[float, int]]]:
    """发出原始请求, 读到连接关闭; 同时记下每次收到数据的时刻和累计字节数。"""
    arrivals, received = [], b""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(request)
        start = time.perf_counter()
        while data := sock.recv(65536):
            received += data
            arrivals.append((time.perf_counter() - start, len(received)))
    return received, arrivals


GET = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n"


def test_chunk_framing_counts_bytes_not_characters():
    assert hc.encode_chunk(b"abc") == b"3\r\nabc\r\n"
    assert hc.encode_chunk("你好".encode()) == b"6\r\n\xe4\xbd\xa0\xe5\xa5\xbd\r\n"
    assert hc.encode_chunk(b"x" * 255).startswith(b"FF\r\n")
    assert hc.LAST_CHUNK == b"0\r\n\r\n"


def test_body_splits_a_character_across_chunks():
    chunks = hc.body_chunks()
    with pytest.raises(UnicodeDecodeError):
        chunks[-2].decode("utf-8")
    assert BODY.decode("utf-8").endswith("🚀\n")


def test_reader_parses_what_the_encoder_writes():
    wire = b"".join(hc.encode_chunk(c) for c in hc.body_chunks()) + hc.LAST_CHUNK
    parsed = list(hc.read_chunks(io.BytesIO(wire)))
    assert [data for _, data in parsed] == hc.body_chunks()
    truncated = io.BytesIO(wire[:-10])
    with pytest.raises((ConnectionError, ValueError)):
        list(hc.read_chunks(truncated))


def test_wire_is_valid_chunked_and_first_chunk_arrives_long_before_the_last():
    with start_script("03", "--delay", "0.15") as server:
        raw, arrivals = fetch(server.port, GET)
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    assert lines[0] == "HTTP/1.1 200 OK"
    headers = {k.lower(): v.strip() for k, _, v in (h.partition(":") for h in lines[1:])}
    assert headers["transfer-encoding"] == "chunked"
    assert "content-length" not in headers
    chunks, ends = parse_chunked_strictly(body)
    assert chunks == hc.body_chunks()
    assert b"".join(chunks) == BODY

    def arrived(offset_in_body: int) -> float:
        offset = len(head) + 4 + offset_in_body
        return next(t for t, total in arrivals if total >= offset)

    first, last = arrived(ends[0]), arrived(ends[-1])
    assert first < last / 5, f"第一块 {first:.3f}s, 最后一块 {last:.3f}s: 没有在流式发送"


def test_malformed_request_gets_400_and_the_server_keeps_serving():
    with start_script("03", "--delay", "0") as server:
        bad, _ = fetch(server.port, b"HELLO WORLD\r\n\r\n")
        assert bad.startswith(b"HTTP/1.1 400 ")
        assert "请求行格式错误" in bad.decode("utf-8")
        binary, _ = fetch(server.port, b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\r\n\r\n")
        assert binary.startswith(b"HTTP/1.1 400 ")
        post, _ = fetch(server.port, b"POST / HTTP/1.1\r\n\r\n")
        assert post.startswith(b"HTTP/1.1 405 ") and b"\r\nAllow: GET\r\n" in post
        missing, _ = fetch(server.port, b"GET /nope HTTP/1.1\r\n\r\n")
        assert missing.startswith(b"HTTP/1.1 404 ")
        huge, _ = fetch(server.port, b"GET / HTTP/1.1\r\nX: " + b"a" * 20000 + b"\r\n\r\n")
        assert huge.startswith(b"HTTP/1.1 431 ")
        good, _ = fetch(server.port, GET)
        assert good.startswith(b"HTTP/1.1 200 OK")
        assert parse_chunked_strictly(good.partition(b"\r\n\r\n")[2])[0] == hc.body_chunks()


def fetch_half_closed(port: int, request: bytes) -> bytes:
    """发出请求, 然后关闭写的一半 (shutdown): 服务器读到 EOF, 但还能回答。"""
    with socket.create_connection(("127.0.0.1", port), timeout=20) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)
        received = b""
        while data := sock.recv(65536):
            received += data
    return received


@pytest.mark.parametrize(
    "request_bytes",
    [b"GET / HTTP/1.1\r\nHost", b"GET / HTTP/1.1\r\nHost: x\r\n", b"GET / HTTP/1.1", b""],
)
def test_a_request_cut_off_before_the_blank_line_is_incomplete(request_bytes):
    """EOF 不是空行: 请求头没有发完就断开的请求, 不能被当成一个完整的请求来回答。"""
    with start_script("03", "--delay", "0") as server:
        reply = fetch_half_closed(server.port, request_bytes)
        assert not reply.startswith(b"HTTP/1.1 200"), reply[:80]
        if request_bytes:
            assert reply.startswith(b"HTTP/1.1 400 ") and "不完整" in reply.decode("utf-8")


def test_every_response_says_nosniff():
    """错误信息里有请求的路径: 浏览器不能把它"嗅探"成 HTML 来执行。"""
    with start_script("03", "--delay", "0") as server:
        for request in (b"GET /<script>alert(1)</script> HTTP/1.1\r\n\r\n", GET):
            reply, _ = fetch(server.port, request)
            head = reply.partition(b"\r\n\r\n")[0].lower()
            assert b"\r\nx-content-type-options: nosniff" in head


def test_client_that_disconnects_mid_stream_does_not_hurt_others():
    with start_script("03", "--delay", "0.1") as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(GET)
            assert sock.recv(100).startswith(b"HTTP/1.1 200")
        server.wait_for("客户端中途断开", deadline=10)
        good, _ = fetch(server.port, GET)
        assert parse_chunked_strictly(good.partition(b"\r\n\r\n")[2])[0] == hc.body_chunks()


def test_standard_library_client_gets_the_same_body():
    with start_script("03", "--delay", "0") as server:
        assert b"".join(hc.read_with_http_client(server.url + "/")) == BODY


def test_client_mode_prints_each_raw_chunk_and_decodes_it():
    with start_script("03", "--delay", "0") as server:
        result = run_script("03", "--client", server.url + "/")
        lib = run_script("03", "--client", server.url + "/", "--lib")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "Transfer-Encoding: chunked" in out
    assert "长度行 b'9\\r\\n'" in out and "9 字节" in out
    assert "半个字符 f0 9f" in out
    assert BODY.decode().strip() in out
    assert "\x1b[" not in out
    assert lib.returncode == 0 and "🚀" in lib.stdout


def test_client_explains_when_no_server_is_running():
    result = run_script("03", "--client", f"http://127.0.0.1:{unused_port()}/")
    assert result.returncode == 1
    assert "连不上" in result.stdout


def test_ctrl_c_stops_the_server_cleanly():
    with start_script("03", "--delay", "0") as server:
        pass  # 离开 with 时, conftest 像 Ctrl+C 一样发送 SIGINT
    assert server.proc.returncode == 0
    assert "服务器已停止" in server.text()
