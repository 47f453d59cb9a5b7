"""在这个进程里, 用一个检查模块检查一个文件。check.py 在子进程里调用它, 并负责超时。

    python exercises/runner.py 检查模块.py 被检查的文件.py

被检查的文件可以是学习者的练习、初始文件或参考答案: 检查只认"传进来的那个模块"。
不是 .py 的文件 (06_safe_render.js) 不导入: 检查拿到的 ex 只有 ex.path, 由检查自己交给浏览器。
检查模块可以定义 teardown(): 全部检查之后 (通过与否) 调用, 比如关掉浏览器。
每项检查按顺序运行, 遇到第一项没通过就停下 (一次只看一个问题)。退出码: 0 全部通过, 1 没通过。
"""

from __future__ import annotations

import asyncio
import importlib.util
import inspect
import os
import sys
import traceback
from collections.abc import Callable, Coroutine
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

from rich.console import Console

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # 检查模块都 import checklib

from checklib import CheckFailed  # noqa: E402

IMPORT_CHECK = "文件能被导入 (没有语法错误, 导入时不出错)"
ASYNC_LIMIT = 5.0  # 一项异步检查最多几秒; 同步代码卡住时由 check.py 的总超时兜底

console = Console(highlight=False, soft_wrap=True)


def load(path: Path, name: str) -> ModuleType:
    """按路径加载模块 (文件名以数字开头, 不能直接 import)。"""
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclass 等需要能按名字找到模块
    spec.loader.exec_module(module)
    return module


def collect(checks: ModuleType) -> list[Callable[[ModuleType], Any]]:
    """检查模块里所有 check_ 开头的函数, 按定义的顺序。"""
    return [fn for name, fn in vars(checks).items() if name.startswith("check_") and callable(fn)]


def title(fn: Callable[..., Any]) -> str:
    return (fn.__doc__ or fn.__name__).strip().splitlines()[0]


async def bounded(
    fn: Callable[[ModuleType], Coroutine[Any, Any, None]], module: ModuleType
) -> None:
    """最多等 ASYNC_LIMIT 秒。检查就在主任务里运行 (不另开任务, 检查才能数出"遗留的任务");
    也不用 wait_for: 学习者的代码自己抛的 TimeoutError 不能被当成"检查超时"。"""
    task = asyncio.current_task()
    assert task
    expired = False

    def expire() -> None:
        nonlocal expired
        expired = True
        task.cancel()

    timer = asyncio.get_running_loop().call_later(ASYNC_LIMIT, expire)
    try:
        await fn(module)
    except asyncio.CancelledError:
        if not expired:
            raise
        raise CheckFailed(
            f"这一项在 {ASYNC_LIMIT:g} 秒内完成",
            f"{ASYNC_LIMIT:g} 秒后还在等待: 是不是在等一个永远不会来的值 (少了结束标记? 没有取消任务?)",
        ) from None
    finally:
        timer.cancel()


def run(fn: Callable[[ModuleType], Any], module: ModuleType) -> None:
    if inspect.iscoroutinefunction(fn):
        asyncio.run(bounded(fn, module))
    else:
        fn(module)


def where(exc: BaseException, target: Path) -> list[str]:
    """异常经过学习者文件的那几行: 给学习者看的简短"调用栈"。"""
    frames = traceback.extract_tb(exc.__traceback__)
    mine = [f for f in frames if f.filename and Path(f.filename).resolve() == target]
    return [f"第 {f.lineno} 行, {f.name}(): {f.line}" for f in mine[-3:]]


def explain(exc: BaseException, target: Path, default_see: str) -> list[tuple[str, str]]:
    """把异常变成 (标签, 内容) 的几行。"""
    if isinstance(exc, CheckFailed):
        return [("期望", exc.expected), ("实际", exc.actual), ("去看", exc.see or default_see)]
    if isinstance(exc, NotImplementedError):
        lines = [("还没写", str(exc) or "NotImplementedError")]
    else:
        lines = [("出错", f"{type(exc).__name__}: {exc}")]
    trace = where(exc, target)
    if trace:
        lines += [("位置", line) for line in trace]
    elif not isinstance(exc, NotImplementedError):
        lines.append(("说明", "异常发生在检查代码里: 多半是你的函数返回了意料之外的类型或值"))
    return [*lines, ("去看", default_see)]


def report(ok: bool, name: str, details: list[tuple[str, str]] | None = None) -> None:
    mark = "[green]✓[/]" if ok else "[red]✗[/]"
    console.print(f"  {mark} ", end="")
    console.print(name, markup=False)
    for label, text in details or []:
        first, *rest = str(text).splitlines() or [""]
        console.print(f"      [bold]{label}:[/] ", end="")
        console.print(first, markup=False)
        for line in rest:
            console.print("            " + line, markup=False)


def check_file(checks_path: Path, target: Path) -> bool:
    sys.path.insert(0, str(checks_path.parent))  # 同一课的检查可以共用辅助模块
    checks = load(checks_path, f"checks_{checks_path.stem}")
    try:
        return run_all(checks, target)
    finally:
        if teardown := getattr(checks, "teardown", None):
            teardown()


def run_all(checks: ModuleType, target: Path) -> bool:
    default_see = getattr(checks, "SEE", "这一课的课程")
    try:
        module = (
            load(target, f"exercise_{target.stem}")
            if target.suffix == ".py"
            else SimpleNamespace(path=target)
        )
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # 包括 SystemExit: 导入时调用 sys.exit() 不能算"通过"
        lines = [("出错", f"{type(exc).__name__}: {exc}")]
        if isinstance(exc, SyntaxError):
            lines.append(("位置", f"第 {exc.lineno} 行: {(exc.text or '').strip()}"))
        report(False, IMPORT_CHECK, lines + [("位置", line) for line in where(exc, target)])
        return False
    tests = collect(checks)
    for i, fn in enumerate(tests):
        try:
            run(fn, module)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # 漏出来的 CancelledError、SystemExit 也是没通过
            report(False, title(fn), explain(exc, target, default_see))
            if rest := len(tests) - i - 1:
                console.print(f"  [dim]还有 {rest} 项检查没有运行。[/]")
            return False
        report(True, title(fn))
    return True


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # Windows 控制台或重定向到文件时也输出 UTF-8
        stream.reconfigure(encoding="utf-8", errors="replace")
    checks_path, target = (Path(arg).resolve() for arg in (argv or sys.argv[1:]))
    try:
        ok = check_file(checks_path, target)
    except KeyboardInterrupt:
        ok = False
    sys.stdout.flush()
    sys.stderr.flush()
    # 学习者的代码可能留下非守护线程; 不等它们, 直接结束进程。
    os._exit(0 if ok else 1)


if __name__ == "__main__":
    raise SystemExit(main())
