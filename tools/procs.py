"""tools/ 下的基准和负载脚本共用的小工具: 启动一个课程脚本、读进程的 CPU、按路径导入课程。"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
READY = re.compile(r"服务已启动: (http://127\.0\.0\.1:(\d+))")


def start(script: str, *args: str) -> tuple[subprocess.Popen[str], str, int]:
    """在空闲端口上启动 examples/<script> (或一个绝对路径的脚本), 等到就绪行; 返回 (进程, URL, 端口)。

    子进程不带 OPENAI_* 变量。"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    proc = subprocess.Popen(
        [sys.executable, str(EXAMPLES / script), "--port", "0", *args],
        stdout=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        env=env,
    )
    assert proc.stdout
    for line in proc.stdout:
        if m := READY.search(line):
            return proc, m[1], int(m[2])
    raise RuntimeError(f"{script} 没有启动")


def cpu_seconds(pid: int) -> float:
    """这个进程到目前为止用掉的 CPU 时间 (用户态 + 内核态), 来自 /proc。"""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_example(filename: str) -> ModuleType:
    """按路径导入 examples/ 里的课程脚本 (文件名以数字开头, 不能直接 import)。"""
    sys.path.insert(0, str(EXAMPLES))  # 05、06 要 import 同目录的 openai_sim
    spec = importlib.util.spec_from_file_location(
        f"example_{Path(filename).stem}", EXAMPLES / filename
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module
