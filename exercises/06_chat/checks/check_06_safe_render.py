"""检查 06_safe_render: 在 Chromium 里渲染捣乱的模型输出: 不执行、不加载、不破坏页面、Markdown 照常、流式的每一步都安全。

页面是假的: 它的网址、vendor/ 里的两个库和你的文件都由检查直接交给浏览器 (Playwright 的 route), 不开任何服务器;
页面想发出的其他请求全部被拦下并记下来, 一个也不会真的发出去。"别的网站"是本机的另一个端口 (REMOTE)。
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from checklib import fail, see, show

SEE = see("06_complete_chat", "10. 安全的默认值")
SETUP = "exercises/README.md 的开头 (这个练习需要浏览器)"
ROOT = Path(__file__).resolve().parents[3]
ORIGIN = "http://127.0.0.1:9"  # 假页面的网址
REMOTE = "http://127.0.0.1:10"  # "别的网站": 模型输出里的图片、样式表都指向这里
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# 页面自己的元素排在回答后面: 模型输出里同名的 id 会先被找到 (DOM clobbering, 06b 第 7 节)
PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>聊天</title>
<script>
window.pwned = [];  // 模型输出里的脚本一旦运行, 就会往这里记一笔
window.jsErrors = [];  // 你的文件里的 JS 错误 (带行号)
addEventListener("error", (e) => jsErrors.push(`${e.filename.split("/").pop()} 第 ${e.lineno} 行: ${e.message}`));
</script>
<script src="/vendor/marked.umd.js"></script>
<script src="/vendor/purify.min.js"></script>
<script src="/06_safe_render.js"></script>
</head><body>
<main id="answers"></main>
<button id="send">发送</button>
<p id="footer">页面的其余部分</p>
</body></html>"""

# 每一段都会被单独渲染在一个回答框里
SCRIPTS = {
    "<img onerror>": "看图: <img src=x onerror=\"pwned.push('img onerror')\">",
    "<svg><animate onbegin>": "<svg><animate onbegin=\"pwned.push('svg onbegin')\" attributeName=x dur=1s></animate></svg>",
    "<image/src/onerror> (浏览器把 <image> 当成 <img>)": "<div>\n<image/src/onerror=pwned.push('image')>\n</div>",
    "<details ontoggle>": "<details open ontoggle=\"pwned.push('details ontoggle')\">展开</details>",
    "<iframe srcdoc>": "<iframe srcdoc=\"<script>parent.pwned.push('iframe srcdoc')</script>\"></iframe>",
    "<video><source onerror>": "<video><source onerror=\"pwned.push('source onerror')\"></video>",
    "<input autofocus onfocus>": "<input autofocus onfocus=\"pwned.push('input onfocus')\">",
}
LINKS = {
    "Markdown 链接 [点我](javascript:...)": "[点我](javascript:pwned.push(1))",
    '<a href="javascript:...">': "<a href=\"javascript:pwned.push('a href')\">点我</a>",
    '<a href="JaVaScRiPt&colon;...">': '<a href="JaVaScRiPt&colon;pwned.push(1)">点我</a>',
}
LOADS = {
    "Markdown 图片 ![..](网址)": f"![猫的照片]({REMOTE}/md-image.png)",
    "<img src>": f'<img src="{REMOTE}/img.gif" alt="">',
    "<img srcset>": f'<img srcset="{REMOTE}/srcset.png 1x">',
    "<picture><source srcset>": f'<picture><source srcset="{REMOTE}/picture.png"><img alt="p"></picture>',
    "<video poster>": f'<video poster="{REMOTE}/poster.png"></video>',
    "<audio src>": f'<audio src="{REMOTE}/audio.mp3" autoplay></audio>',
    "<link rel=stylesheet>": f'<link rel="stylesheet" href="{REMOTE}/link.css">',
    "<style>@import (在一段文字之后)": f'先说一句。\n\n<style>@import url("{REMOTE}/import.css");</style>',
    "<svg><image href>": f'<svg><image href="{REMOTE}/svg-image.png"></image></svg>',
    "<image/src> (就是 <img>)": f"<div>\n<image/src={REMOTE}/image-tag.png>\n</div>",
    "style 属性里的 background": f"<p style=\"background:url('{REMOTE}/background.png')\">背景</p>",
    "<table background>": f'<table background="{REMOTE}/table.png"><tr><td>表</td></tr></table>',
    "<input type=image>": f'<input type="image" src="{REMOTE}/input.png">',
    "<object data>": f'<object data="{REMOTE}/object.swf"></object>',
    "<embed src>": f'<embed src="{REMOTE}/embed.swf">',
}
MARKDOWN = (
    "## 小标题\n\n**粗体**、*斜体* 和 `code`\n\n"
    "| 列 | 值 |\n|---|---|\n| 甲 | 1 |\n\n"
    '```js\nif (a < b && c > d) alert("<b>")\n```\n\n'
    "- 一\n- 二\n\n"
    f"[文档]({REMOTE}/docs?x=1&y=2)\n\n"
    "1 < 2 && 3 > 2, 'single' \"double\" <不是标签>"
)

_session: dict[str, Any] = {}


def launch(playwright: Any) -> Any:
    """CHROMIUM_PATH 或 Debian 的 chromium; 没有就试本机装的 Chrome / Edge, 最后是 Playwright 自己下载的。"""
    path = os.environ.get("CHROMIUM_PATH") or "/usr/bin/chromium"
    tries = [{"executable_path": path}] if Path(path).exists() else []
    tries += [{"channel": "chrome"}, {"channel": "msedge"}, {}]
    first_error = ""
    for options in tries:
        try:
            return playwright.chromium.launch(args=CHROMIUM_ARGS, **options)
        except Exception as exc:  # noqa: BLE001 — 这个不行就试下一个
            first_error = first_error or str(exc).strip().splitlines()[0]
    fail(
        "一个能用的 Chromium 或 Chrome (这个练习在真的浏览器里检查)",
        "没有启动成功的浏览器。Debian/Ubuntu: sudo apt-get install chromium; "
        "其他系统: 装 Google Chrome, 或者 python -m playwright install chromium。"
        f"第一次尝试的错误: {first_error}",
        SETUP,
    )


def browser() -> Any:
    if "browser" not in _session:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            fail(
                "装好 playwright (这个练习在真的浏览器里检查)",
                "没有 playwright: python -m pip install -r requirements-dev.txt",
                SETUP,
            )
        _session["playwright"] = sync_playwright().start()
        _session["browser"] = launch(_session["playwright"])
    return _session["browser"]


def teardown() -> None:
    """runner.py 在全部检查之后调用: 关掉浏览器, 不留进程。"""
    if "browser" in _session:
        _session["browser"].close()
    if "playwright" in _session:
        _session["playwright"].stop()


def served_files(ex: Any) -> dict[str, tuple[bytes, str]]:
    """检查交给浏览器的文件: 页面、两个库和你的文件 (网址 → (内容, 类型))。"""
    return {
        f"{ORIGIN}/": (PAGE.encode(), "text/html; charset=utf-8"),
        f"{ORIGIN}/vendor/marked.umd.js": ((ROOT / "vendor/marked.umd.js").read_bytes(), "text/javascript"),
        f"{ORIGIN}/vendor/purify.min.js": ((ROOT / "vendor/purify.min.js").read_bytes(), "text/javascript"),
        f"{ORIGIN}/06_safe_render.js": (Path(ex.path).read_bytes(), "text/javascript; charset=utf-8"),
    }  # fmt: skip


def open_tab(ex: Any) -> Any:
    """一个标签页: served_files 由这里直接交给浏览器; 别的请求一律拦下, 记进 _session["requests"]。"""
    if "files" not in _session:  # 每项检查一个新标签页, 文件只读一次
        _session["files"] = served_files(ex)
    files = _session["files"]

    def serve(route: Any) -> None:
        url = route.request.url
        if url in files:
            body, kind = files[url]
            route.fulfill(body=body, content_type=kind)
        else:
            _session["requests"].append(url)
            route.abort()

    page = browser().new_page()
    page.route("**/*", serve)
    return page


class Page:
    """一个新加载的页面: vendor/ 的两个库和被检查的文件; 记下页面想发出的每一个请求和每一个 JS 错误。
    每项检查一个新的标签页 (页面里的全局变量、设置和钩子都从头来过)。"""

    def __init__(self, ex: Any) -> None:
        self.requests: list[str] = []
        if "page" in _session:
            _session["page"].close()  # 上一项检查的页面可能正在被模型输出带走 (meta refresh)
        self.page = _session["page"] = open_tab(ex)
        _session["requests"] = self.requests  # 这一次加载之后的请求记在这里
        self.page.goto(f"{ORIGIN}/")
        if not self.page.evaluate("typeof renderAnswer === 'function'"):
            errors = self.page.evaluate("window.jsErrors")
            fail(
                "06_safe_render.js 定义了函数 renderAnswer(box, text)",
                "页面里没有 renderAnswer。" + ("JS 出错了: " + "; ".join(errors) if errors else ""),
            )

    def render(self, texts: list[str], prefixes: bool = False) -> list[dict[str, Any]]:
        """每段文字渲染进自己的回答框 (prefixes: 像流式那样, 用每一个前缀依次渲染); 等一会儿, 返回每个框的情况。"""
        try:
            return self._render(texts, prefixes)
        except Exception as exc:  # noqa: BLE001 — 页面被带走时, 页面里正在运行的代码也没了
            if "context was destroyed" not in str(exc):
                raise
            fail(
                "页面留在原地: 模型的输出不能让整个页面跳走",
                f"页面开始跳转到别处 (请求了 {show(list(dict.fromkeys(self.requests)))}); 是 <meta http-equiv=refresh> 吗?",
            )

    def _render(self, texts: list[str], prefixes: bool) -> list[dict[str, Any]]:
        result = self.page.evaluate(
            """async ([texts, prefixes]) => {
                const boxes = [];
                for (const text of texts) {
                    const box = document.createElement("div");
                    document.getElementById("answers").append(box);
                    boxes.push(box);
                    const steps = prefixes ? [...Array(text.length + 1).keys()] : [text.length];
                    try { for (const n of steps) renderAnswer(box, text.slice(0, n)); }
                    catch (e) { return { error: `${e.name}: ${e.message}`, text }; }
                }
                await new Promise((resolve) => setTimeout(resolve, 250));  // 让图片的 onerror、autofocus 有机会发生
                return { boxes: boxes.map((box) => ({
                    html: box.innerHTML,
                    text: box.textContent,
                    links: [...box.querySelectorAll("a")].map((a) => ({
                        href: a.getAttribute("href"), protocol: a.href ? new URL(a.href).protocol : "",
                        target: a.getAttribute("target"), rel: a.getAttribute("rel") || "" })),
                    tags: [...box.querySelectorAll("*")].map((node) => node.tagName.toLowerCase()),
                    positioned: [...box.querySelectorAll("*")].some((node) =>
                        ["fixed", "absolute", "sticky"].includes(getComputedStyle(node).position)),
                })) };
            }""",
            [texts, prefixes],
        )
        if "error" in result:
            fail(
                "renderAnswer 对任何文字都不抛异常",
                f"渲染 {show(result['text'], 120)} 时: {result['error']}",
            )
        return result["boxes"]

    def pwned(self) -> list[str]:
        """运行过的脚本, 去掉重复 (流式渲染时同一段会运行很多次)。"""
        return list(dict.fromkeys(map(str, self.page.evaluate("window.pwned"))))


def check_scripts_do_not_run(ex):
    """模型输出里的 HTML 不能运行脚本: on* 属性、iframe、javascript: 链接都不行"""
    page = Page(ex)
    boxes = page.render([*SCRIPTS.values(), *LINKS.values()])
    ran = page.pwned()
    if ran:
        fail(
            "模型的输出只是文字, 一行脚本都不运行",
            f"运行了: {', '.join(ran)}。模型输出里带事件属性的 HTML 进了页面 (marked 原样保留文字里的 HTML; 清理的设置漏了它)",
        )
    for name, box in zip(LINKS, boxes[len(SCRIPTS) :], strict=True):
        for link in box["links"]:
            if link["protocol"] not in ("http:", "https:", "mailto:", "about:", ""):
                fail(
                    "链接只能是 http/https/mailto: javascript: 链接被点一下就会运行脚本",
                    f"{name} 渲染成了 <a href={show(link['href'])}>",
                )


def check_nothing_loads(ex):
    """模型输出不能让页面加载任何东西: 图片、视频、音频、样式表、背景图; Markdown 图片显示成文字"""
    page = Page(ex)
    boxes = page.render(list(LOADS.values()))
    loaded = [
        next((name for name, text in LOADS.items() if url in text), url) for url in page.requests
    ]
    if loaded:
        fail(
            "一个请求都不发出: 加载一张别处的图片, 就等于告诉别人'有人正在看这段回答'",
            f"页面去请求了: {', '.join(dict.fromkeys(loaded))}",
        )
    if "猫的照片" not in boxes[0]["text"]:
        fail(
            'Markdown 图片 ![猫的照片](...) 显示成文字, "猫的照片" 还看得见',
            f"回答框里的文字是 {show(boxes[0]['text'])}: 读者不知道这里本来有一张图",
        )


def check_page_intact(ex):
    """模型输出不能破坏页面: 样式、盖住页面的层、表单、<base>、冒充页面元素的 id"""
    attacks = [
        "先说一句。\n\n<style>#footer { display: none }</style>",
        '<div style="position: fixed; inset: 0; background: white">请重新登录</div>',
        f'<form action="{REMOTE}/steal"><input name="password" placeholder="请输入密码"></form>',
        f'<base href="{REMOTE}/">',
        '<button id="send">假的发送按钮</button> <a id="config" name="config">x</a>',
        f'<meta http-equiv="refresh" content="0;url={REMOTE}/meta-refresh">',
    ]
    page = Page(ex)
    boxes = page.render(attacks)
    state = page.page.evaluate(
        """() => ({
            footer: getComputedStyle(document.getElementById("footer")).display,
            forms: document.forms.length + document.querySelectorAll("#answers input").length,
            base: document.baseURI,
            send: document.getElementById("send").parentElement.tagName,
            config: "config" in window,
        })"""
    )
    problems = []
    if state["footer"] == "none":
        problems.append("<style> 把页面的其余部分藏了起来")
    if any(box["positioned"] for box in boxes):
        problems.append("style 属性做出了一个盖住整个页面的层 (position: fixed)")
    if state["forms"]:
        problems.append("回答里出现了表单和输入框 (可以用来骗密码)")
    if state["base"] != f"{ORIGIN}/":
        problems.append(f"<base> 把页面的基准网址改成了 {state['base']}")
    if state["send"] != "BODY":
        problems.append(
            '模型输出的 id 冒充了页面的元素: document.getElementById("send") 找到的是回答里的按钮'
        )
    if state["config"]:
        problems.append("模型输出的 id/name 变成了全局变量: window.config 是回答里的元素")
    if problems:
        fail("页面的样子和行为不受模型输出影响", "; ".join(problems))


def check_markdown_and_text(ex):
    """普通的 Markdown 照常显示, 文字一字不差; 链接在新窗口打开, 带 rel="noopener noreferrer\""""
    raw_link = f'<a href="{REMOTE}/raw" target="_top" rel="opener">模型自己写的链接</a>'
    box, raw = Page(ex).render([MARKDOWN, raw_link])
    for tag, what in [
        ("h2", "## 小标题"),
        ("strong", "**粗体**"),
        ("em", "*斜体*"),
        ("code", "`code`"),
        ("pre", "代码块"),
        ("li", "列表"),
        ("td", "表格"),
    ]:
        if tag not in box["tags"]:
            fail(f"{what} 显示成 <{tag}>", f"回答框里的 HTML: {show(box['html'])}")
    for piece in [
        'if (a < b && c > d) alert("<b>")',
        "1 < 2 && 3 > 2, 'single' \"double\" <不是标签>",
    ]:
        if piece not in box["text"]:
            fail(f"文字一字不差地显示: {show(piece)}", f"显示出来的是: {show(box['text'])}")
    expected = f"{REMOTE}/docs?x=1&y=2"
    if not any(link["href"] == expected for link in box["links"]):
        fail(f"[文档](...) 是一个指向 {expected} 的链接", f"回答框里的 HTML: {show(box['html'])}")
    for where, links in [("Markdown 链接", box["links"]), ("模型输出里的 <a target=_top rel=opener>", raw["links"])]:  # fmt: skip
        for link in links:
            if link["target"] != "_blank" or not {"noopener", "noreferrer"} <= set(
                link["rel"].split()
            ):
                fail(
                    '每个链接都带 target="_blank" 和 rel="noopener noreferrer": 在新窗口打开, 新窗口拿不到本页 (window.opener)',
                    f"{where}: target={show(link['target'])}, rel={show(link['rel'])}",
                )


def check_every_prefix(ex):
    """流式: 用每一个前缀依次渲染 (被切在半路的标签), 每一步都安全"""
    text = (
        f"图来了 <img src=x onerror=\"pwned.push('半路的 img')\"> 还有 ![图]({REMOTE}/half.png) 完"
    )
    page = Page(ex)
    page.render([text], prefixes=True)
    ran, loaded = page.pwned(), list(dict.fromkeys(page.requests))
    if ran or loaded:
        fail(
            "回答一片一片到来时, 每一次渲染都不运行脚本、不加载东西",
            f"运行了 {show(ran)}, 请求了 {show(loaded)}",
        )
