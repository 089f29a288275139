"""ui.markdown.escape_markdown: text from users and the database renders as itself, never as Markdown.

Checked three ways: the exact escaping of every special character, a token walk proving no Markdown-significant
character is left bare, and a real CommonMark renderer (markdown-it-py, a dependency of rich) producing no link,
image, emphasis, heading, list, quote, code or HTML from hostile input. The browser side (GFM autolinks,
Streamlit's directives) is in tests/test_browser_markdown.py.
"""

from __future__ import annotations

import string

import pytest
from apptest_helpers import as_read

from ui.markdown import escape_markdown

HOSTILE = [
    "![x](http://127.0.0.1:9/p)",
    "[login again](http://127.0.0.1:9/phish)",
    "<img src='http://127.0.0.1:9/h'> <script>alert(1)</script> <b>bold</b>",
    ":red[alarm] :blue-background[x] :material/home: :rainbow[r]",
    "**bold** __b__ *it* _it_ ~~strike~~ `code` ``two``",
    "# heading",
    "## heading two",
    "- item",
    "+ item",
    "* item",
    "1. first",
    "2) second",
    "> quote",
    "a | b\n--- | ---\nc | d",
    "title\n=====",
    "title\n-----",
    "    indented code",
    "```\nfenced\n```",
    "$x^2$ and $$y$$",
    "&amp; &lt;img&gt; &#x5b;",
    "back\\slash \\[not a link\\](http://127.0.0.1:9/e)",
    "<http://127.0.0.1:9/angle> <bob@example.com>",
    "[ref]: http://127.0.0.1:9/ref\n[ref]",
    "line one\nline two\r\nline three",
]


def bare_specials(escaped: str) -> list[str]:
    """ASCII punctuation in ``escaped`` that is not preceded by its escaping backslash."""
    bare = []
    i = 0
    while i < len(escaped):
        ch = escaped[i]
        if ch == "\\":
            assert i + 1 < len(escaped) and escaped[i + 1] in string.punctuation, f"dangling backslash at {i}"
            i += 2
            continue
        if ch in string.punctuation:
            bare.append(ch)
        i += 1
    return bare


@pytest.mark.parametrize("ch", list(string.punctuation))
def test_every_ascii_punctuation_is_escaped(ch: str) -> None:
    assert escape_markdown(ch) == "\\" + ch
    assert escape_markdown(f"a {ch} b") == f"a \\{ch} b"


@pytest.mark.parametrize("ch", list("[]()!*_`~#<>|\\$:-+.&"))
def test_the_characters_the_issue_names(ch: str) -> None:
    assert escape_markdown(ch) == "\\" + ch


def test_links_images_directives_and_html() -> None:
    assert escape_markdown("![x](http://h/p)") == "\\!\\[x\\]\\(http\\:\\/\\/\u2060h\\/p\\)"
    assert escape_markdown(":red[x]") == "\\:red\\[x\\]"
    assert escape_markdown(":material/home:") == "\\:material\\/home\\:"
    assert escape_markdown("<img src=x>") == "\\<img src\\=x\\>"
    assert escape_markdown("<b>") == "\\<b\\>"


def test_leading_markers_and_lines() -> None:
    assert escape_markdown("- a") == "\\- a"
    assert escape_markdown("+ a") == "\\+ a"
    assert escape_markdown("1. a") == "1\\. a"
    assert escape_markdown("# a") == "\\# a"
    # Lines stay lines (hard breaks); leading spaces cannot make an indented code block.
    assert escape_markdown("a\n- b\r\nc") == "a  \n\\- b  \nc"
    assert escape_markdown("    code") == "\u00a0" * 4 + "code"


def test_gfm_autolinks_are_broken_by_a_word_joiner() -> None:
    assert escape_markdown("see http://h.io") == "see http\\:\\/\\/\u2060h\\.io"
    assert escape_markdown("HTTPS://h.io") == "HTTPS\\:\\/\\/\u2060h\\.io"
    assert escape_markdown("www.h.io") == "www\u2060\\.h\\.io"
    assert escape_markdown("bob@h.io") == "bob\u2060\\@h\\.io"


def test_plain_words_and_none() -> None:
    assert escape_markdown("orders 2024") == "orders 2024"
    assert escape_markdown("Relatório de vendas") == "Relatório de vendas"
    assert escape_markdown(None) == ""
    assert escape_markdown(42) == "42"


@pytest.mark.parametrize("text", HOSTILE)
def test_nothing_is_left_bare_and_the_text_reads_back(text: str) -> None:
    escaped = escape_markdown(text)
    assert bare_specials(escaped) == []
    assert as_read(escaped).replace("  \n", "\n") == text.replace("\r\n", "\n").replace("    ", " " * 4)


@pytest.mark.parametrize("text", HOSTILE)
def test_commonmark_renders_only_text(text: str) -> None:
    markdown_it = pytest.importorskip("markdown_it")
    renderer = markdown_it.MarkdownIt("commonmark").enable(["table", "strikethrough"])
    rendered = renderer.render(escape_markdown(text))
    tags = {
        tag
        for tag in (
            "<a ",
            "<img",
            "<em",
            "<strong",
            "<s>",
            "<code",
            "<pre",
            "<h1",
            "<h2",
            "<ul",
            "<ol",
            "<blockquote",
            "<table",
            "<hr",
            "<script",
            "<b>",
        )
        if tag in rendered
    }
    assert tags == set(), rendered
    assert rendered.startswith("<p>") and rendered.count("<p>") == 1, rendered


@pytest.mark.parametrize(
    ("text", "span"),
    [
        ("public.orders", "`public.orders`"),
        ("a`b", "``a`b``"),
        ("``x", "``` ``x ```"),
        ("[l](http://h/p)", "`[l](http://h/p)`"),
        ("two\nlines", "`two lines`"),
        ("", ""),
    ],
)
def test_code_spans_hold_any_name(text: str, span: str) -> None:
    assert escape_markdown(text, code=True) == span


@pytest.mark.parametrize("text", ["a`b", "``x` y``", "![x](http://127.0.0.1:9/p)", "<img src=x> :red[x]"])
def test_a_code_span_renders_as_one_code_element(text: str) -> None:
    markdown_it = pytest.importorskip("markdown_it")
    rendered = markdown_it.MarkdownIt("commonmark").render(escape_markdown(text, code=True))
    assert rendered.count("<code>") == 1 and "<a " not in rendered and "<img" not in rendered, rendered
    assert rendered == f"<p><code>{markdown_it.common.utils.escapeHtml(text)}</code></p>\n"


def test_model_markdown_defangs_images_and_links_but_keeps_formatting() -> None:
    from markdown_it import MarkdownIt

    from ui.markdown import model_markdown

    answer = (
        "**Use** `payments`:\n\n- one\n- two\n\n"
        "![chart](https://127.0.0.1:9/leak?q=secret) and [docs](http://127.0.0.1:9/phish)\n\n"
        "[ref]: http://127.0.0.1:9/ref\n"
    )
    html = MarkdownIt("commonmark").render(model_markdown(answer))
    assert "<img" not in html and "<a " not in html
    assert "<strong>Use</strong>" in html and "<code>payments</code>" in html and "<li>one</li>" in html
    assert "chart" in html and "docs" in html and "127.0.0.1" in html  # the target is shown, as text
