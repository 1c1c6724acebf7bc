"""Submitted articles' Markdown: rendered by markdown-it-py, sanitized by nh3, and its plain text."""
import html as html_lib

import nh3
from markdown_it import MarkdownIt

# CommonMark with raw HTML off: a `<script>` typed into the body is shown as text, never rendered.
# nh3 (ammonia) cleans the result anyway, so a link can never carry a javascript: URL or a handler.
_renderer = MarkdownIt("commonmark", {"html": False}).enable("table").enable("strikethrough")
_BLOCKS = ("</p>", "</h1>", "</h2>", "</h3>", "</h4>", "</h5>", "</h6>", "</li>", "</blockquote>", "</pre>",
           "</tr>", "<br>", "<br />", "<hr>", "<hr />")


def render(markdown: str) -> str:
    """Returns the Markdown as sanitized HTML."""
    return nh3.clean(_renderer.render(markdown or ""), link_rel="noopener noreferrer nofollow")


def plain_text(rendered_html: str) -> str:
    """Returns the text of rendered HTML, one paragraph a line, without any markup (the library's `text`)."""
    marked = rendered_html
    for closing in _BLOCKS:
        marked = marked.replace(closing, closing + "\n")
    text = html_lib.unescape(nh3.clean(marked, tags=set()))
    return "\n".join(line.strip() for line in text.splitlines() if line.strip())
