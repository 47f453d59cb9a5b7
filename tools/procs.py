"""tools/ 下的基准和负载脚本共用的小工具: 启动一个课程脚本、读进程的 CPU、按路径导入课程。"""

from __future__ import annotations

import importlib
import os
import queue
import re
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
READY = re.compile(r"服务已启动: (http://127\.0\.0\.1:(\d+))")


def start(
    script: str | Path, *args: str, deadline: float = 30
) -> tuple[subprocess.Popen[str], str, int]:
    """在空闲端口上启动 examples/<script> (或任何打印就绪行的脚本), 等到就绪行; 返回 (进程, URL, 端口)。

    不带 OPENAI_* 变量。期限内没有就绪行就停掉它并报错。之后它打印的一切由一个后台线程读走并丢弃:
    没有人读的管道一旦写满 (约 64 KB), 子进程的下一次 print 就会永远卡住。"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / script), "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        encoding="utf-8",
        env=env,
    )
    lines: queue.Queue[str | None] = queue.Queue()
    started = threading.Event()
    reader = threading.Thread(target=_drain, args=(proc, lines, started), daemon=True)
    reader.start()
    end = time.monotonic() + deadline
    seen = []
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
            return proc, m[1], int(m[2])
    proc.kill()
    proc.wait()
    reader.join()
    raise RuntimeError(f"{script} 没有在 {deadline} 秒内启动, 输出:\n{''.join(seen)}")


def _drain(proc: subprocess.Popen[str], lines: queue.Queue[str | None], started: threading.Event):
    """读子进程的输出: 就绪之前交给 start() 找就绪行, 之后读了就丢。"""
    assert proc.stdout
    with proc.stdout:
        for line in proc.stdout:
            if not started.is_set():
                lines.put(line)
    lines.put(None)


def cpu_seconds(pid: int) -> float:
    """这个进程到目前为止用掉的 CPU 时间 (用户态 + 内核态), 来自 /proc。"""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_example(filename: str) -> ModuleType:
    """导入 examples/ 里的模块: 课程脚本用 examples/lesson.py 那个唯一的加载器, 其余的 (openai_sim) 直接 import。"""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))  # 05、06 要 import 同目录的 openai_sim 和 lesson
    import lesson

    stem = Path(filename).stem
    return lesson.load(stem[:2]) if stem[:2].isdigit() else importlib.import_module(stem)
