"""本机的辅助进程: 课程脚本、redis-server、nginx —— 都在 127.0.0.1 的空闲端口上, 用完就停。

第 08 课的 --demo、测试和 tools/ 下的负载脚本共用这一份。要学的只有 start_services 那一段
(第 08 课第 10 节): Redis 和 nginx 都以当前用户在前台运行, 用自己的配置和数据目录, 不碰系统里的服务。
"""

from __future__ import annotations

import os
import queue
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

HOST = "127.0.0.1"  # 只用本机
NGINX_TEMPLATE = Path(__file__).resolve().parent / "nginx" / "08_two_workers.conf"
READY = re.compile(
    r"服务已启动: http://127\.0\.0\.1:(\d+)"
)  # 每个课程脚本 (和模拟模型) 就绪时打印的那一行


def find_binary(name: str) -> str | None:
    """nginx 在 Debian 上装在 /usr/sbin, 普通用户的 PATH 里常常没有它。"""
    return shutil.which(name) or next(
        (
            str(p)
            for d in ("/usr/sbin", "/usr/local/sbin", "/opt/homebrew/bin")
            if (p := Path(d) / name).exists()
        ),  # fmt: skip
        None,
    )


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, deadline: float = 15) -> None:
    end = time.monotonic() + deadline
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise RuntimeError(f"{proc.args[0]} 启动失败 (退出码 {proc.returncode})")
        try:
            socket.create_connection((HOST, port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{proc.args[0]} 在 {deadline:g} 秒内没有开始监听 {port}")


# --8<-- [start:start_services]
@contextmanager
def redis_server(workdir: Path, binary: str = "redis-server") -> Iterator[str]:
    """一个只给这次运行用的 Redis: 本机的空闲端口, 自己的数据目录, 不落盘; 离开时停掉。返回它的 URL。"""
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", HOST, "--dir", str(workdir), "--save", "",
         "--appendonly", "no", "--protected-mode", "yes", "--daemonize", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, proc)
        yield f"redis://{HOST}:{port}/0"
    finally:
        stop_process(proc)


@contextmanager
def nginx_server(workdir: Path, workers: list[int], binary: str = "nginx", template: Path = NGINX_TEMPLATE) -> Iterator[int]:  # fmt: skip
    """nginx, 以当前用户在前台运行: 配置、pid、日志、临时文件都在 workdir 里, 只监听本机。返回它的端口。"""
    port = free_port()
    text = template.read_text(encoding="utf-8")
    for name, value in {"PREFIX": str(workdir), "PORT": str(port),
                        "WORKER1": str(workers[0]), "WORKER2": str(workers[-1])}.items():  # fmt: skip
        text = text.replace(f"@{name}@", value)
    conf = workdir / "nginx.conf"
    conf.write_text(text, encoding="utf-8")
    proc = subprocess.Popen(
        [binary, "-p", str(workdir), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,  # 它的日志在 workdir/error.log
    )  # fmt: skip
    try:
        wait_for_port(port, proc)
        yield port
    finally:
        stop_process(proc)


# --8<-- [end:start_services]


def stop_process(proc: subprocess.Popen, timeout: float = 10) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_script(
    script: Path, *args: str, deadline: float = 30
) -> tuple[subprocess.Popen[str], int]:
    """在空闲端口上启动一个打印就绪行的脚本 (课程脚本、模拟模型), 等到就绪行; 返回 (进程, 端口)。

    不带 OPENAI_* 变量。期限内没有就绪行就停掉它, 报错时带上它的输出。之后它打印的一切由一个后台线程读走并丢弃:
    没有人读的管道一旦写满 (约 64 KB), 子进程的下一次 print 就会永远卡住。"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    env["PYTHONUNBUFFERED"] = "1"
    proc = subprocess.Popen(
        [sys.executable, str(script), "--port", "0", *args], stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, text=True, encoding="utf-8", env=env,
    )  # fmt: skip
    lines: queue.Queue[str | None] = queue.Queue()
    started = threading.Event()
    threading.Thread(target=_drain, args=(proc, lines, started), daemon=True).start()
    end, seen = time.monotonic() + deadline, []
    while (left := end - time.monotonic()) > 0:
        try:
            line = lines.get(timeout=left)
        except queue.Empty:
            break
        if line is None:
            break
        seen.append(line)
        if m := READY.search(line):
            started.set()
            return proc, int(m[1])
    stop_process(proc, timeout=0)
    raise RuntimeError(f"{Path(script).name} 没有在 {deadline} 秒内启动, 输出:\n{''.join(seen)}")


def _drain(
    proc: subprocess.Popen[str], lines: queue.Queue[str | None], started: threading.Event
) -> None:
    """读子进程的输出: 就绪之前交给 start_script() 找就绪行, 之后读了就丢。"""
    assert proc.stdout
    with proc.stdout:
        for line in proc.stdout:
            if not started.is_set():
                lines.put(line)
    lines.put(None)


@contextmanager
def python_server(script: Path, *args: str, deadline: float = 30) -> Iterator[tuple[subprocess.Popen[str], int]]:  # fmt: skip
    """start_script 的 with 写法: 离开时停掉它。"""
    proc, port = start_script(script, *args, deadline=deadline)
    try:
        yield proc, port
    finally:
        stop_process(proc)
