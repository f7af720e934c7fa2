"""The shipped Simplified Chinese catalogue is complete (nothing in the code is missing from it, nothing in it is
untranslated), and the compiled .mo matches the .po."""

import gettext
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

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


# What `make messages` leaves out of the catalogue (see the Makefile); everything else is scanned for strings.
NOT_SCANNED = (".venv", "var", "test-output", "staticfiles", "bench", ".git", "__pycache__", ".pytest_cache")


def _catalogue_ids(path: Path) -> set[tuple[str, str]]:
    """(msgctxt, msgid) of every live entry of a .po or .pot file (obsolete `#~` entries are skipped)."""
    ids, current, key = set(), {}, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        keyword = line.split(" ", 1)[0]
        if keyword in ("msgctxt", "msgid", "msgid_plural", "msgstr") or keyword.startswith("msgstr["):
            key = keyword
            current[key] = _unquote(line.split(" ", 1)[1])
        elif line.startswith('"') and key:
            current[key] += _unquote(line)
        elif not line.strip() and current:
            if current.get("msgid"):
                ids.add((current.get("msgctxt", ""), current["msgid"]))
            current, key = {}, None
    return ids


def _unquote(text: str) -> str:
    return text.strip()[1:-1]


def test_every_string_in_the_code_is_in_the_shipped_catalogue(tmp_path):
    """Extract the strings afresh (makemessages in a copy of the tree) and look each one up in the shipped .po."""
    if shutil.which("xgettext") is None:
        pytest.fail(
            "xgettext (GNU gettext) is not installed, so strings missing from the catalogue cannot be found: "
            "`make test` installs it (scripts/apt-install.sh gettext)."
        )
    root = Path(__file__).resolve().parents[2]
    copy = tmp_path / "tree"
    shutil.copytree(root, copy, ignore=shutil.ignore_patterns(*NOT_SCANNED, "*.pyc", "*.sqlite3"))
    # The copy has its own settings, so makemessages writes into the copy's locale/ and never into the real one.
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    result = subprocess.run(
        [sys.executable, "manage.py", "makemessages", "-l", "zh_Hans", "--keep-pot", "--no-obsolete", "-v", "0"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr

    extracted = _catalogue_ids(copy / "locale" / "django.pot")
    shipped = _catalogue_ids(LOCALE / "django.po")
    missing = sorted(extracted - shipped)
    shown = "\n".join(f"  {ctxt + ' | ' if ctxt else ''}{msgid}" for ctxt, msgid in missing[:40])
    assert not missing, (
        f"{len(missing)} strings in the code are not in locale/zh_Hans/LC_MESSAGES/django.po "
        f"(run `make messages`, translate them, compile):\n{shown}"
    )
