"""所有课程测试共用的管道代码。

- load_script: 按路径加载 examples/ 里的脚本 (文件名以数字开头, 不能直接 import)。
- start_script: 把脚本当作子进程启动在空闲端口上, 在期限内等它打印就绪行, 结束时一定停掉它。
- run_script: 运行一个会自己结束的脚本, 拿到它的输出。
- 每个测试都看不到 OPENAI_API_KEY 等变量: 测试从不访问网络, 只用模拟模型。
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
# 脚本运行时, 它所在的目录就在 sys.path 里 (所以 05 能 import openai_sim); 按路径加载时也要如此。
sys.path.insert(0, str(EXAMPLES))
import lesson  # noqa: E402  (examples/lesson.py: 全仓库唯一的课程加载器)

# 服务端脚本启动后打印这一行 (带真实端口), 测试等的就是它。
READY = re.compile(r"服务已启动: (?P<url>http://127\.0\.0\.1:(?P<port>\d+))")
OPENAI_VARS = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "OPENAI_MODEL", "OPENAI_ORG_ID")


@pytest.fixture(autouse=True)
def _offline(monkeypatch: pytest.MonkeyPatch) -> None:
    """测试永远不用真实的 key 或真实的服务商。"""
    for name in OPENAI_VARS:
        monkeypatch.delenv(name, raising=False)


def script_path(name: str) -> Path:
    """'03' 或 '03_http_chunked' 都能找到 examples/03_http_chunked.py。"""
    matches = sorted(EXAMPLES.glob(f"{name}*.py"))
    if len(matches) != 1:
        raise LookupError(f"examples/ 里找不到唯一的 {name}*.py: {matches}")
    return matches[0]


def load_script(name: str) -> ModuleType:
    """按编号加载课程脚本为模块: 用 examples/lesson.py 那个唯一的加载器, 和 06 拿到的是同一个对象。"""
    return lesson.load(name[:2])


def unused_port() -> int:
    """一个此刻没有人监听的本机端口: 用来扮演"连不上的服务器"。"""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def child_env(**extra: str) -> dict[str, str]:
    """子进程的环境: 去掉 OpenAI 相关变量, 输出不缓冲, 也不替脚本设好编码。"""
    env = {k: v for k, v in os.environ.items() if k not in OPENAI_VARS}
    env.pop("PYTHONIOENCODING", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env | extra


def run_script(
    name: str, *args: str, timeout: float = 40, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """像学习者一样运行一个会自己结束的脚本 (stdout 是管道, 不是终端)。"""
    return subprocess.run(
        [sys.executable, str(script_path(name)), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        env=child_env(**(env or {})),
        timeout=timeout,
        cwd=ROOT,
    )


@dataclass
class ServerProcess:
    """一个运行中的脚本子进程; output 是它到目前为止打印的所有行。"""

    proc: subprocess.Popen[str]
    url: str = ""
    port: int = 0
    output: list[str] = field(default_factory=list)
    lines: queue.Queue[str | None] = field(default_factory=queue.Queue)

    def wait_for(self, pattern: str | re.Pattern[str], deadline: float = 20) -> re.Match[str]:
        """等待输出中出现匹配 pattern 的一行 (已经打印过的行也算); 超过期限或进程退出则失败。"""
        regex = re.compile(pattern)
        for line in list(self.output):
            if m := regex.search(line):
                return m
        end = time.monotonic() + deadline
        while (left := end - time.monotonic()) > 0:
            try:
                line = self.lines.get(timeout=left)
            except queue.Empty:
                break
            if line is None:
                pytest.fail(f"进程提前退出, 输出:\n{self.text()}")
            if m := regex.search(line):
                return m
        pytest.fail(f"{deadline} 秒内没有等到 {regex.pattern!r}, 输出:\n{self.text()}")

    def text(self) -> str:
        return "".join(self.output)


def _pump(server: ServerProcess) -> None:
    """后台线程: 逐行读取子进程输出, 既保存也放进队列。"""
    assert server.proc.stdout
    for line in server.proc.stdout:
        server.output.append(line)
        server.lines.put(line)
    server.lines.put(None)


def stop(proc: subprocess.Popen[str]) -> None:
    """先像 Ctrl+C 一样温和地停, 不行再强杀。"""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@contextmanager
def start_script(
    name: str, *args: str, deadline: float = 20, env: dict[str, str] | None = None
) -> Iterator[ServerProcess]:
    """在空闲端口 (--port 0) 上启动服务端脚本, 等到就绪行, 结束时停掉它。"""
    with start_path(script_path(name), *args, deadline=deadline, env=env) as server:
        yield server


@contextmanager
def start_path(
    path: Path, *args: str, deadline: float = 20, env: dict[str, str] | None = None
) -> Iterator[ServerProcess]:
    """start_script 的通用版: 任何接受 --port 0、打印就绪行的 Python 脚本 (比如 tests/bad_upstream.py)。"""
    proc = subprocess.Popen(
        [sys.executable, str(path), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        env=child_env(**(env or {})),
        cwd=ROOT,
    )
    server = ServerProcess(proc)
    pump = threading.Thread(target=_pump, args=(server,), daemon=True)
    pump.start()
    try:
        ready = server.wait_for(READY, deadline)
        server.url, server.port = ready["url"], int(ready["port"])
        yield server
    finally:
        stop(proc)
        pump.join(timeout=5)  # 读完最后的输出, 然后才能关闭管道
        assert proc.stdout
        proc.stdout.close()


# 浏览器测试: 用 Playwright 驱动 Chromium。CI 安装 Debian 的 chromium (/usr/bin/chromium);
# 本机没有浏览器时跳过并说明原因, 但在 CI 里 (CI=true) 必须运行, 找不到就失败。
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _chromium_path() -> str | None:
    """CHROMIUM_PATH 优先, 然后是 Debian 的 /usr/bin/chromium; 都没有就用 Playwright 自己装的。"""
    path = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    return path if Path(path).exists() else None


def _no_browser(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"CI 必须运行浏览器测试: {reason}")
    pytest.skip(f"{reason} (Debian/Ubuntu: apt-get install -y chromium)")


@pytest.fixture
def browser():
    # 每个测试一个: Playwright 的同步 API 打开期间, 主线程上有一个运行中的事件循环,
    # 会让其他测试里的 asyncio.run() 失败。
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError:
        _no_browser("没有安装 playwright (python -m pip install -r requirements-dev.txt)")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(
                executable_path=_chromium_path(), args=CHROMIUM_ARGS
            )
        except Error as exc:
            _no_browser(f"启动 Chromium 失败: {str(exc).splitlines()[0]}")
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    yield page
    context.close()
