"""The shipped Simplified Chinese catalogue is complete, and the compiled .mo matches the .po."""

import gettext
import re
from pathlib import Path

LOCALE = Path(__file__).resolve().parents[2] / "locale" / "zh_Hans" / "LC_MESSAGES"
ENTRY = re.compile(r'^(#, .*\n)?(?:#.*\n)*(?:msgctxt "(.*)"\n)?msgid ((?:".*"\n)+)(?:msgid_plural (?:".*"\n)+)?', re.M)


def _entries() -> list[tuple[str, str]]:
    text = (LOCALE / "django.po").read_text(encoding="utf-8")
    blocks = [b for b in text.split("\n\n") if "msgid " in b and not b.startswith("#~")]
    entries = []
    for block in blocks:
        msgid = "".join(
            re.findall(r'"(.*)"', block.split("msgid ", 1)[1].split("\nmsgstr", 1)[0].split("\nmsgid_plural")[0])
        )
        entries.append((msgid, block))
    return [(m, b) for m, b in entries if m]


def test_no_untranslated_or_fuzzy_entries():
    missing = [m for m, block in _entries() if "#, fuzzy" in block or re.search(r'msgstr(\[0\])? ""\n?$', block)]
    assert missing == []


def test_compiled_catalogue_matches_the_source():
    with (LOCALE / "django.mo").open("rb") as fh:
        catalogue = gettext.GNUTranslations(fh)
    stale = [
        m
        for m, block in _entries()
        if "msgid_plural" not in block and "msgctxt" not in block and catalogue.gettext(_unescape(m)) == _unescape(m)
    ]
    assert stale == [], "run `make messages` (compilemessages) after editing django.po"


def _unescape(value: str) -> str:
    return value.encode("utf-8").decode("unicode_escape").encode("latin-1").decode("utf-8")
