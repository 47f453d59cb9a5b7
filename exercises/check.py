"""练习检查器: 自己检查自己的练习 (像 rustlings、exercism 那样)。

    python exercises/check.py                   # 所有练习和状态, 以及下一个该做哪个
    python exercises/check.py 04_sse_decoder    # 检查一个 (名字可以只写开头, 比如 04_sse_d)
    python exercises/check.py --hint NAME       # 下一条提示 (加 --all: 全部提示)
    python exercises/check.py --watch [NAME]    # 每次保存文件就重新检查; Ctrl+C 退出
    python exercises/check.py --reset NAME      # 恢复成初始的练习文件 (你的代码先备份成 .bak)
    python exercises/check.py --verify          # 维护者用: 每个初始文件都不通过, 每个参考答案都通过

退出码: 0 通过, 1 没通过, 2 用法错误 (Ctrl+C 中断: 130)。只用标准库和 rich。
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table
from rich.text import Text

HERE = Path(__file__).resolve().parent
PRISTINE = HERE / ".pristine"  # 初始文件的副本: 判断"未开始"、--reset、--verify 都用它 (不依赖 git)
SOLUTIONS = HERE / "solutions"
PROGRESS = HERE / ".progress.json"  # 唯一的进度文件, 已在 .gitignore 里
RUNNER = HERE / "runner.py"
TIMEOUT = 20  # 一个练习的全部检查最多几秒; 卡住的代码到点就算没通过
POLL = 0.5  # --watch 每隔几秒看一次文件有没有变
IMPORT_FAILED = "文件能被导入"  # runner.py 在文件导入出错时报告的那一项

# 建议的做题顺序: 每一课由易到难。(名字, 难度 1~3 颗星, 一句话)
CATALOG = [
    ("01_lazy_stages", 1, "惰性的过滤与变换: 一次只从上游取一片"),
    ("01_rechunk", 2, "把任意长短的片重新切成固定长度"),
    ("01_budget", 2, "字数用完就停, 并且立刻关闭上游"),
    ("02_item_timeout", 1, "每一片都有期限: 检测卡住的模型"),
    ("02_line_reader", 2, "按行读连接: 取消时也要关闭连接"),
    ("02_merge", 3, "合并多条异步流: 有界队列与背压"),
    ("03_encode_chunked", 1, "编码分块响应体 (含 trailer)"),
    ("03_request_head", 2, "读请求头: 没读到空行就断开是坏请求"),
    ("03_chunked_decoder", 3, "增量的分块解码器: 一个字节一个字节地喂"),
    ("04_sse_encoder", 1, "任何文本都破坏不了分帧的 SSE 编码器"),
    ("04_resume", 2, "按 Last-Event-ID 续传, 认不出的 id 要求重来"),
    ("04_sse_decoder", 3, "按规范的增量 SSE 解码器 (id 在派发时才生效)"),
    ("05_parse_chunk", 1, "拆开原始 chunk: 不怕空 choices 的用量 chunk"),
    ("05_tool_calls", 2, "按 index 拼接工具调用的碎片"),
    ("05_stream_stats", 2, "首字时间、用量与生成速度"),
    ("05_raw_stream", 3, "从原始字节读 OpenAI 流: [DONE]、错误、关闭"),
    ("06_chat_events", 1, "把增量变成命名的 SSE 事件 (JSON 里的文本)"),
    ("06_stream_limit", 2, "并发名额留到流结束才归还"),
    ("06_safe_render", 2, "页面安全地显示模型输出 (JS, 在 Chromium 里检查)", ".js"),
    ("06_coalesce", 3, "按时间窗口合并输出, 第一片立刻发出"),
    ("06_relay", 3, "转发给客户端, 断开时立刻取消上游"),
    ("07_rag_stream", 1, "RAG 的流: 资料先到, 引用要核对"),
    ("07_by_sentence", 2, "按句子发, 但一段文字最多攒 max_wait 秒"),
    ("07_run_tool", 2, "运行一次工具调用: 出错是结果, 取消要传出去"),
    ("07_agent_loop", 3, "智能体的循环: 工具卡片、步数上限、停下时一起停"),
    ("08_resume_after", 1, "按 Last-Event-ID 算出从哪里接着读: 宁可重复, 不可遗漏"),
    ("08_follow", 2, "跟着日志读: 先读存着的, 再等新的, 不重复不遗漏"),
    ("08_lease", 3, "原子的追加与租约: 主人死了, 结尾只能有一个"),
]

console = Console(highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)  # 用法错误写到 stderr


class UsageError(Exception):
    """命令行用错了: 退出码 2。"""


@dataclass(frozen=True)
class Exercise:
    name: str
    stars: int
    title: str
    suffix: str = ".py"  # 06_safe_render 是页面里的 JavaScript

    @property
    def folder(self) -> str:
        """练习所在的课程目录: 04_sse_decoder -> 04_sse (名字的前两位是课号)。"""
        return next(p.name for p in HERE.glob(f"{self.name[:2]}_*") if p.is_dir())

    @property
    def path(self) -> Path:
        return HERE / self.folder / f"{self.name}{self.suffix}"

    @property
    def pristine(self) -> Path:
        return PRISTINE / self.folder / f"{self.name}{self.suffix}"

    @property
    def solution(self) -> Path:
        return SOLUTIONS / self.folder / f"{self.name}{self.suffix}"

    @property
    def timeout(self) -> float:
        """整个检查最多几秒。浏览器里的练习要先启动 Chromium, 给它多一些。"""
        return TIMEOUT if self.suffix == ".py" else 2 * TIMEOUT

    @property
    def checks(self) -> Path:
        return HERE / self.folder / "checks" / f"check_{self.name}.py"

    @property
    def shown(self) -> str:
        """给学习者看的相对路径。"""
        return self.path.relative_to(HERE.parent).as_posix()


EXERCISES = [Exercise(*row) for row in CATALOG]


def find(name: str) -> Exercise:
    """完整的名字, 或者唯一的开头; 也接受文件路径 (exercises/04_sse/04_sse_decoder.py)。"""
    key = Path(name).name.removesuffix(".py").removesuffix(".js")
    matches = [ex for ex in EXERCISES if ex.name == key] or [
        ex for ex in EXERCISES if ex.name.startswith(key)
    ]
    if len(matches) == 1:
        return matches[0]
    if not matches:
        names = " ".join(ex.name for ex in EXERCISES)
        raise UsageError(f"没有叫 {name!r} 的练习。可以用的名字: {names}")
    names = ", ".join(ex.name for ex in matches)
    raise UsageError(f"{name!r} 可以指好几个练习: {names}。请写得更完整一些。")


# ---------- 进度: 一个小 JSON 文件 ----------


def load_progress() -> dict:
    try:
        data = json.loads(PROGRESS.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {"hints": {}, "results": {}}
    return {"hints": data.get("hints", {}), "results": data.get("results", {})}


def save_progress(progress: dict) -> None:
    tmp = PROGRESS.with_suffix(".tmp")
    tmp.write_text(json.dumps(progress, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(PROGRESS)  # 先写临时文件再换名: 中途被打断也不会留下半个文件


def fingerprint(path: Path) -> str:
    r"""文件内容的指纹。统一换行符: Windows 上 git 可能把 \n 换成 \r\n。"""
    if not path.is_file():
        return "文件不存在"
    text = path.read_bytes().replace(b"\r\n", b"\n")
    return hashlib.sha256(text).hexdigest()


def untouched(ex: Exercise) -> bool:
    return fingerprint(ex.path) == fingerprint(ex.pristine)


# ---------- 运行检查 (在子进程里, 有超时) ----------


@dataclass
class Outcome:
    ok: bool
    output: str = ""
    timed_out: bool = False


def run_checks(ex: Exercise, target: Path, capture: bool = True) -> Outcome:
    """在子进程里检查 target (学习者的文件、初始文件或参考答案)。卡住的代码到 ex.timeout 秒就算没通过。"""
    command = [sys.executable, str(RUNNER), str(ex.checks), str(target)]
    try:
        done = subprocess.run(
            command,
            capture_output=capture,
            text=True,
            encoding="utf-8",
            errors="replace",
            timeout=ex.timeout,
            # 不写 .pyc: 同一秒内保存两次、长度又相同时, 缓存的字节码可能是旧的 (--watch 常见)。
            env=os.environ | {"PYTHONDONTWRITEBYTECODE": "1"},
        )
    except subprocess.TimeoutExpired as exc:
        output = exc.stdout if isinstance(exc.stdout, str) else ""
        return Outcome(False, output, timed_out=True)
    return Outcome(done.returncode == 0, (done.stdout or "") + (done.stderr or ""))


def remember(progress: dict, ex: Exercise, ok: bool) -> None:
    """记下这一版文件的检查结果: 文件没再改过, 列表就不用重新检查它。"""
    progress["results"][ex.name] = {"fingerprint": fingerprint(ex.path), "passed": ok}


def status(ex: Exercise, progress: dict) -> str | None:
    """ "未开始"、"✓"、"✗"; None = 文件改过了但还没检查过这个版本。"""
    if untouched(ex):
        return "未开始"
    result = progress["results"].get(ex.name)
    if result and result.get("fingerprint") == fingerprint(ex.path):
        return "✓" if result["passed"] else "✗"
    return None


def statuses() -> dict[str, str]:
    """每个练习的状态。改过却没检查过的, 现在并行检查一遍 (结果记进进度文件)。"""
    progress = load_progress()
    found = {ex.name: status(ex, progress) for ex in EXERCISES}
    stale = [ex for ex in EXERCISES if found[ex.name] is None]
    if stale:
        console.print(f"[dim]正在检查你改过的 {len(stale)} 个练习……[/]")
        with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
            outcomes = list(pool.map(lambda ex: run_checks(ex, ex.path), stale))
        for ex, outcome in zip(stale, outcomes, strict=True):
            remember(progress, ex, outcome.ok)
            found[ex.name] = "✓" if outcome.ok else "✗"
        save_progress(progress)
    return found


def next_exercise(found: dict[str, str], after: Exercise | None = None) -> Exercise | None:
    """按顺序第一个没通过的 (after 之后的优先)。"""
    todo = [ex for ex in EXERCISES if found[ex.name] != "✓"]
    if after:
        later = [ex for ex in todo if EXERCISES.index(ex) > EXERCISES.index(after)]
        todo = later or todo
    return todo[0] if todo else None


# ---------- 命令 ----------


def cmd_list() -> int:
    found = statuses()
    table = Table(title="流式输出 · 练习")
    for column in ("练习 (前两位是课号)", "难度", "状态", "内容"):
        table.add_column(column)
    colors = {"✓": "green", "✗": "red", "未开始": "dim"}
    for ex in EXERCISES:
        mark = found[ex.name]
        table.add_row(ex.name, "★" * ex.stars, f"[{colors[mark]}]{mark}[/]", ex.title)
    console.print(table)
    passed = sum(mark == "✓" for mark in found.values())
    console.print(f"完成 {passed}/{len(EXERCISES)}。")
    upcoming = next_exercise(found)
    if upcoming is None:
        console.print("[green]全部完成![/] 回头看看参考答案 (exercises/solutions/), 比较一下写法。")
    else:
        console.print(f"下一个: [bold]{upcoming.shown}[/]")
        console.print(f"    做完后运行: python exercises/check.py {upcoming.name}")
    return 0


def cmd_check(ex: Exercise) -> bool:
    """检查一个练习, 输出直接给学习者看; 结果记进进度文件。"""
    console.print(f"[bold]检查 {ex.name}[/] ({ex.shown})")
    outcome = run_checks(ex, ex.path, capture=False)
    if outcome.timed_out:
        console.print(
            f"  [red]✗ {ex.timeout:g} 秒内没有结束。[/] 是不是有死循环, 或者在等一个永远不会来的值? "
            "卡住的是最后一个 ✓ 之后的那一项检查。"
        )
    progress = load_progress()
    remember(progress, ex, outcome.ok)
    save_progress(progress)
    if outcome.ok:
        console.print(
            f"[green]通过![/] 参考答案在 exercises/solutions/{ex.folder}/{ex.name}{ex.suffix}"
        )
    else:
        console.print(f"[yellow]还没通过。[/] 需要提示: python exercises/check.py --hint {ex.name}")
    return outcome.ok


def load_hints(ex: Exercise) -> list[str]:
    path = HERE / ex.folder / "hints.py"
    spec = importlib.util.spec_from_file_location(f"hints_{ex.folder}", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.HINTS[ex.name]


def cmd_hint(ex: Exercise, show_all: bool) -> int:
    hints = load_hints(ex)
    progress = load_progress()
    seen = progress["hints"].get(ex.name, 0)
    shown = len(hints) if show_all else min(seen + 1, len(hints))
    progress["hints"][ex.name] = shown
    save_progress(progress)
    console.print(f"[bold]{ex.name} 的提示[/]")
    for i, hint in enumerate(hints[:shown], start=1):
        new = i > seen  # 这次新显示的; 以前看过的暗一些
        label = Text(f"提示 {i}/{len(hints)}: ", style="bold" if new else "dim")
        console.print(label + Text(hint, style="" if new else "dim"))
    if shown < len(hints):
        console.print(f"还有 {len(hints) - shown} 条。再运行一次这条命令, 看下一条。")
    elif seen >= len(hints) and not show_all:
        console.print("没有更多提示了。", end="")
    if shown == len(hints):
        console.print(
            f"实在卡住, 参考答案在 exercises/solutions/{ex.folder}/{ex.name}{ex.suffix} (先自己试试!)"
        )
    return 0


def modified(path: Path) -> int | None:
    """文件的修改时间; 编辑器保存的那一瞬间文件可能暂时不在, 返回 None。"""
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def cmd_watch(ex: Exercise | None) -> int:
    """每次保存就重新检查。没有指定练习时, 从下一个没通过的开始, 通过一个就跟到下一个。"""
    follow = ex is None
    current = ex or next_exercise(statuses())
    if current is None:
        console.print("[green]全部完成![/]")
        return 0
    seen = None
    try:
        while True:
            stamp = modified(current.path)
            if stamp is not None and stamp != seen:
                seen = stamp
                console.rule(f"{current.name}  {time.strftime('%H:%M:%S')}")
                passed = cmd_check(current)
                if passed and follow:
                    current = next_exercise(statuses(), after=current)
                    if current is None:
                        console.print("[green]全部完成![/]")
                        return 0
                    console.print(f"下一个: [bold]{current.shown}[/]")
                    seen = None
                    continue
                console.print(f"[dim]保存 {current.shown} 后自动重新检查; Ctrl+C 退出。[/]")
            time.sleep(POLL)
    except KeyboardInterrupt:
        console.print("\n已退出 --watch。")
        return 0


def backup_path(path: Path) -> Path:
    """NAME.py.bak; 已经有了就 NAME.py.bak2、.bak3……, 从不覆盖旧的备份。"""
    candidate, n = path.with_name(path.name + ".bak"), 2
    while candidate.exists():
        candidate, n = path.with_name(f"{path.name}.bak{n}"), n + 1
    return candidate


def cmd_reset(ex: Exercise, yes: bool) -> int:
    if untouched(ex):
        console.print(f"{ex.shown} 已经是初始状态, 不需要恢复。")
        return 0
    if not yes:
        if not sys.stdin.isatty():
            raise UsageError(f"这会覆盖你在 {ex.shown} 里的代码。确定的话, 加上 --yes 再运行一次。")
        answer = input(f"覆盖 {ex.shown}? 你的代码会先备份。[y/N] ")
        if answer.strip().lower() not in ("y", "yes", "是"):
            console.print("没有改动。")
            return 1
    backup = backup_path(ex.path)
    if ex.path.exists():
        shutil.copy2(ex.path, backup)
    shutil.copyfile(ex.pristine, ex.path)
    progress = load_progress()
    progress["results"].pop(ex.name, None)
    save_progress(progress)
    console.print(f"已恢复 {ex.shown}; 你原来的代码在 {backup.relative_to(HERE.parent).as_posix()}")
    return 0


# ---------- --verify: 维护者用 ----------


def problems_in_layout(ex: Exercise) -> list[str]:
    """每个练习都有: 练习文件、初始副本、参考答案、检查、提示。"""
    problems = []
    for label, path in [
        ("练习文件", ex.path),
        ("初始副本", ex.pristine),
        ("参考答案", ex.solution),
        ("检查", ex.checks),
    ]:
        if not path.is_file():
            problems.append(f"缺少{label}: {path.relative_to(HERE.parent)}")
    if not problems:
        if "TODO" not in ex.pristine.read_text(encoding="utf-8"):
            problems.append("初始文件里没有 TODO 标记")
        if "参考答案" not in ex.solution.read_text(encoding="utf-8").splitlines()[0]:
            problems.append("参考答案的第一行没有标明 '参考答案'")
        try:
            if len(load_hints(ex)) < 2:
                problems.append("提示少于 2 条")
        except (OSError, KeyError):
            problems.append("hints.py 里没有它的提示")
    return problems


def verify_one(ex: Exercise) -> list[str]:
    problems = problems_in_layout(ex)
    if problems:
        return problems
    stub = run_checks(ex, ex.pristine)
    if stub.ok:
        problems.append("初始文件竟然通过了检查: 检查太松")
    elif IMPORT_FAILED in stub.output:
        problems.append(f"初始文件无法导入:\n{stub.output}")
    elif "✗" not in stub.output and not stub.timed_out:
        problems.append(f"初始文件没有给出可读的失败信息:\n{stub.output}")
    solution = run_checks(ex, ex.solution)
    if not solution.ok:
        why = f"超时 ({ex.timeout:g} 秒)" if solution.timed_out else "没有通过"
        problems.append(f"参考答案{why}:\n{solution.output}")
    return problems


def cmd_verify(only: Exercise | None) -> int:
    chosen = [only] if only else EXERCISES
    start = time.perf_counter()
    with ThreadPoolExecutor(os.cpu_count() or 2) as pool:
        results = list(pool.map(verify_one, chosen))
    bad = 0
    for ex, problems in zip(chosen, results, strict=True):
        if problems:
            bad += 1
            console.print(f"[red]✗ {ex.name}[/]")
            for problem in problems:
                console.print("    " + problem, markup=False)
        else:
            console.print(f"[green]✓[/] {ex.name}: 初始文件不通过, 参考答案通过")
    seconds = time.perf_counter() - start
    if bad:
        console.print(f"[red]{bad} 个练习有问题[/] ({seconds:.1f} 秒)")
        return 1
    console.print(f"全部 {len(chosen)} 个练习都没问题 ({seconds:.1f} 秒)。")
    return 0


# ---------- 命令行 ----------


class Parser(argparse.ArgumentParser):
    """argparse 自带的帮助和报错是英文的: 换成这个文件开头的中文说明。"""

    def error(self, message: str) -> None:
        raise UsageError(f"命令行参数不对 ({message})。用法见: python exercises/check.py -h")

    def print_help(self, file: object = None) -> None:
        console.print(__doc__.strip(), markup=False)


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = Parser(prog="python exercises/check.py")
    parser.add_argument("name", nargs="?", help="练习的名字, 或它唯一的开头, 例如 04_sse_d")
    parser.add_argument("--hint", action="store_true", help="显示这个练习的下一条提示")
    parser.add_argument("--all", action="store_true", help="和 --hint 一起用: 显示全部提示")
    parser.add_argument("--watch", action="store_true", help="保存文件就重新检查, Ctrl+C 退出")
    parser.add_argument("--reset", action="store_true", help="恢复初始文件 (先备份成 .bak)")
    parser.add_argument("--yes", action="store_true", help="和 --reset 一起用: 不再询问")
    parser.add_argument("--verify", action="store_true", help="维护者用: 检查所有练习本身")
    return parser.parse_args(argv)


def dispatch(args: argparse.Namespace) -> int:
    modes = [m for m in ("hint", "watch", "reset", "verify") if getattr(args, m)]
    if len(modes) > 1:
        raise UsageError(f"--{modes[0]} 和 --{modes[1]} 不能一起用")
    if args.all and not args.hint:
        raise UsageError("--all 要和 --hint 一起用")
    if args.yes and not args.reset:
        raise UsageError("--yes 要和 --reset 一起用")
    ex = find(args.name) if args.name else None
    if (args.hint or args.reset) and ex is None:
        raise UsageError(f"--{modes[0]} 需要一个练习的名字, 例如: --{modes[0]} 01_lazy_stages")
    if args.hint:
        return cmd_hint(ex, args.all)
    if args.reset:
        return cmd_reset(ex, args.yes)
    if args.watch:
        return cmd_watch(ex)
    if args.verify:
        return cmd_verify(ex)
    if ex:
        return 0 if cmd_check(ex) else 1
    return cmd_list()


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):  # Windows 控制台或重定向到文件时也输出 UTF-8
        stream.reconfigure(encoding="utf-8", errors="replace")
    try:
        return dispatch(parse(argv))
    except UsageError as exc:
        errors.print(str(exc), markup=False)
        return 2
    except KeyboardInterrupt:
        errors.print("\n已中断。")
        return 130


if __name__ == "__main__":
    raise SystemExit(main())
