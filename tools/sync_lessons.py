"""让课程 (lessons/*.md) 里的代码块与脚本 (examples/*.py) 保持一致。

脚本 (和 chat.html, 用 // 代替 #) 里用命名区域标出可以被课程引用的代码:

    # --8<-- [start:lazy]
    ...
    # --8<-- [end:lazy]

课程里在代码块正上方写一行引用, 代码块的内容必须等于那个区域:

    <!-- include: examples/01_generator_basics.py:lazy -->
    ```python
    ...
    ```

用法:
    python tools/sync_lessons.py           # 检查; 有偏差就列出来并以 1 退出
    python tools/sync_lessons.py --write   # 用脚本里的区域重写课程里的代码块
"""

from __future__ import annotations

import argparse
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^\s*(#|//) --8<-- \[(?P<kind>start|end):(?P<name>[a-z0-9_]+)\]\s*$")
INCLUDE = re.compile(r"^<!-- include: (?P<path>\S+?):(?P<name>[a-z0-9_]+) -->\s*$")
FENCE_OPEN = re.compile(r"^```\w*\s*$")


@dataclass
class Include:
    """课程里的一处引用: 它在哪一行, 引用哪个区域, 代码块现在是什么。"""

    lesson: Path
    line: int  # 引用行的行号 (从 1 开始)
    script: str
    name: str
    body_start: int  # 代码块第一行的下标 (从 0 开始)
    body_end: int  # 结束围栏 ``` 的下标
    body: str


def read_regions(script: Path) -> dict[str, str]:
    """读出一个脚本里的所有命名区域; 区域可以嵌套, 标记行本身不算内容。"""
    lines = script.read_text(encoding="utf-8").splitlines()
    open_at: dict[str, int] = {}
    regions: dict[str, str] = {}
    for i, line in enumerate(lines):
        m = MARKER.match(line)
        if not m:
            continue
        kind, name = m["kind"], m["name"]
        if kind == "start":
            if name in open_at or name in regions:
                raise ValueError(f"{script.name}:{i + 1}: 区域 {name!r} 重复")
            open_at[name] = i
        else:
            if name not in open_at:
                raise ValueError(f"{script.name}:{i + 1}: 区域 {name!r} 没有 start")
            body = [ln for ln in lines[open_at.pop(name) + 1 : i] if not MARKER.match(ln)]
            regions[name] = textwrap.dedent("\n".join(body)).strip("\n")
    if open_at:
        raise ValueError(f"{script.name}: 区域 {sorted(open_at)} 没有 end")
    return regions


def find_includes(lesson: Path) -> list[Include]:
    """找出课程里所有的引用, 以及紧跟其后的代码块。"""
    lines = lesson.read_text(encoding="utf-8").splitlines()
    found = []
    for i, line in enumerate(lines):
        m = INCLUDE.match(line)
        if not m:
            continue
        if i + 1 >= len(lines) or not FENCE_OPEN.match(lines[i + 1]):
            raise ValueError(f"{lesson.name}:{i + 1}: 引用行下面必须紧跟一个 ``` 代码块")
        end = next((j for j in range(i + 2, len(lines)) if lines[j].strip() == "```"), None)
        if end is None:
            raise ValueError(f"{lesson.name}:{i + 2}: 代码块没有结束的 ```")
        body = "\n".join(lines[i + 2 : end])
        found.append(Include(lesson, i + 1, m["path"], m["name"], i + 2, end, body))
    return found


def sources(root: Path) -> list[Path]:
    """可以被课程引用的文件: examples/ 下的脚本, 以及聊天页面 chat.html (用 // 写标记)。"""
    page = root / "chat.html"
    return [*sorted((root / "examples").glob("*.py")), *([page] if page.exists() else [])]


def check(root: Path = ROOT) -> list[str]:
    """返回所有问题: 偏差、不存在的区域、没有课程使用的区域。空列表表示一致。"""
    problems: list[str] = []
    regions = {p.relative_to(root).as_posix(): read_regions(p) for p in sources(root)}
    used: set[tuple[str, str]] = set()
    for lesson in sorted((root / "lessons").glob("*.md")):
        for inc in find_includes(lesson):
            where = f"{lesson.relative_to(root).as_posix()}:{inc.line}"
            if inc.script not in regions:
                problems.append(f"{where}: 脚本 {inc.script} 不存在")
            elif inc.name not in regions[inc.script]:
                problems.append(f"{where}: {inc.script} 里没有区域 {inc.name!r}")
            else:
                used.add((inc.script, inc.name))
                if inc.body != regions[inc.script][inc.name]:
                    problems.append(f"{where}: 代码块与 {inc.script}:{inc.name} 不一致")
    for script, names in regions.items():
        for name in names:
            if (script, name) not in used:
                problems.append(f"{script}: 区域 {name!r} 没有被任何课程引用")
    return problems


def rewrite(root: Path = ROOT) -> list[Path]:
    """用脚本里的区域重写课程中的代码块, 返回改动过的课程文件。"""
    cache: dict[str, dict[str, str]] = {}
    changed = []
    for lesson in sorted((root / "lessons").glob("*.md")):
        lines = lesson.read_text(encoding="utf-8").splitlines()
        # 从后往前替换, 前面引用的行号就不会因为替换而移动。
        for inc in reversed(find_includes(lesson)):
            if inc.script not in cache:
                cache[inc.script] = read_regions(root / inc.script)
            new = cache[inc.script].get(inc.name)
            if new is not None and new != inc.body:
                lines[inc.body_start : inc.body_end] = new.splitlines()
        text = "\n".join(lines) + "\n"
        if text != lesson.read_text(encoding="utf-8"):
            lesson.write_text(text, encoding="utf-8")
            changed.append(lesson)
    return changed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="检查或重写课程里引用的代码块")
    parser.add_argument(
        "--write", action="store_true", help="用脚本里的区域重写课程 (默认: 只检查)"
    )
    args = parser.parse_args(argv)
    if args.write:
        for path in rewrite():
            print(f"已更新 {path.relative_to(ROOT).as_posix()}")
    problems = check()
    for problem in problems:
        print(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
