"""The Simplified Chinese catalogue: complete, and compiled (the .mo next to the .po
is what Django serves, so a stale one shows English to Chinese users)."""

import re
from pathlib import Path

from django.conf import settings
from django.utils import translation

PO_FILE = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
_STRING = r'"(?:[^"\\]|\\.)*"'
_ENTRY = re.compile(rf"(?P<comments>(?:^#.*\n)*)^msgid (?P<id>{_STRING}(?:\n{_STRING})*)\n"
                    rf"^msgstr (?P<str>{_STRING}(?:\n{_STRING})*)", re.MULTILINE)


def _unquote(block: str) -> str:
    return "".join(bytes(line[1:-1], "utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")
                   for line in block.split("\n"))


def catalogue_entries() -> list[tuple[str, str, str]]:
    """(msgid, msgstr, comments) of every entry but the header."""
    text = PO_FILE.read_text("utf-8")
    entries = [(_unquote(m["id"]), _unquote(m["str"]), m["comments"]) for m in _ENTRY.finditer(text)]
    return [entry for entry in entries if entry[0]]


def test_every_message_has_a_chinese_translation():
    # When
    entries = catalogue_entries()

    # Then
    assert len(entries) > 50
    assert [msgid for msgid, msgstr, _ in entries if not msgstr.strip()] == []
    assert [msgid for msgid, _, comments in entries if "fuzzy" in comments] == []


def test_compiled_catalogue_serves_every_translation():
    # Given
    entries = catalogue_entries()

    # When
    with translation.override("zh-hans"):
        served = {msgid: translation.gettext(msgid) for msgid, _, _ in entries}

    # Then: compilemessages was run after the last edit of the .po
    assert served == {msgid: msgstr for msgid, msgstr, _ in entries}
