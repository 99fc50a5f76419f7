"""The Indonesian catalog is complete: every message the code marks has a translation that
is not fuzzy, and the catalog compiles with gettext's checks (placeholders match)."""

import shutil
import subprocess
from pathlib import Path

import pytest
from django.core.management import call_command

CATALOG = Path("config") / "locale" / "id" / "LC_MESSAGES" / "django.po"
# What makemessages need not read: no message of the product lives there.
NOT_COPIED = shutil.ignore_patterns(
    ".git",
    ".venv",
    "__pycache__",
    "*.pyc",
    "*.mo",
    "media",
    "private",
    "staticfiles",
    "node_modules",
    "*.sqlite3*",
)

needs_gettext = pytest.mark.skipif(
    shutil.which("msgmerge") is None, reason="GNU gettext is not installed (.ci/system-deps installs it)"
)


def msgattrib(po: Path, flag: str) -> str:
    """The entries of `po` that `msgattrib` selects with `flag`, the header left out."""
    out = subprocess.run(
        ["msgattrib", flag, "--no-wrap", str(po)], capture_output=True, text=True, check=True
    )
    return "\n\n".join(
        block for block in out.stdout.split("\n\n") if block.strip() and 'msgid ""\nmsgstr ""' not in block
    )


def makemessages_in_copy(source: Path, tmp_path: Path, monkeypatch, settings) -> Path:
    """The project's makemessages (config/management/commands/makemessages.py) run in a copy
    of `source`, so the committed catalog is never touched; the copy's catalog."""
    copy = tmp_path / "project"
    shutil.copytree(source, copy, ignore=NOT_COPIED)
    settings.LOCALE_PATHS = [copy / "config" / "locale"]
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=["id"], verbosity=0)
    return copy / CATALOG


@needs_gettext
def test_every_message_in_the_code_has_an_indonesian_translation(tmp_path, monkeypatch, settings):
    """A message in the code missing from the committed catalog comes out untranslated, one
    whose English changed comes out fuzzy."""
    po = makemessages_in_copy(Path(settings.BASE_DIR), tmp_path, monkeypatch, settings)

    assert msgattrib(po, "--untranslated") == "", "messages with no Indonesian translation"
    assert msgattrib(po, "--only-fuzzy") == "", (
        "fuzzy Indonesian translations (check them, then drop the flag)"
    )
    check = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)], capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    assert "untranslated" not in check.stderr, check.stderr
    assert "fuzzy" not in check.stderr, check.stderr


@needs_gettext
def test_the_completeness_check_sees_a_new_message(tmp_path, monkeypatch, settings):
    """The check above can fail: a marked message the catalog lacks comes out untranslated."""
    source = tmp_path / "source"
    (source / CATALOG).parent.mkdir(parents=True)
    shutil.copy(Path(settings.BASE_DIR) / CATALOG, source / CATALOG)
    (source / "extra.py").write_text(
        'from django.utils.translation import gettext as _\n_("A brand new message.")\n'
    )

    po = makemessages_in_copy(source, tmp_path, monkeypatch, settings)

    assert 'msgid "A brand new message."' in msgattrib(po, "--untranslated")
