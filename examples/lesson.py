"""按编号导入前面的课: lesson.load("04") 就是 examples/04_sse_protocol.py 这个模块。

课程脚本的文件名以数字开头, 没法写 import 04_sse_protocol。这是全仓库唯一的加载器: 课程脚本、测试和 tools/
都用它。每一课只加载一次, 模块名固定为 lesson04 —— 所以 06 用的第 04 课, 和测试检查的第 04 课, 是同一个对象。
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

HERE = Path(__file__).resolve().parent


def path_of(number: str) -> Path:
    """'04' → examples/04_sse_protocol.py。"""
    matches = sorted(HERE.glob(f"{number}_*.py"))
    if len(matches) != 1:
        raise LookupError(f"examples/ 里找不到唯一的 {number}_*.py: {matches}")
    return matches[0]


def load(number: str) -> ModuleType:
    name = f"lesson{number}"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path_of(number))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # 先登记再执行: dataclass 等要能按名字找到这个模块
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
