"""chat.html 自带的内容安全策略 (<meta http-equiv="Content-Security-Policy">)。

从磁盘打开页面时没有服务器, 也就没有 CSP 响应头; 页面自己的这一条照样生效。它按哈希放行页面里的内联脚本和样式,
所以改了 chat.html 里的 <script> 或 <style> 之后, 要更新哈希 (测试会提醒你):

    python tools/page_csp.py           # 检查; 哈希过时了就说明并以 1 退出
    python tools/page_csp.py --write   # 重写 chat.html 里的那一行
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "chat.html"
META = re.compile(r'(<meta http-equiv="Content-Security-Policy" content=")([^"]*)(">)')


def policy(html: str) -> str:
    sys.path.insert(0, str(ROOT / "examples"))
    import lesson

    hashes = lesson.load("06").inline_hashes  # 和服务器的 CSP 响应头同一个算法
    return "; ".join([
        "default-src 'none'",  # 没有列出的 (音视频、字体、iframe、插件……) 一律禁止
        f"script-src 'self' {hashes(html, 'script')}",
        f"style-src 'self' {hashes(html, 'style')}",
        "img-src data:",
        "connect-src 'self' http: https:",  # 从磁盘打开时要连 #server= 指定的地址
        "base-uri 'none'",
        "form-action 'none'",
    ])  # fmt: skip


def current(html: str) -> str:
    match = META.search(html)
    if not match:
        raise ValueError('chat.html 里没有 <meta http-equiv="Content-Security-Policy" ...>')
    return match[2]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="检查或更新 chat.html 自带的 CSP")
    parser.add_argument("--write", action="store_true", help="重写 chat.html 里的 CSP (默认只检查)")
    args = parser.parse_args(argv)
    html = PAGE.read_text(encoding="utf-8")
    wanted = policy(html)
    if current(html) == wanted:
        print("chat.html 的 CSP 是最新的。")
        return 0
    if args.write:
        PAGE.write_text(META.sub(lambda m: m[1] + wanted + m[3], html), encoding="utf-8")
        print("已更新 chat.html 的 CSP。")
        return 0
    print("chat.html 的 CSP 过时了 (内联脚本或样式改过): 运行 python tools/page_csp.py --write")
    return 1


if __name__ == "__main__":
    raise SystemExit(main())
