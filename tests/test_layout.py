"""每个 examples/NN_*.py 都有自己的课程 lessons/NN_*.md 和测试 tests/test_NN_*.py。"""

from __future__ import annotations

import re

from conftest import EXAMPLES, ROOT

SCRIPTS = sorted(EXAMPLES.glob("[0-9][0-9]_*.py"))


def test_there_are_scripts():
    assert [p.name[:2] for p in SCRIPTS] == [f"{n:02}" for n in range(1, len(SCRIPTS) + 1)]


def test_every_script_has_a_lesson_and_a_test():
    for script in SCRIPTS:
        assert (ROOT / "lessons" / f"{script.stem}.md").is_file(), f"缺少课程: {script.stem}.md"
        assert (ROOT / "tests" / f"test_{script.stem}.py").is_file(), f"缺少测试: {script.stem}"


def test_every_script_follows_the_house_anatomy():
    for script in SCRIPTS:
        text = script.read_text(encoding="utf-8")
        assert text.startswith('"""第 '), f"{script.name}: 文档字符串应以 '第 NN 课' 开头"
        for part in ("你将学到", "运行:", f"python examples/{script.name}"):
            assert part in text.split('"""')[1], f"{script.name}: 文档字符串缺少 {part!r}"
        assert "def main(argv: list[str] | None = None) -> int:" in text
        assert text.rstrip().endswith('if __name__ == "__main__":\n    raise SystemExit(main())')
        assert not re.search(r"['\"]0\.0\.0\.0['\"]\s*(#.*)?$", text, re.M), "默认不能监听 0.0.0.0"


def test_readme_lists_every_script_and_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for script in SCRIPTS:
        assert f"examples/{script.name}" in readme
        assert f"lessons/{script.stem}.md" in readme
    assert "python -m pip install -r requirements-dev.txt && python -m pytest" in readme
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "python -m pip install -r requirements-dev.txt && python -m pytest" in ci


def test_every_lesson_says_how_long_it_takes():
    for lesson in sorted((ROOT / "lessons").glob("*.md")):
        head = lesson.read_text(encoding="utf-8").split("\n")[:5]
        assert any(re.match(r"> 用时: 约 \d+ 分钟", line) for line in head), (
            f"{lesson.name}: 开头缺少 '> 用时: 约 N 分钟'"
        )


def test_every_exercise_is_linked_from_its_lessons_exercise_section():
    exercises = ROOT / "exercises"
    stubs = [
        *exercises.glob("[0-9][0-9]_*/[0-9][0-9]_*.py"),
        *exercises.glob("[0-9][0-9]_*/[0-9][0-9]_*.js"),
    ]
    for stub in sorted(stubs):
        lesson = next((ROOT / "lessons").glob(f"{stub.name[:2]}_*.md"))
        section = lesson.read_text(encoding="utf-8").partition("\n## 练习\n")[2]
        link = f"](../exercises/{stub.parent.name}/{stub.name})"
        assert link in section, f"{lesson.name} 的「练习」一节没有链接到 {stub.relative_to(ROOT)}"
