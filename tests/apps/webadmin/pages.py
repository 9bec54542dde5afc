"""Read what a rendered web admin page shows, by the data attributes the templates
put on it (so assertions hold in either language)."""

from html.parser import HTMLParser

_VOID_TAGS = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


class _PageReader(HTMLParser):
    def __init__(self):
        super().__init__()
        self.figures: dict[str, int] = {}
        self.navigation: list[str] = []
        self.texts: dict[str, str] = {}  # data-testid -> text of its first element
        self._open: list[dict] = []  # one entry per open element: its test id, figure key and text

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if "data-nav" in attrs:
            self.navigation.append(attrs["data-nav"])
        if tag in _VOID_TAGS:
            return
        figure = attrs.get("data-figure") or (self._open[-1]["figure"] if self._open else None)
        self._open.append({"tag": tag, "test_id": attrs.get("data-testid"), "figure": figure, "text": []})

    def handle_endtag(self, tag):
        if tag in _VOID_TAGS or not self._open:
            return
        element = self._open.pop()
        text = " ".join("".join(element["text"]).split())
        if element["test_id"]:
            self.texts.setdefault(element["test_id"], text)
            if element["test_id"] == "figure-value" and element["figure"]:
                self.figures[element["figure"]] = int(text)

    def handle_data(self, data):
        for element in self._open:
            element["text"].append(data)


def read_page(html: str | bytes) -> _PageReader:
    reader = _PageReader()
    reader.feed(html.decode() if isinstance(html, bytes) else html)
    reader.close()
    return reader


def figures_in(html) -> dict[str, int]:
    """{figure key: value} of every figure on the page."""
    return read_page(html).figures


def navigation_in(html) -> list[str]:
    """The URL names of the navigation's links, in order."""
    return read_page(html).navigation


def text_of(html, test_id: str) -> str | None:
    """The whitespace-normalised text of the first element with that data-testid."""
    return read_page(html).texts.get(test_id)
