"""Tip HTML: refused when it carries active content, otherwise cleaned with nh3 (the
Rust ammonia sanitiser) to a small allow-list before it is stored.

Refusing rather than silently stripping a <script> tells the author something was
wrong with what they pasted; everything else nh3 does not allow (unknown tags,
classes, styles) is dropped quietly.
"""

from html.parser import HTMLParser

import nh3

ALLOWED_TAGS = {"p", "br", "h2", "h3", "h4", "strong", "em", "b", "i", "u", "ul", "ol", "li", "blockquote", "a",
                "img", "figure", "figcaption", "table", "thead", "tbody", "tr", "th", "td", "hr", "span", "sup", "sub"}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "img": {"src", "alt", "width", "height"}, "th": {"scope"}}
URL_SCHEMES = {"http", "https", "mailto"}
ACTIVE_TAGS = {"script", "iframe", "object", "embed", "style", "form", "input", "button", "link", "meta", "base",
               "svg", "math", "frame", "frameset", "applet", "template"}
ACTIVE_SCHEMES = ("javascript:", "vbscript:", "data:")


class UnsafeHtml(ValueError):
    """The HTML carries scripts or other active content; args[0] says what."""


class _ActiveContentFinder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ACTIVE_TAGS:
            self.found.append(f"<{tag}>")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"{name}=")
            elif name in ("href", "src", "action", "formaction", "xlink:href") and value:
                if "".join(value.split()).lower().startswith(ACTIVE_SCHEMES):
                    self.found.append(f"{name}={value.split(':', 1)[0]}:")

    handle_startendtag = handle_starttag


def sanitise(body_html: str) -> str:
    """The stored form of `body_html`, or UnsafeHtml naming the active content."""
    finder = _ActiveContentFinder()
    finder.feed(body_html)
    finder.close()
    if finder.found:
        raise UnsafeHtml(", ".join(sorted(set(finder.found))))
    return nh3.clean(body_html, tags=ALLOWED_TAGS, attributes=ALLOWED_ATTRIBUTES, url_schemes=URL_SCHEMES,
                     link_rel="noopener noreferrer nofollow", strip_comments=True)
