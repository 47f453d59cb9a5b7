"""tools/ 下的共用小工具: 启动子进程要有期限, 子进程的输出要有人读。"""

from __future__ import annotations

import sys
import textwrap
import time

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import procs  # noqa: E402


def script(tmp_path, body: str):
    path = tmp_path / "child.py"
    path.write_text(textwrap.dedent(body), encoding="utf-8")
    return path


def test_start_gives_up_at_its_deadline(tmp_path):
    silent = script(tmp_path, "import time\ntime.sleep(60)\n")
    with pytest.raises(RuntimeError, match="没有在 1 秒内启动"):
        procs.start(silent, deadline=1)


def test_start_keeps_reading_so_a_chatty_child_never_blocks(tmp_path):
    done = tmp_path / "done"
    chatty = script(
        tmp_path,
        f"""
        import pathlib, time
        print("服务已启动: http://127.0.0.1:1", flush=True)
        for _ in range(20000):
            print("x" * 100)  # 2 MB: 远远超过一个管道的缓冲
        pathlib.Path({str(done)!r}).write_text("ok")
        time.sleep(60)
        """,
    )
    proc, url, port = procs.start(chatty, deadline=10)
    try:
        end = time.monotonic() + 20
        while not done.exists():
            assert time.monotonic() < end, "子进程卡在写输出上: 没有人读它的管道"
            time.sleep(0.05)
        assert (url, port) == ("http://127.0.0.1:1", 1)
    finally:
        proc.kill()
        proc.wait()


def test_token_vs_chunk_runs_and_every_strategy_delivers_the_whole_answer():
    import subprocess

    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "token_vs_chunk.py"), "--token-delay", "0.001", "--repeat", "1"],
        capture_output=True, text=True, timeout=50,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "按数量" in result.stdout and "时间窗口" in result.stdout


def test_langchain_cost_runs():
    import subprocess

    result = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "langchain_cost.py"), "--tokens", "300", "--repeat", "1"],
        capture_output=True, text=True, timeout=50,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "LangChain astream_events" in result.stdout
