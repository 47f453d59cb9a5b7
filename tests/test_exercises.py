"""练习与检查器 (exercises/check.py): 每个初始文件都不通过、每个参考答案都通过; 以及学习者用到的命令行。

命令行测试都在临时目录里的一份副本上运行: 仓库里的练习文件 (也许正被学习者编辑着) 从不被改动。
"""

from __future__ import annotations

import filecmp
import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, child_env

EXERCISES = ROOT / "exercises"
_spec = importlib.util.spec_from_file_location("exercise_checker", EXERCISES / "check.py")
assert _spec and _spec.loader
checker = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = checker  # dataclass 需要能按名字找到模块
_spec.loader.exec_module(checker)
NAMES = [ex.name for ex in checker.EXERCISES]


def run_checker(workdir: Path, *args: str, timeout: float = 40) -> subprocess.CompletedProcess[str]:
    """像学习者一样运行检查器 (stdin 不是终端; 宽一点的终端, 表格不折行)。"""
    return subprocess.run(
        [sys.executable, str(workdir / "exercises" / "check.py"), *args],
        capture_output=True,
        text=True,
        encoding="utf-8",
        stdin=subprocess.DEVNULL,
        env=child_env(COLUMNS="200"),
        timeout=timeout,
        cwd=workdir,
    )


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """exercises/ 的一份副本, 每个练习都是初始状态, 没有进度文件。"""
    junk = shutil.ignore_patterns(".progress.*", "*.bak*", "__pycache__")
    shutil.copytree(EXERCISES, tmp_path / "exercises", ignore=junk)
    for ex in checker.EXERCISES:
        copy = tmp_path / ex.path.relative_to(ROOT)
        shutil.copyfile(ex.pristine, copy)
    return tmp_path


def exercise_file(workspace: Path, name: str, kind: str = "path") -> Path:
    ex = checker.find(name)
    return workspace / getattr(ex, kind).relative_to(ROOT)


def progress(workspace: Path) -> dict:
    return json.loads((workspace / "exercises" / ".progress.json").read_text(encoding="utf-8"))


# ---------- 练习本身 ----------


def test_verify_every_stub_fails_and_every_solution_passes():
    done = run_checker(ROOT, "--verify", timeout=55)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"全部 {len(NAMES)} 个练习都没问题" in done.stdout


def test_at_least_three_exercises_per_lesson_and_every_file_is_in_the_catalog():
    stubs = [
        *EXERCISES.glob("[0-9][0-9]_*/[0-9][0-9]_*.py"),
        *EXERCISES.glob("[0-9][0-9]_*/[0-9][0-9]_*.js"),
    ]
    on_disk = sorted(p.stem for p in stubs)
    assert on_disk == sorted(NAMES), "exercises/ 里的练习文件和 check.py 的 CATALOG 对不上"
    for lesson in ("01", "02", "03", "04", "05", "06", "07", "08"):
        assert sum(name.startswith(lesson) for name in NAMES) >= 3, f"第 {lesson} 课的练习少于 3 个"


def test_stubs_in_the_repo_are_pristine():
    """练习文件和 .pristine/ 里的副本一致。学习者改过练习时跳过; CI 里必须一致。"""
    changed = [ex.name for ex in checker.EXERCISES if not checker.untouched(ex)]
    if changed and not os.environ.get("CI"):
        pytest.skip(f"这些练习被改过 (在做练习?), 不检查: {changed}")
    assert not changed, f"改了练习文件, 也要同样改 exercises/.pristine/ 里的副本: {changed}"


def test_checks_point_to_real_lesson_sections():
    """失败信息里的"去看"指向课程里真实存在的小节标题。"""
    pattern = re.compile(r'see\(\s*"([^"]+)",\s*"([^"]+)"\s*\)')
    found = 0
    for path in EXERCISES.glob("*/checks/*.py"):
        for lesson, section in pattern.findall(path.read_text(encoding="utf-8")):
            found += 1
            headings = (ROOT / "lessons" / f"{lesson}.md").read_text(encoding="utf-8")
            assert f"\n## {section}\n" in headings, (
                f"{path.name}: 课程 {lesson} 里没有小节 {section!r}"
            )
    assert found >= len(NAMES)


def test_readme_lists_every_exercise_and_progress_is_ignored():
    readme = (EXERCISES / "README.md").read_text(encoding="utf-8")
    for name in NAMES:
        assert f"`{name}`" in readme, f"exercises/README.md 没有列出 {name}"
    ignored = (ROOT / ".gitignore").read_text(encoding="utf-8")
    assert "exercises/.progress.json" in ignored


# ---------- 命令行 ----------


def test_list_shows_every_exercise_not_started_and_what_to_do_next(workspace):
    done = run_checker(workspace)
    assert done.returncode == 0, done.stderr
    for name in NAMES:
        assert name in done.stdout
    assert done.stdout.count("未开始") == len(NAMES)
    assert "下一个: exercises/01_generators/01_lazy_stages.py" in done.stdout


def test_unknown_or_ambiguous_name_is_a_usage_error(workspace):
    done = run_checker(workspace, "no_such_exercise")
    assert done.returncode == 2
    assert "没有叫 'no_such_exercise' 的练习" in done.stderr
    assert "01_lazy_stages" in done.stderr  # 告诉学习者有哪些名字
    done = run_checker(workspace, "0")
    assert done.returncode == 2
    assert "可以指好几个练习" in done.stderr
    done = run_checker(workspace, "--nonsense")
    assert done.returncode == 2
    assert "命令行参数不对" in done.stderr


def test_stub_fails_with_a_message_for_the_learner(workspace):
    done = run_checker(workspace, "04_sse_d")  # 唯一的开头也可以
    assert done.returncode == 1
    assert "✗" in done.stdout
    assert "还没写: TODO" in done.stdout
    assert "去看: lessons/04_sse_protocol.md" in done.stdout
    assert "--hint 04_sse_decoder" in done.stdout


def test_solved_exercise_passes_and_the_list_moves_on(workspace):
    solution = exercise_file(workspace, "01_lazy_stages", "solution")
    shutil.copyfile(solution, exercise_file(workspace, "01_lazy_stages"))
    done = run_checker(workspace, "exercises/01_generators/01_lazy_stages.py")  # 路径也可以
    assert done.returncode == 0, done.stdout
    assert "通过!" in done.stdout
    assert progress(workspace)["results"]["01_lazy_stages"]["passed"] is True
    listing = run_checker(workspace).stdout
    assert re.search(r"01_lazy_stages\s.*✓", listing)
    assert "下一个: exercises/01_generators/01_rechunk.py" in listing


def test_list_checks_started_exercises_it_has_not_seen(workspace):
    """改过但没检查过的练习, 列表会当场检查它 (这里改坏了: ✗)。"""
    path = exercise_file(workspace, "01_rechunk")
    path.write_text(path.read_text(encoding="utf-8") + "\n# 我开始做了\n", encoding="utf-8")
    listing = run_checker(workspace).stdout
    assert re.search(r"01_rechunk\s.*✗", listing)
    assert progress(workspace)["results"]["01_rechunk"]["passed"] is False


def test_hints_are_shown_one_at_a_time_and_remembered(workspace):
    total = len(checker.load_hints(checker.find("02_merge")))
    for shown in range(1, total + 1):
        done = run_checker(workspace, "--hint", "02_merge")
        assert done.returncode == 0
        assert f"提示 {shown}/{total}" in done.stdout
        assert f"提示 {shown + 1}/{total}" not in done.stdout
        assert progress(workspace)["hints"]["02_merge"] == shown
    again = run_checker(workspace, "--hint", "02_merge")
    assert "没有更多提示了" in again.stdout
    assert "exercises/solutions/02_async/02_merge.py" in again.stdout
    everything = run_checker(workspace, "--hint", "05_tool_calls", "--all")
    assert all(f"提示 {i}/" in everything.stdout for i in (1, 2, 3))


def test_reset_asks_for_yes_and_keeps_a_backup(workspace):
    path = exercise_file(workspace, "03_request_head")
    mine = path.read_text(encoding="utf-8") + "\n# 我的代码\n"
    path.write_text(mine, encoding="utf-8")

    refused = run_checker(workspace, "--reset", "03_request_head")
    assert refused.returncode == 2
    assert "--yes" in refused.stderr
    assert path.read_text(encoding="utf-8") == mine  # 没有确认, 什么都不动

    done = run_checker(workspace, "--reset", "03_request_head", "--yes")
    assert done.returncode == 0, done.stderr
    assert filecmp.cmp(path, exercise_file(workspace, "03_request_head", "pristine"), shallow=False)
    backup = path.with_name(path.name + ".bak")
    assert backup.read_text(encoding="utf-8") == mine

    path.write_text("# 第二次\n", encoding="utf-8")
    run_checker(workspace, "--reset", "03_request_head", "--yes")
    assert backup.read_text(encoding="utf-8") == mine  # 旧的备份不会被覆盖
    assert path.with_name(path.name + ".bak2").read_text(encoding="utf-8") == "# 第二次\n"


@pytest.mark.skipif(os.name == "nt", reason="用 SIGINT 模拟 Ctrl+C")
def test_watch_rechecks_on_save_and_ctrl_c_exits_cleanly(workspace, tmp_path):
    log = tmp_path / "watch.log"
    target = exercise_file(workspace, "01_budget")
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen(
            [sys.executable, str(workspace / "exercises" / "check.py"), "--watch", "01_budget"],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=child_env(),
            cwd=workspace,
        )
        try:

            def wait_for(text: str, count: int = 1) -> None:
                end = time.monotonic() + 20
                while log.read_text(encoding="utf-8").count(text) < count:
                    assert proc.poll() is None, log.read_text(encoding="utf-8")
                    assert time.monotonic() < end, f"没有等到 {text!r}:\n{log.read_text()}"
                    time.sleep(0.1)

            wait_for("后自动重新检查")
            shutil.copyfile(exercise_file(workspace, "01_budget", "solution"), target)
            later = time.time() + 2  # 保证修改时间变了, 即使文件系统的时间精度很粗
            os.utime(target, (later, later))
            wait_for("通过!")
            wait_for("后自动重新检查", count=2)
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=10) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert "已退出 --watch" in log.read_text(encoding="utf-8")
