"""第 08 课的测试: 后台生成、日志、Last-Event-ID 续传 —— 同一组行为测试跑两遍 (内存日志、Redis 日志),
再加上只有多个进程才有的: 跨 worker 续传、从另一个 worker 取消、SIGKILL 之后的租约、SIGTERM、nginx。

真实的 redis-server 和 nginx 由 fixture 在本机的空闲端口上启动、停掉; 找不到它们时在本机跳过并说明原因,
在 CI 里 (CI=true) 失败。模型是一个独立的模拟模型进程, 两个 worker 共用它 (它的 /sim/stats 数取消)。
测试不比较绝对时间: 期限只用来让"永远不发生"的失败及时暴露 (取消 1 秒、租约若干秒)。
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from contextlib import asynccontextmanager, contextmanager

import httpx
import openai_sim
import pytest
from chat_helpers import cancelled, send, texts, user, wait_for_count
from conftest import EXAMPLES, ROOT, load_script, run_script, start_path, start_script, unused_port

sse = load_script("04")
runs = load_script("08")
services = runs.local_services  # 本机的 Redis、nginx (examples/local_services.py)
sys.path.insert(0, str(ROOT / "tools"))
import nginx_buffering  # noqa: E402

REASONING = openai_sim.REASONING.format(question="你好")
ANSWER = openai_sim.ANSWER.format(question="你好")
LEASE = 2  # 测试里的租约 (秒); 课程的默认是 5
ECHO = "续传" * 60  # /echo 它: 约 75 个 token


def need(name: str) -> str:
    path = services.find_binary(name)
    if path:
        return path
    reason = f"没有找到 {name}"
    if os.environ.get("CI"):
        pytest.fail(f"CI 必须运行这些测试: {reason}")
    pytest.skip(f"{reason} (Debian/Ubuntu: apt-get install -y redis-server nginx)")


# ---------- 进程: 模拟模型、Redis、worker、nginx ----------


@pytest.fixture(scope="module")
def sim():
    """两个 worker 共用的模型: 一个独立的模拟模型进程 (每 0.01 秒一个 token)。"""
    with start_path(EXAMPLES / "openai_sim.py", "--token-delay", "0.01") as server:
        yield server


def stats_url(sim) -> str:
    return f"{sim.url}/sim/stats"


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    binary = need("redis-server")
    with services.redis_server(tmp_path_factory.mktemp("redis"), binary) as url:
        yield url


@contextmanager
def worker(sim, *args: str):
    with start_script("08", "--base-url", f"{sim.url}/v1", "--model", "sim", "--lease", str(LEASE), *args) as app:  # fmt: skip
        yield app


@pytest.fixture(scope="module", params=["memory", "redis"])
def pair(request, sim):
    """(写的 worker, 读的 worker)。内存日志: 同一个进程; Redis 日志: 两个进程, 在 A 上开始, 在 B 上读。"""
    if request.param == "memory":
        with worker(sim) as app:
            yield app, app
    else:
        url = request.getfixturevalue("redis_url")
        with worker(sim, "--redis", url) as a, worker(sim, "--redis", url) as b:
            yield a, b


@pytest.fixture(scope="module")
def redis_pair(request, sim, redis_url):
    with worker(sim, "--redis", redis_url) as a, worker(sim, "--redis", redis_url) as b:
        yield a, b


# ---------- 读写 run 的小工具 ----------


def start_run(app, text: str, **headers: str) -> httpx.Response:
    return httpx.post(f"{app.url}/runs", json=user(text), headers=headers, timeout=10)


def new_run(app, text: str) -> str:
    response = start_run(app, text)
    assert response.status_code == 202, response.text
    return response.json()["run_id"]


def read_run(app, run_id: str, last_id: str | None = None, *, stop_after: int | None = None,
             query: bool = False) -> tuple[httpx.Response, list]:  # fmt: skip
    """读一个 run 的事件; stop_after: 收到这么多个就断开 (像刷新页面)。"""
    url, headers = f"{app.url}/runs/{run_id}/stream", {}
    if last_id is not None and query:
        url += f"?last_event_id={last_id}"
    elif last_id is not None:
        headers["Last-Event-ID"] = last_id
    decoder, events = sse.SSEDecoder(), []
    with httpx.stream("GET", url, headers=headers, timeout=30) as response:
        if response.status_code != 200:
            response.read()
            return response, []
        for chunk in response.iter_bytes():
            events += decoder.feed(chunk)
            if stop_after is not None and len(events) >= stop_after:
                break
    return response, events


def ids(events) -> list[int]:
    return [int(e.id) for e in events]


def wait_until(condition, deadline: float, what: str) -> None:
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, f"{deadline} 秒内没有等到: {what}"
        time.sleep(0.05)


# ---------- 同一组行为, 两种日志 ----------


def test_a_run_starts_at_once_and_every_event_carries_its_log_position(pair):
    writer, reader = pair
    response = start_run(writer, "你好")
    assert response.status_code == 202
    body = response.json()
    assert body["stream_url"] == f"/runs/{body['run_id']}/stream"
    _, events = read_run(reader, body["run_id"])
    assert ids(events) == list(range(1, len(events) + 1)), "id 就是位置: 1, 2, 3, ……"
    assert texts(events, "reasoning") == REASONING and texts(events, "delta") == ANSWER
    assert events[-1].event == "done"
    done = json.loads(events[-1].data)
    assert len(events) < done["tokens"] / 3, "每个时间窗口追加一次, 而不是每个 token 一次"


def test_resuming_after_any_event_gives_exactly_the_rest(pair):
    writer, reader = pair
    run_id = new_run(writer, f"/echo {ECHO}")
    _, everything = read_run(reader, run_id)
    assert everything[-1].event == "done"
    for k in range(len(everything)):
        _, rest = read_run(
            reader, run_id, str(k), query=k % 2 == 1
        )  # 请求头和 ?last_event_id= 都行
        assert ids(rest) == list(range(k + 1, len(everything) + 1)), f"从 {k} 之后"
        assert [e.data for e in rest] == [e.data for e in everything[k:]]


def test_a_reader_who_leaves_mid_answer_comes_back_to_the_rest(pair, sim):
    writer, reader = pair
    before = cancelled(stats_url(sim))
    run_id = new_run(writer, "你好")
    _, first = read_run(reader, run_id, stop_after=3)  # 读了 3 个事件就走了 (刷新页面)
    _, rest = read_run(reader, run_id, first[-1].id)
    events = first[:3] + rest
    assert ids(events) == list(range(1, len(events) + 1)), "不重复, 不遗漏"
    assert texts(events, "reasoning") == REASONING and texts(events, "delta") == ANSWER
    assert cancelled(stats_url(sim)) == before, "读者走了, 生成照样进行 (上游没有被取消)"


@pytest.mark.parametrize("garbage", ["abc", "-1", "1e3", "٣", "9999999999", "99999", " 2", "2\x00"])
def test_an_id_we_cannot_understand_starts_from_the_beginning(pair, garbage):
    writer, reader = pair
    run_id = new_run(writer, "/echo 短短的回答")
    _, events = read_run(reader, run_id, garbage.replace("\x00", "%00"), query=True)
    assert ids(events)[0] == 1 and events[-1].event == "done"


def test_after_the_final_event_a_reconnection_gets_204(pair):
    writer, reader = pair
    run_id = new_run(writer, "/echo 读完了")
    _, events = read_run(reader, run_id)
    response, more = read_run(reader, run_id, events[-1].id)
    assert response.status_code == 204 and more == []


@pytest.mark.parametrize("run_id", ["no-such-run", "r" + "x" * 20])
def test_an_unknown_run_is_404_with_a_clear_message(pair, run_id):
    _, reader = pair
    response, _ = read_run(reader, run_id)
    assert response.status_code == 404 and "找不到这个回答" in response.json()["error"]
    cancel = httpx.post(f"{reader.url}/runs/{run_id}/cancel")
    assert cancel.status_code == 404
    assert httpx.get(f"{reader.url}/runs/..%2F..%2Fetc/stream").status_code == 404


def test_cancel_stops_the_upstream_within_a_second_whichever_worker_gets_it(pair, sim):
    writer, reader = pair
    before = cancelled(stats_url(sim))
    run_id = new_run(writer, "/long")
    _, first = read_run(reader, run_id, stop_after=2)
    response = httpx.post(f"{reader.url}/runs/{run_id}/cancel")  # Redis: 发给另一个 worker
    assert response.status_code == 202
    wait_for_count(stats_url(sim), before, deadline=1.0)  # 上游在一秒内被取消
    _, events = read_run(reader, run_id)
    assert events[-1].event == "error" and json.loads(events[-1].data)["reason"] == "cancelled"
    assert texts(events, "delta").startswith(texts(first, "delta")), "已经生成的文字还在"
    again = httpx.post(f"{reader.url}/runs/{run_id}/cancel")
    assert again.status_code == 200 and again.json()["state"] == "finished"


def test_an_idempotency_key_returns_the_same_run(pair, sim):
    writer, reader = pair
    key = f"page-{time.monotonic_ns()}"
    started = httpx.get(stats_url(sim)).json()["streams_started"]
    first = start_run(writer, "/echo 只生成一次", **{"Idempotency-Key": key})
    second = start_run(
        reader, "/echo 只生成一次", **{"Idempotency-Key": key}
    )  # 重试, 也许落在另一个 worker
    assert first.status_code == 202 and second.status_code == 200
    assert second.json()["run_id"] == first.json()["run_id"] and second.json()["replayed"]
    _, events = read_run(reader, first.json()["run_id"])
    assert texts(events, "delta") == "只生成一次"
    assert httpx.get(stats_url(sim)).json()["streams_started"] == started + 1, "模型只被请求了一次"
    other = start_run(writer, "/echo 另一个问题", **{"Idempotency-Key": key})
    assert other.status_code == 422 and "另一个请求" in other.json()["error"]
    bad = start_run(writer, "/echo x", **{"Idempotency-Key": "k" * 201})
    assert bad.status_code == 400


@pytest.mark.parametrize(("body", "status"), [(b"{bad", 400), (b'{"messages": []}', 422)])
def test_bad_input_is_refused_before_any_run_exists(pair, body, status):
    writer, _ = pair
    response = httpx.post(f"{writer.url}/runs", content=body, headers={"Content-Type": "application/json"})  # fmt: skip
    assert response.status_code == status and "error" in response.json()


def test_an_upstream_failure_mid_answer_keeps_the_text_and_ends_with_error(pair):
    writer, reader = pair
    _, events = read_run(reader, new_run(writer, "/error"))
    assert texts(events, "delta") and events[-1].event == "error"
    assert "不完整" in json.loads(events[-1].data)["message"]


def test_the_page_learns_that_runs_are_available(pair):
    _, reader = pair
    config = httpx.get(f"{reader.url}/config").json()
    assert config["runs"] is True and config["model"] == "sim"


@pytest.fixture(scope="module", params=["memory", "redis"])
def short(request, sim):
    """结束后只保留 1 秒、最多生成 1.5 秒的 worker。"""
    args = ["--ttl", "1", "--max-run-time", "1.5"]
    if request.param == "redis":
        args += ["--redis", request.getfixturevalue("redis_url")]
    with worker(sim, *args) as app:
        yield app


def test_a_run_longer_than_its_limit_is_stopped(short, sim):
    before = cancelled(stats_url(sim))
    _, events = read_run(short, new_run(short, "/long"))
    assert texts(events, "delta") and events[-1].event == "error"
    assert "最长生成时间" in json.loads(events[-1].data)["message"]
    wait_for_count(stats_url(sim), before, deadline=1.0)


def test_a_finished_run_expires_after_its_ttl(short):
    run_id = new_run(short, "/echo 很快就忘了")
    assert read_run(short, run_id)[1][-1].event == "done"
    wait_until(lambda: read_run(short, run_id)[0].status_code == 404, 10, "run 过期 (404)")


# ---------- 日志本身: 同样的语义, 两种实现 (在测试进程里直接调用) ----------


@pytest.fixture(params=["memory", "redis"])
def make_store(request):
    def build(**options):
        opts = runs.RunOptions(**options)
        if request.param == "memory":
            return runs.MemoryStore(opts)
        return runs.RedisStore(request.getfixturevalue("redis_url"), opts)

    return build


def run_async(coro):
    return asyncio.run(asyncio.wait_for(coro, 20))


def test_store_numbers_events_refuses_a_second_ending_and_caps_the_log(make_store):
    async def scenario():
        store = make_store(max_events=6)
        await store.start(lambda run_id: None)
        run_id = runs.new_run_id(None)
        try:
            assert await store.create(run_id, "me", "fp") is None
            assert await store.create(run_id, "me", "other") == "fp", "已经有了: 返回它的指纹"
            assert await store.append(run_id, [("delta", {"text": "a"}), ("delta", {"text": "b"})]) == 2  # fmt: skip
            assert await store.append(run_id, [("delta", {"text": "c"})] * 3) == 5
            assert await store.append(run_id, [("delta", {"text": "d"})]) == runs.CAPPED, "满了"
            assert await store.append(run_id, [("done", {})], final=True) == runs.FINISHED
            entries = await store.read(run_id, 0, 0)
            assert [p for p, _, _ in entries] == [1, 2, 3, 4, 5, 6]
            assert (
                entries[-1][1] == "error" and "最多 6 条" in json.loads(entries[-1][2])["message"]
            )
            assert await store.read(run_id, 3, 0) == entries[3:]
            state = await store.state(run_id)
            assert state.finished and state.last == 6
            assert await store.append("nobody", [("done", {})], final=True) == runs.NO_RUN
        finally:
            await store.close()

    run_async(scenario())


def test_a_run_cut_late_on_a_busy_machine_still_gets_its_ending(make_store):
    """到点的 run 要写下 error; 机器很忙时, 计时器和这次追加可能晚到。日志不能在这之前过期 (第一版 Redis 只多留了 0.5 秒)。"""

    async def scenario():
        store = make_store(max_run_time=1.5, ttl=1)
        await store.start(lambda run_id: None)
        run_id = runs.new_run_id(None)
        try:
            await store.create(run_id, "me", "fp")
            await store.append(run_id, [("delta", {"text": "部分"})])
            await asyncio.sleep(1.5 + 0.7)  # 计时器晚了 0.7 秒
            ending = [("error", {"message": "超时", "reason": "timeout"})]
            assert await store.append(run_id, ending, True) == 2, "结尾写得进去"
        finally:
            await store.close()

    run_async(scenario())


def test_store_read_waits_for_the_next_append_and_gives_up_after_wait(make_store):
    async def scenario():
        store = make_store()
        await store.start(lambda run_id: None)
        run_id = runs.new_run_id(None)
        try:
            await store.create(run_id, "me", "fp")
            assert await store.read(run_id, 0, 0.2) == [], "没有新事件: 等 0.2 秒后返回空"
            waiting = asyncio.ensure_future(store.read(run_id, 0, 10))
            await asyncio.sleep(0.1)
            assert not waiting.done()
            await store.append(run_id, [("delta", {"text": "来了"})])
            entries = await asyncio.wait_for(waiting, 5)
            assert entries == [(1, "delta", '{"text": "来了"}')]
        finally:
            await store.close()

    run_async(scenario())


def test_an_orphan_is_finished_exactly_once_and_only_after_its_lease(redis_url):
    async def scenario():
        store = runs.RedisStore(redis_url, runs.RunOptions(lease=0.3))
        await store.start(lambda run_id: None)
        run_id = runs.new_run_id(None)
        ending = [("error", {"message": "主人死了"})]
        try:
            await store.create(run_id, "dead", "fp")
            await store.append(run_id, [("delta", {"text": "部分"})])
            assert await store.append(run_id, ending, True, orphan_only=True) == runs.OWNER_ALIVE
            await asyncio.sleep(0.4)  # 没有人续租
            results = await asyncio.gather(*(store.append(run_id, ending, True, orphan_only=True) for _ in range(10)))  # fmt: skip
            assert sorted(results) == [runs.FINISHED] * 9 + [2], (
                "十个读者同时发现, 只有一个写下结尾"
            )
        finally:
            await store.close()

    run_async(scenario())


def test_an_unreachable_redis_is_reported_before_the_server_says_it_started():
    done = run_script(
        "08", "--port", "0", "--redis", f"redis://127.0.0.1:{unused_port()}/0", timeout=30
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "服务已启动" not in done.stdout, "连不上 Redis 时不能先说'已启动'"
    assert (
        "连不上 Redis" in done.stdout + done.stderr and "redis-server" in done.stdout + done.stderr
    )


@asynccontextmanager
async def in_process_worker(sim, slots: int):
    """在测试自己的事件循环里的一个 worker (内存日志), 模型是模拟模型进程。离开时停掉它的 run、关掉客户端。"""
    options = runs.RunOptions()
    target = runs.oa.Target(f"{sim.url}/v1", "key", "sim")
    service = runs.chat.Service(runs.chat.Settings(target=target), runs.chat.StreamLimit(slots))
    service.client = runs.oa.openai.AsyncOpenAI(api_key="key", base_url=target.base_url)
    worker = runs.Worker(service, runs.MemoryStore(options), options)
    try:
        yield worker
    finally:
        for run in list(worker.runs.values()):
            run.cancel("cancelled")
            await asyncio.gather(run.task, return_exceptions=True)
        await service.client.close()


def test_a_stop_that_races_the_end_of_a_run_never_keeps_its_slot(sim, monkeypatch):
    """停止恰好落在 run 收尾的时候 (它已经写下 done, 正在关闭到模型的连接): 名额照样归还, run 照样离开 worker.runs。
    第一版里这次取消打断了收尾, 名额永远不还 —— 一个 worker 被这样碰上 max_streams 次就再也不接新的 run。"""
    original = runs.chat.Relay.aclose

    async def slow_aclose(self):
        await asyncio.sleep(0.1)  # 收尾时的每一次 await 都是一个窗口
        await original(self)

    monkeypatch.setattr(runs.chat.Relay, "aclose", slow_aclose)

    async def scenario():
        async with in_process_worker(sim, slots=40) as worker:
            service = worker.service
            for i in range(16):  # 在收尾的不同时刻按停止
                service.limit.acquire()
                run_id = f"race{i}"
                await worker.store.create(run_id, "me", "fp")
                run = worker.runs[run_id] = runs.Run(worker, run_id, user("/echo 字")["messages"])
                # 像读者一样看日志: 结尾写下了没有
                while not (await worker.store.state(run_id)).finished:  # noqa: ASYNC110
                    await asyncio.sleep(0.005)
                await asyncio.sleep(i * 0.02)
                run.cancel("cancelled")
                await asyncio.gather(run.task, return_exceptions=True)
            assert service.limit.active == 0, f"{service.limit.active} 个名额没有归还"
            assert worker.runs == {}

    run_async(scenario())


def test_an_idempotent_retry_is_answered_even_when_the_server_is_full(sim):
    """幂等键存在就是为了"响应丢了, 再发一次": 那时服务器可能正满着 (满的原因之一就是那个 run)。重发不占名额, 回 200。"""

    async def scenario():
        async with in_process_worker(sim, slots=1) as worker:
            transport = httpx.ASGITransport(app=runs.FrontDoor(worker))
            async with httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1"
            ) as client:
                key = {"Idempotency-Key": "retry-1"}
                first = await client.post("/runs", json=user("/long"), headers=key)
                assert first.status_code == 202
                other = await client.post("/runs", json=user("/long"))
                assert other.status_code == 503, "满了: 新的 run 照样被拒绝"
                again = await client.post("/runs", json=user("/long"), headers=key)
                assert again.status_code == 200, again.text
                assert again.json()["run_id"] == first.json()["run_id"] and again.json()["replayed"]
                changed = await client.post("/runs", json=user("/long 别的"), headers=key)
                assert changed.status_code == 422, "同一个键, 不同的请求"
            assert worker.service.limit.active == 1, "重发没有占名额"

    run_async(scenario())


def test_a_draining_worker_refuses_new_runs_with_a_clear_503():
    options = runs.RunOptions()
    worker = runs.Worker(runs.chat.Service(settings(), runs.chat.StreamLimit(10)), runs.MemoryStore(options), options)  # fmt: skip
    runs.start_draining(worker)

    async def post():
        transport = httpx.ASGITransport(app=runs.FrontDoor(worker))
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            return await client.post("/runs", json=user("你好"))

    response = asyncio.run(post())
    assert response.status_code == 503 and "正在关闭" in response.json()["error"]
    assert response.headers["retry-after"] == "1"


def settings():
    target = runs.oa.Target("http://127.0.0.1:9/v1", "key", "m")
    return runs.chat.Settings(target=target)


# ---------- 多个进程: 只有 Redis 日志才做得到 ----------


def test_a_reader_on_another_worker_gets_the_whole_run(redis_pair):
    a, b = redis_pair
    response = start_run(a, "你好")
    assert response.json()["worker"] == f"127.0.0.1:{a.port}"
    stream, events = read_run(b, response.json()["run_id"])
    assert stream.headers["x-served-by"] == f"127.0.0.1:{b.port}"
    assert texts(events, "delta") == ANSWER and events[-1].event == "done"


def test_a_run_that_vanishes_mid_read_ends_with_an_error_not_silence(redis_pair, redis_url):
    """日志在读者读到一半时没了 (过期、被删): 读者收到一条 error, 而不是流无声地结束。"""
    import redis

    a, _ = redis_pair
    run_id = new_run(a, "/long")
    decoder, events = sse.SSEDecoder(), []
    with redis.Redis.from_url(redis_url) as client, httpx.stream("GET", f"{a.url}/runs/{run_id}/stream", timeout=30) as response:  # fmt: skip
        for chunk in response.iter_bytes():
            events += decoder.feed(chunk)
            if len(events) >= 3:
                client.delete(*runs.keys(run_id))
    assert texts(events, "delta") and events[-1].event == "error", [e.event for e in events[-3:]]
    assert "过期" in json.loads(events[-1].data)["message"]


def test_sigterm_tells_readers_on_the_same_worker_why_their_stream_ends(sim):
    """内存日志 (默认): 读者和生成者在同一个进程里。SIGTERM 之后, 读者在连接关闭之前收到 shutdown 的 error, 而不是被掐断。"""
    with worker(sim, "--shutdown-grace", "1") as app:
        run_id = new_run(app, "/long")
        decoder, events, signalled = sse.SSEDecoder(), [], False
        with httpx.stream("GET", f"{app.url}/runs/{run_id}/stream", timeout=30) as response:
            for chunk in response.iter_bytes():
                events += decoder.feed(chunk)
                if len(events) >= 3 and not signalled:
                    signalled = True
                    app.proc.send_signal(signal.SIGTERM)
        assert events[-1].event == "error", [e.event for e in events[-3:]]
        assert json.loads(events[-1].data)["reason"] == "shutdown"


def test_losing_redis_mid_read_ends_the_stream_with_an_error(sim, tmp_path):
    """Redis 在读者读到一半时没了: 读者收到一条 error (可以稍后带着 Last-Event-ID 重连), 而不是连接被掐断。"""
    import redis

    with (
        services.redis_server(tmp_path, need("redis-server")) as url,
        worker(sim, "--redis", url) as app,
    ):
        run_id = new_run(app, "/long")
        decoder, events = sse.SSEDecoder(), []
        with httpx.stream("GET", f"{app.url}/runs/{run_id}/stream", timeout=30) as response:
            for chunk in response.iter_bytes():
                events += decoder.feed(chunk)
                if len(events) >= 3 and not any(e.event == "error" for e in events):
                    with contextlib.suppress(redis.ConnectionError):
                        redis.Redis.from_url(url).shutdown(nosave=True)
        assert texts(events, "delta") and events[-1].event == "error", [
            e.event for e in events[-3:]
        ]
        assert "Last-Event-ID" in json.loads(events[-1].data)["message"]


def test_a_killed_worker_ends_its_runs_with_one_error_within_the_lease(sim, redis_url, redis_pair):
    a, b = redis_pair
    with worker(sim, "--redis", redis_url) as doomed:
        run_id = new_run(doomed, "/long")
        _, first = read_run(a, run_id, stop_after=2)
        doomed.proc.kill()  # SIGKILL: 没有任何收尾的机会
        killed = time.monotonic()
        results = {}

        def follow(app):
            results[app.port] = read_run(app, run_id, first[-1].id)[1]

        import threading

        threads = [threading.Thread(target=follow, args=(app,)) for app in (a, b)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=LEASE + 15)
        waited = time.monotonic() - killed
    assert waited < LEASE + 10, f"{waited:.1f} 秒才收到结尾"
    endings = []
    for events in results.values():
        assert events and events[-1].event == "error", "两个读者都收到了结尾"
        assert json.loads(events[-1].data)["reason"] == "orphaned"
        endings.append(events[-1].id)
    assert len(set(endings)) == 1, "结尾只写了一次: 两个读者看到的是同一条"
    _, everything = read_run(a, run_id)
    assert [e.event for e in everything].count("error") == 1
    assert texts(everything, "delta").startswith(texts(first, "delta")), "部分回答还在"
    assert read_run(b, run_id, everything[-1].id)[0].status_code == 204


def test_sigterm_finishes_or_marks_its_own_runs_and_exits_in_bounded_time(sim, redis_url, redis_pair):  # fmt: skip
    a, _ = redis_pair
    with worker(sim, "--redis", redis_url, "--shutdown-grace", "1.5") as leaving:
        short_run = new_run(leaving, f"/echo {'短' * 30}")  # 宽限期内说得完
        long_run = new_run(leaving, "/long")  # 说不完
        read_run(a, long_run, stop_after=1)
        leaving.proc.send_signal(signal.SIGTERM)
        start = time.monotonic()
        leaving.proc.wait(timeout=15)
        took = time.monotonic() - start
        with pytest.raises(httpx.ConnectError):
            start_run(leaving, "你好")  # 不再接受新的请求
    assert leaving.proc.returncode == 0 and "服务器已停止" in leaving.text()
    assert took < 1.5 + 5, f"SIGTERM 之后 {took:.1f} 秒才退出"
    _, done = read_run(a, short_run)
    assert done[-1].event == "done" and texts(done, "delta") == "短" * 30
    _, cut = read_run(a, long_run)
    assert cut[-1].event == "error" and json.loads(cut[-1].data)["reason"] == "shutdown"


# ---------- nginx ----------


@pytest.fixture(scope="module")
def nginx(redis_pair, tmp_path_factory):
    binary = need("nginx")
    a, b = redis_pair
    with services.nginx_server(tmp_path_factory.mktemp("nginx"), [a.port, b.port], binary) as port:
        yield f"http://127.0.0.1:{port}"


def test_resume_through_nginx_lands_on_the_other_worker_with_no_dup_and_no_gap(nginx):
    proxy = type("Proxy", (), {"url": nginx})
    run_id = new_run(proxy, f"/echo {ECHO}")
    events, servers = [], []
    while not events or events[-1].event not in runs.TERMINAL:
        response, more = read_run(proxy, run_id, events[-1].id if events else None, stop_after=3)
        servers.append(response.headers.get("x-served-by"))
        events += more
        assert len(servers) < 100
    assert len(set(servers)) == 2, f"续传落在了两个 worker 上: {servers}"
    assert ids(events) == list(range(1, len(events) + 1)) and texts(events, "delta") == ECHO


def test_nginx_buffering_bites_without_the_header_and_not_with_it():
    binary = need("nginx")
    cases = [nginx_buffering.Case("h11", True, "1.0"), nginx_buffering.Case("h11", False, "1.0"),
             nginx_buffering.Case("h11", False, "1.1")]  # fmt: skip
    results = nginx_buffering.run_cases(cases, 10, 0.1, 60, binary)
    with_header, without, http11 = (results[c] for c in cases)
    for r in results.values():
        assert r.events == 10, "每个事件都到了"
    assert with_header.first < with_header.total / 4 and with_header.reads >= 10
    assert without.first > without.total * 0.8, "没有那个响应头: nginx 把整条流攒到了最后"
    assert without.reads <= 3
    assert http11.first < http11.total / 4, "HTTP/1.1 到上游: 分块传输, 每块一到就转发"


# ---------- 浏览器: 刷新页面, 回答接着流, 一个字也不重复 ----------


@pytest.mark.browser
def test_browser_reload_mid_answer_shows_it_whole_and_continues_live(page, sim):
    with worker(sim) as app:
        started = httpx.get(stats_url(sim)).json()["streams_started"]
        posts = []
        page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
        page.goto(app.url + "/")
        text = "刷新" * 150  # 约 190 个 token, 每 0.01 秒一个
        send(page, f"/echo {text}")
        page.wait_for_function("() => document.querySelector('[data-testid=answer]')?.textContent.length > 10")  # fmt: skip
        page.reload()
        answer = page.get_by_test_id("answer").first
        page.wait_for_function("() => document.querySelector('[data-testid=answer]')?.textContent.length > 0")  # fmt: skip
        page.wait_for_selector("article.assistant[data-done=true]", timeout=30_000)
        assert answer.inner_text() == text, "刷新之前的部分 + 之后的部分, 不多不少"
        assert page.locator("article.user").first.inner_text() == f"/echo {text}", "问题也还在"
        assert httpx.get(stats_url(sim)).json()["streams_started"] == started + 1, "没有重新生成"
        assert [u for u in posts if u.endswith("/runs")] == [app.url + "/runs"]
        page.reload()  # 回答结束之后再刷新: 没有什么要续的
        page.wait_for_function("() => document.querySelector('[data-testid=model]').textContent.includes('sim')")  # fmt: skip
        assert page.locator("article.assistant").count() == 0


@pytest.mark.browser
def test_browser_stop_cancels_the_run(page, sim):
    with worker(sim) as app:
        before = cancelled(stats_url(sim))
        posts = []
        page.on("request", lambda r: posts.append(r.url) if r.method == "POST" else None)
        page.goto(app.url + "/")
        send(page, "/long")
        page.wait_for_function("() => document.querySelector('[data-testid=answer]')?.textContent.length > 20")  # fmt: skip
        page.get_by_test_id("stop").click()
        wait_for_count(stats_url(sim), before, deadline=1.0)
        page.wait_for_selector("article.assistant[data-done=true]")
        assert page.get_by_test_id("status").first.inner_text() == "已停止"
        assert any(u.endswith("/cancel") for u in posts)
