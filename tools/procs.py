"""tools/ 下的基准和负载脚本共用的小工具: 启动一个课程脚本、读进程的 CPU、按路径导入课程。"""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"


def start(
    script: str | Path, *args: str, deadline: float = 30
) -> tuple[subprocess.Popen[str], str, int]:
    """在空闲端口上启动 examples/<script> (或任何打印就绪行的脚本, 写绝对路径), 等到就绪行; 返回 (进程, URL, 端口)。
    就是 examples/local_services.py 的 start_script (08 的 --demo 也用它): 不带 OPENAI_*, 超时报错带输出, 之后的输出读走丢掉。"""
    proc, port = load_example("local_services.py").start_script(
        EXAMPLES / script, *args, deadline=deadline
    )
    return proc, f"http://127.0.0.1:{port}", port


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
