"""tools/bench_relays.py 与 tools/relay_bench/: 上游的时间戳能解析, 各个 relay 对同一个上游输出相同的事件,
整个基准能跑完并且每个 relay 都送到了每一个 token。只检查正确性, 不对时间下断言。"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from conftest import ROOT, child_env, load_script
from openai import OpenAI

sys.path.insert(0, str(ROOT / "tools"))
sys.path.insert(0, str(ROOT / "tools" / "relay_bench"))
import procs  # noqa: E402
from upstream import parse_control, parse_stamps  # noqa: E402

sse = load_script("04")
SERVE = ROOT / "tools" / "relay_bench" / "serve.py"
PEERS = ["raw", "usual", "sse-starlette", "fastapi.sse"]


def stop(proc: subprocess.Popen[str]) -> None:
    proc.terminate()
    proc.wait(timeout=10)
    assert proc.stdout
    proc.stdout.close()


@pytest.fixture(scope="module")
def upstream():
    """带时间戳的上游, 单独一个进程; 返回它的 URL。"""
    proc, url, _ = procs.start(str(SERVE), "upstream")
    try:
        yield url
    finally:
        stop(proc)


@pytest.fixture(scope="module")
def peers(upstream):
    """4 个对照 relay, 各自一个进程, 同时启动 (省时间); 返回 {名字: URL}。"""
    base = f"{upstream}/v1"
    with ThreadPoolExecutor(len(PEERS)) as pool:
        futures = [pool.submit(procs.start, str(SERVE), name, "--base-url", base) for name in PEERS]
    started = [f.result() for f in futures if f.exception() is None]
    try:
        assert len(started) == len(PEERS), [f.exception() for f in futures]
        yield {name: url for name, (_, url, _) in zip(PEERS, started, strict=True)}
    finally:
        for proc, _, _ in started:  # 启动成功的一定停掉, 哪怕别的没有启动起来
            stop(proc)


def test_control_line_is_parsed_with_defaults():
    assert parse_control("/bench tokens=5 interval=0 id=x clock=seq") == {
        "tokens": 5, "interval": 0.0, "id": "x", "clock": "seq"
    }  # fmt: skip
    assert parse_control("你好")["tokens"] == 100  # 不是 /bench: 全用默认值
    assert parse_control("/bench tokens=abc interval=oops")["interval"] == 0.05
    assert parse_stamps("00000000000000000001|00000000000000000002|") == [1, 2]


def test_upstream_stamps_are_emission_times_and_the_sdk_parses_every_chunk(upstream):
    client = OpenAI(api_key="x", base_url=f"{upstream}/v1", max_retries=0)
    before = time.monotonic_ns()
    stream = client.chat.completions.create(
        model="bench",
        messages=[{"role": "user", "content": "/bench tokens=5 interval=0.01"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    with stream:
        chunks = list(stream)
    after = time.monotonic_ns()
    client.close()
    texts = [c.choices[0].delta.content for c in chunks if c.choices and c.choices[0].delta.content]
    stamps = [stamp for text in texts for stamp in parse_stamps(text)]
    assert len(texts) == len(stamps) == 5  # 每个 delta 一个 token
    assert before < stamps[0] < stamps[-1] < after  # 同一个 CLOCK_MONOTONIC: 跨进程可以直接比较
    assert stamps == sorted(stamps)
    assert [c.choices[0].finish_reason for c in chunks if c.choices][-1] == "stop"
    assert chunks[-1].usage and chunks[-1].usage.completion_tokens == 5


def test_upstream_records_when_it_saw_a_cancel(upstream):
    url = upstream
    body = {"model": "bench", "stream": True,
            "messages": [{"role": "user", "content": "/bench tokens=1000 interval=0.05 id=t1"}]}  # fmt: skip
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=10) as response:
        lines = response.iter_lines()  # 留住生成器: 它被回收时会提前关闭响应
        next(lines)
        closed = time.monotonic_ns()  # 离开 with 时连接才关闭: 上游发现的时刻一定在这之后
    for _ in range(200):
        seen = httpx.get(f"{url}/stats").json()["cancels"]
        if "t1" in seen:
            break
        time.sleep(0.01)
    assert seen["t1"] >= closed


def peer_events(url: str) -> list[tuple[str, object]]:
    body = {"messages": [{"role": "user", "content": "/bench tokens=5 interval=0 clock=seq"}]}
    response = httpx.post(f"{url}/chat", json=body, timeout=30)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    return [(e.event, json.loads(e.data)) for e in sse.SSEDecoder().feed(response.content)]


def test_every_peer_relay_emits_the_same_events(peers):
    expected = [("delta", {"text": f"{i:020d}|"}) for i in range(5)]
    expected.append(("done", {"finish_reason": "stop"}))
    for name in PEERS:  # clock=seq: 时间戳换成 0,1,2…, 所以可以逐字比较
        assert peer_events(peers[name]) == expected, name


@pytest.mark.smoke
def test_quick_benchmark_runs_and_every_relay_delivers_every_token(tmp_path):
    report = tmp_path / "relays.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "bench_relays.py"), "--quick",
         "--only", "raw,usual,06", "--json", str(report)],
        capture_output=True, text=True, encoding="utf-8", env=child_env(), timeout=55, cwd=ROOT,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "CPU/token" in result.stdout and "× raw" in result.stdout
    data = json.loads(report.read_text(encoding="utf-8"))
    assert data["errors"] == []
    assert set(data["summary"]) == {"raw", "usual", "06"}
    for name, row in data["summary"].items():
        assert row["tokens_delivered"] == row["tokens_expected"] > 0, name
        assert row["streams_complete"] == row["streams"], name
        assert row["requests_complete"] == row["requests"], name
        assert row["burst_complete"] == row["burst"], name
    assert data["summary"]["raw"]["cancel_seen"] == data["summary"]["raw"]["cancel_total"]
