// 参考答案: 06_safe_render (和 chat.html 的第 3 段一样的做法)

// 全局的设置只做一次: 放在函数外面。放进 renderAnswer 里, 每渲染一次就多叠一层, 越来越慢。
const escapeHtml = (s) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
marked.use({
  breaks: true,  // 聊天里的单个换行就是换行
  renderer: { image: ({ href, text }) => escapeHtml(`[图片: ${text || href}]`) },  // 图片只显示成文字, 不去请求
});

const PURIFY = {  // 白名单: 只留 Markdown 需要的标签和属性。没有 img/video/audio/style/form, 没有 src、style、id、class
  ALLOWED_TAGS: ["p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "del", "s", "code", "pre",
    "blockquote", "ul", "ol", "li", "a", "table", "thead", "tbody", "tr", "th", "td", "sup", "sub", "kbd"],
  ALLOWED_ATTR: ["href", "title", "start", "align"],
  SANITIZE_NAMED_PROPS: true,  // 万一有 id/name 漏进来, 加上 user-content- 前缀
};

DOMPurify.addHook("afterSanitizeAttributes", (node) => {  // 链接在新窗口打开, 新窗口拿不到本页 (window.opener)
  if (node.tagName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer");
  }
});

function renderAnswer(box, text) {
  box.innerHTML = DOMPurify.sanitize(marked.parse(text), PURIFY);  // 先转换, 再清理, 最后才放进页面
}
