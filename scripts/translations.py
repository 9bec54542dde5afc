"""Keep the Simplified Chinese catalogue complete.

    python scripts/translations.py                    # makemessages, list what is untranslated
    python scripts/translations.py --fill FILE.json   # ... and fill those from {"msgid": "译文"}
    python scripts/translations.py --merge OTHER.po   # ... and take translations from another catalogue
                                                      #     (e.g. a branch's version, when merging)
Always ends with compilemessages, and exits 1 while any message is untranslated or fuzzy.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path

import polib

ROOT = Path(__file__).resolve().parent.parent
PO = ROOT / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MANAGE = [sys.executable, str(ROOT / "manage.py")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--fill", type=Path, help="JSON object of msgid -> translation")
    parser.add_argument("--merge", type=Path, action="append", default=[], help="another django.po to take from")
    args = parser.parse_args()

    known = {}
    for other in args.merge:
        known.update({e.msgid: e.msgstr for e in polib.pofile(str(other)) if e.msgstr and "fuzzy" not in e.flags})
    if args.fill:
        known.update(json.loads(args.fill.read_text("utf-8")))
    previous = {e.msgid: e.msgstr for e in polib.pofile(str(PO)) if e.msgstr and "fuzzy" not in e.flags}

    subprocess.run([*MANAGE, "makemessages", "-l", "zh_Hans", "--no-obsolete"], check=True, cwd=ROOT)
    catalogue = polib.pofile(str(PO))
    for entry in catalogue:
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
            entry.msgstr = ""
            entry.previous_msgid = None
        if not entry.msgstr:
            entry.msgstr = known.get(entry.msgid) or previous.get(entry.msgid, "")
    catalogue.save()
    subprocess.run([*MANAGE, "compilemessages", "-l", "zh_Hans", "--ignore", ".venv"], check=True, cwd=ROOT)

    missing = [e.msgid for e in catalogue if not e.msgstr]
    for msgid in missing:
        print(f"untranslated: {msgid!r}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
