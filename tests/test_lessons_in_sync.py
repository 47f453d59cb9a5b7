"""课程里的代码块必须与脚本里的命名区域一字不差; 修复方法: python tools/sync_lessons.py --write"""

from __future__ import annotations

import shutil
import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tools"))
import sync_lessons  # noqa: E402


def test_every_lesson_block_matches_its_region_and_every_region_is_used():
    problems = sync_lessons.check()
    assert not problems, "\n".join(problems) + "\n修复: python tools/sync_lessons.py --write"


@pytest.fixture
def copy_of_repo(tmp_path):
    for folder in ("examples", "lessons"):
        shutil.copytree(ROOT / folder, tmp_path / folder)
    shutil.copy(ROOT / "chat.html", tmp_path)
    return tmp_path


def test_checker_catches_drift_and_rewrite_repairs_it(copy_of_repo):
    lesson = next((copy_of_repo / "lessons").glob("01_*.md"))
    text = lesson.read_text(encoding="utf-8")
    marker = "def fibonacci() -> Iterator[int]:"
    assert marker in text
    lesson.write_text(text.replace(marker, "def fib():"), encoding="utf-8")
    assert any("不一致" in p for p in sync_lessons.check(copy_of_repo))
    assert sync_lessons.rewrite(copy_of_repo) == [lesson]
    assert sync_lessons.check(copy_of_repo) == []


def test_checker_catches_unknown_and_unused_regions(copy_of_repo):
    lesson = next((copy_of_repo / "lessons").glob("01_*.md"))
    text = lesson.read_text(encoding="utf-8")
    assert ":infinite -->" in text
    lesson.write_text(text.replace(":infinite -->", ":no_such_region -->", 1), encoding="utf-8")
    problems = sync_lessons.check(copy_of_repo)
    assert any("没有区域 'no_such_region'" in p for p in problems)
    assert any("'infinite' 没有被任何课程引用" in p for p in problems)


def test_unbalanced_markers_are_an_error(tmp_path):
    script = tmp_path / "x.py"
    script.write_text("# --8<-- [start:a]\nx = 1\n", encoding="utf-8")
    with pytest.raises(ValueError, match="没有 end"):
        sync_lessons.read_regions(script)
