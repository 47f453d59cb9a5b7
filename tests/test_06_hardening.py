"""第 06 课 (下) 的测试: 坏上游、挂住的上游、过载、慢读者、别的网页 —— 服务器都要给出一个像样的结局。

上游用的是 tests/bad_upstream.py: 一个故意不守规矩的"模型服务", 在原始 socket 上想发什么就发什么。
一切只在 127.0.0.1 上。测试不比较绝对时间; 有期限的地方, 期限只用来让"永远不发生"的失败及时暴露。
"""

from __future__ import annotations

import json
import socket
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from chat_helpers import post_chat, recording_server, send, texts, user, wait_done
from conftest import ROOT, load_script, start_path, start_script

sse = load_script("04")
chat = load_script("06")
BAD_UPSTREAM = Path(__file__).with_name("bad_upstream.py")
GOOD = "部分回答已经送到"  # bad_upstream.GOOD 拼起来: 每个剧本都先发这些
MIB = 1 << 20


@pytest.fixture(scope="module")
def bad():
    with start_path(BAD_UPSTREAM) as upstream:
        yield upstream


@contextmanager
def chat_via(upstream, *args: str):
    """06 连接到一个坏上游。"""
    with start_script("06", "--base-url", f"{upstream.url}/v1", "--model", "bad", *args) as app:
        yield app


@pytest.fixture(scope="module")
def relay(bad):
    with chat_via(bad) as app:
        yield app


def upstream_stats(upstream) -> dict[str, int]:
    return httpx.get(f"{upstream.url}/stats").json()


def wait_until(condition, deadline: float, what: str) -> None:
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, f"{deadline} 秒内没有等到: {what}"
        time.sleep(0.05)


def peak_memory_mib(pid: int) -> float:
    """进程从启动以来的最大常驻内存 (VmHWM)。"""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("读不到 VmHWM")


def error_message(events) -> str:
    assert events and events[-1].event == "error", [e.event for e in events]
    return json.loads(events[-1].data)["message"]


# ---------- 流永远不会无声地死掉 ----------


def test_line_separators_inside_text_arrive_byte_identical(relay):
    """U+2028、U+0085、\\x0b…… 在 str.splitlines() 眼里是换行, 在 SSE 眼里只是文字。"""
    _, events = post_chat(relay.url, user("line-separators"))
    assert texts(events, "delta") == "a\u2028b\u2029c\u0085d\x0be\x0cf\x1cg"
    assert events[-1].event == "done"


FAULTS = [
    "not-json",
    "data-123",
    "data-list",
    "choices-string",
    "content-number",
    "content-list",
    "lone-surrogate",
    "no-finish",
    "big-line",
]


@pytest.mark.parametrize("script", FAULTS)
def test_every_upstream_fault_ends_with_an_error_event_after_the_partial_text(relay, script):
    # httpx 读到一个没有正确结束的分块响应体会抛 RemoteProtocolError: 能读完, 就说明响应体结束得规规矩矩。
    response, events = post_chat(relay.url, user(script))
    assert response.status_code == 200
    assert texts(events, "delta") == GOOD, "出事之前的文字一个字也不能少"
    assert "不完整" in error_message(events)
    for e in events:
        if e.event == "delta":
            assert isinstance(json.loads(e.data)["text"], str), "text 永远是字符串"


def test_incomplete_usage_still_ends_with_done(relay):
    """回答是完整的 (有 finish_reason), 只是用量缺了字段: 照样 done, tokens 为空。"""
    _, events = post_chat(relay.url, user("usage-without-tokens"))
    assert texts(events, "delta") == GOOD
    done = json.loads(events[-1].data)
    assert events[-1].event == "done" and done["finish_reason"] == "stop" and done["tokens"] is None


def test_upstream_error_text_never_reaches_the_browser(relay):
    _, events = post_chat(relay.url, user("error-with-key"))
    message = error_message(events)
    assert texts(events, "delta") == GOOD
    assert "生成途中出错" in message
    assert "sk-live" not in message and "Incorrect API key" not in message
    relay.wait_for(r"sk-live-SECRET1234", 5)  # 原文只在服务器的日志里


def test_upstream_killed_mid_stream_gives_an_error_event():
    with start_path(BAD_UPSTREAM) as upstream, chat_via(upstream) as app:
        decoder, events = sse.SSEDecoder(), []
        with httpx.stream("POST", f"{app.url}/chat", json=user("slow"), timeout=30) as response:
            for chunk in response.iter_bytes():
                events += decoder.feed(chunk)
                if upstream.proc.poll() is None and texts(events, "delta").startswith(GOOD):
                    upstream.proc.kill()  # 模型服务的进程突然死了
    assert texts(events, "delta").startswith(GOOD)
    assert "连接中断" in error_message(events)


def test_one_huge_upstream_line_costs_little_memory():
    with start_path(BAD_UPSTREAM) as upstream, chat_via(upstream) as app:
        post_chat(app.url, user("no-finish"))  # 预热
        before = peak_memory_mib(app.proc.pid)
        _, events = post_chat(app.url, user("big-line"))  # 一行 50 MB
        grown = peak_memory_mib(app.proc.pid) - before
    assert texts(events, "delta") == GOOD and "看不懂" in error_message(events)
    assert grown < 30, f"一行 50 MB 让服务器多占了 {grown:.0f} MiB 内存"


def test_a_reader_who_never_reads_is_bounded_and_let_go(bad):
    args = ("--max-pending", "100000", "--send-timeout", "1", "--max-streams", "1")
    with chat_via(bad, *args) as app:
        post_chat(app.url, user("no-finish"))  # 预热
        before, closed = peak_memory_mib(app.proc.pid), upstream_stats(bad)["closed_mid_stream"]
        body = json.dumps(user("huge-answer")).encode()
        with socket.create_connection(
            ("127.0.0.1", app.port)
        ) as reader:  # 发出请求, 然后一个字节也不读
            reader.sendall(
                b"POST /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            wait_until(lambda: upstream_stats(bad)["closed_mid_stream"] > closed, 20, "上游被关闭")
            # 名额在 send_timeout 之后归还: 新的请求能进来
            wait_until(
                lambda: post_chat(app.url, user("usage-without-tokens"))[0].status_code == 200,
                20,
                "名额被归还",
            )
        grown = peak_memory_mib(app.proc.pid) - before
    assert grown < 30, f"一个不读的客户端让服务器多占了 {grown:.0f} MiB 内存"


# ---------- 挂住的上游拖不垮服务器 ----------


def test_upstream_that_never_answers_gets_a_504_without_retries_multiplying_it(bad):
    with chat_via(bad, "--headers-timeout", "1") as app:
        before = upstream_stats(bad)
        response = httpx.post(f"{app.url}/chat", json=user("hang-headers"), timeout=30)
        assert response.status_code == 504
        assert "秒内没有响应" in response.json()["error"]
        wait_until(
            lambda: upstream_stats(bad)["gave_up_waiting"] > before["gave_up_waiting"],
            5,
            "上游连接被关闭",
        )
        assert upstream_stats(bad)["requests"] == before["requests"] + 1, "等待期间不应该再发重试"


def test_client_leaving_while_upstream_hangs_cancels_it_and_frees_the_slot(bad):
    with chat_via(bad, "--max-streams", "1") as app:
        before = upstream_stats(bad)
        body = json.dumps(user("hang-headers")).encode()
        with socket.create_connection(("127.0.0.1", app.port)) as client:
            client.sendall(
                b"POST /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
            )
            wait_until(
                lambda: upstream_stats(bad)["requests"] > before["requests"], 5, "请求到达上游"
            )
        # 客户端走了: 上游的等待被取消, 名额立刻归还
        wait_until(
            lambda: upstream_stats(bad)["gave_up_waiting"] > before["gave_up_waiting"],
            5,
            "上游的等待被取消",
        )
        response, events = post_chat(app.url, user("usage-without-tokens"))
        assert response.status_code == 200 and events[-1].event == "done"


def test_silent_upstream_times_out_with_keepalives_meanwhile(bad):
    with chat_via(bad, "--idle-timeout", "0.5", "--keepalive", "0.1") as app:
        before = upstream_stats(bad)["closed_mid_stream"]
        with httpx.stream("POST", f"{app.url}/chat", json=user("silent"), timeout=30) as response:
            raw = b"".join(response.iter_bytes())
        events = sse.SSEDecoder().feed(raw)
        assert texts(events, "delta") == GOOD
        assert "没有输出" in error_message(events)
        assert raw.count(b": keep-alive\n\n") >= 2, "安静的时候照样发保活"
        wait_until(lambda: upstream_stats(bad)["closed_mid_stream"] > before, 5, "上游连接被关闭")


# ---------- 过载: 拒绝要快 ----------


def test_admission_is_decided_before_reading_the_body(bad):
    """满了的时候, 连请求体都不必等: 一个只发了请求头的请求立刻得到 503。"""
    with chat_via(bad, "--max-streams", "1") as app, httpx.Client(timeout=30) as client:
        busy = client.send(client.build_request("POST", f"{app.url}/chat", json=user("slow")), stream=True)  # fmt: skip
        next(busy.iter_bytes())
        with socket.create_connection(("127.0.0.1", app.port), timeout=5) as late:
            late.sendall(
                b"POST /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                b"Content-Length: 100\r\n\r\n"  # 请求体永远不发
            )
            reply = late.recv(4096)
        busy.close()
    assert reply.startswith(b"HTTP/1.1 503"), reply
    assert b"Retry-After" in reply or b"retry-after" in reply


def test_slow_request_heads_and_bodies_are_cut_off():
    with start_script("06", "--header-timeout", "1", "--body-timeout", "1") as app:
        heads = [socket.create_connection(("127.0.0.1", app.port)) for _ in range(40)]
        for i, sock in enumerate(heads):  # 一半发了半个请求头, 一半什么都不发
            if i % 2:
                sock.sendall(b"POST /chat HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        body = socket.create_connection(("127.0.0.1", app.port))
        body.sendall(
            b"POST /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 100\r\n\r\n{"
        )
        _, events = post_chat(app.url, user("/echo 照常服务"))  # 与此同时, 正常的请求不受影响
        assert texts(events, "delta") == "照常服务"
        for sock in heads:
            sock.settimeout(10)
            try:
                assert sock.recv(1024) == b"", "请求头发不完的连接应当被关闭"
            except ConnectionResetError:
                pass
            sock.close()
        body.settimeout(10)
        assert body.recv(4096).startswith(b"HTTP/1.1 408")
        body.close()


# ---------- 别的网页不能用这个服务器 ----------


def chat_request(url: str, **headers: str) -> httpx.Response:
    return httpx.post(
        f"{url}/chat",
        content=json.dumps(user("/echo hi")),
        headers={"Content-Type": "application/json", **headers},
        timeout=30,
    )


@pytest.fixture(scope="module")
def sim():
    with start_script("06", "--token-delay", "0") as app:
        yield app, app.wait_for(r"#server=\S+&token=(\S+)")[1]


def test_content_type_is_parsed_not_searched(sim):
    app, _ = sim
    for content_type in ("text/plain; x=application/json", "application/jsonx", "text/plain"):
        response = chat_request(app.url, **{"Content-Type": content_type})
        assert response.status_code == 415, content_type
    assert chat_request(app.url, **{"Content-Type": "Application/JSON; charset=utf-8"}).status_code == 200  # fmt: skip


def test_only_our_own_page_or_the_file_page_with_its_token_may_call(sim):
    app, token = sim
    assert chat_request(app.url, Origin=app.url).status_code == 200, "本站的页面"
    assert chat_request(app.url).status_code == 200, "curl (没有 Origin)"
    assert chat_request(app.url, Origin="null").status_code == 403, "沙箱 iframe: 没有令牌"
    assert chat_request(app.url, Origin="null", **{"X-Chat-Token": "guess"}).status_code == 403
    assert chat_request(app.url, Origin="null", **{"X-Chat-Token": token}).status_code == 200
    assert chat_request(app.url, Origin="http://127.0.0.1:9").status_code == 403, "别的网站"
    config = httpx.get(f"{app.url}/config", headers={"Origin": "null"})
    assert config.status_code == 403
    preflight = httpx.options(
        f"{app.url}/chat",
        headers={"Origin": "null", "Access-Control-Request-Method": "POST",
                 "Access-Control-Request-Headers": "content-type,x-chat-token"},
    )  # fmt: skip
    assert preflight.status_code == 200, "预检本身不带令牌, 让它通过; 真正的请求才检查"


@pytest.mark.parametrize("host", ["evil.example", "evil.example:80", "127.0.0.1.evil.example"])
def test_foreign_host_names_are_refused(sim, host):
    """DNS 重绑定: 攻击者的域名先解析到它自己, 再解析到 127.0.0.1, 浏览器发来的 Host 是它的域名。"""
    app, _ = sim
    response = httpx.get(f"{app.url}/config", headers={"Host": host})
    assert response.status_code == 400 and "Host" in response.json()["error"]


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST:8000", "[::1]:1"])
def test_our_own_host_names_are_accepted(sim, host):
    app, _ = sim
    assert httpx.get(f"{app.url}/config", headers={"Host": host}).status_code == 200


def test_a_long_answer_does_not_poison_the_conversation(sim):
    app, _ = sim
    history = [
        {"role": "user", "content": "写一篇长文"},
        {"role": "assistant", "content": "长" * 20000},  # 比一条用户消息的上限长
        {"role": "user", "content": "/echo 继续"},
    ]
    response, events = post_chat(app.url, {"messages": history})
    assert response.status_code == 200 and texts(events, "delta") == "继续"
    too_much = [{"role": "assistant", "content": "长" * 30000}] * 3 + history[-1:]
    response, _ = post_chat(app.url, {"messages": too_much})
    assert response.status_code == 413 and "所有消息加起来" in response.json()["error"]


# ---------- 页面经得起任何模型输出、任何长度的对话 ----------


def test_the_page_carries_its_own_csp_with_current_hashes():
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "page_csp.py")], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + "\n修复: python tools/page_csp.py --write"


def file_page(app_url: str, token: str) -> str:
    return f"{(ROOT / 'chat.html').as_uri()}#server={app_url}&token={token}"


@pytest.mark.browser
def test_browser_file_page_without_the_token_is_told_what_to_do(page, sim):
    app, _ = sim
    page.goto(file_page(app.url, "wrong"))
    notice = page.get_by_test_id("notice")
    notice.wait_for()
    assert "令牌" in notice.inner_text()


@pytest.mark.browser
def test_browser_model_output_cannot_shadow_the_page_elements(page, sim):
    app, _ = sim
    page.goto(app.url + "/")
    clobber = '<div id="assistant-template">假的</div><form id="composer"></form><a id="input" name="list">x</a>'
    send(page, f"/echo {clobber}")
    wait_done(page)
    send(page, "/echo 第二轮照常")
    assert wait_done(page, 2).inner_text() == "第二轮照常"
    assert page.locator("#assistant-template").count() == 1, "模型输出里的 id 被改了名"


@pytest.mark.browser
def test_browser_keeps_chatting_after_a_very_long_answer(page, bad):
    with chat_via(bad, "--token-delay", "0") as app:
        bodies = []
        page.on("request", lambda r: bodies.append(r.post_data_json) if r.url.endswith("/chat") else None)  # fmt: skip
        page.goto(app.url + "/")
        send(page, "long-answer")  # 40000 字, 比一条助手回答的上限还长
        wait_done(page)
        send(page, "usage-without-tokens")
        second = wait_done(page, 2)
        assert second.inner_text() == GOOD, "上一个回答再长, 也不能让之后的每一轮都失败"
        sent = bodies[-1]["messages"]
        assert [m["role"] for m in sent] == ["user", "assistant", "user"]
        assert len(sent[1]["content"]) <= chat.MAX_ANSWER_CHARS and "已截断" in sent[1]["content"]


@pytest.mark.browser
def test_browser_file_page_loads_no_remote_media(page, sim):
    app, token = sim
    with recording_server() as (other, hits):
        requests = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(file_page(app.url, token))
        page.wait_for_function("() => document.querySelector('[data-testid=model]').textContent.includes('sim')")  # fmt: skip
        payload = (
            f'<video poster="{other}/poster.png" src="{other}/v.mp4"></video>'
            f'<audio src="{other}/a.mp3" autoplay></audio>'
            f'<video><source src="{other}/s.mp4"><track src="{other}/t.vtt"></video>'
            f'<table background="{other}/bg.png"><tr><td>表格</td></tr></table>'
            f'<picture><source srcset="{other}/p.png"></picture>'
            f'<link rel="stylesheet" href="{other}/x.css"><object data="{other}/o"></object>'
        )
        send(page, f"/echo {payload}")
        answer = wait_done(page)
        page.wait_for_timeout(500)
        assert "表格" in answer.inner_text()
        assert answer.locator("video, audio, source, track, picture, object, link").count() == 0
        assert hits == [] and not [u for u in requests if u.startswith(other)]
