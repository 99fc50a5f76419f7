"""The browser-test plugin itself (config/tests/browser.py): when it skips, and the
screenshot it takes of a failed test's page, checked without a browser."""

import sys
import textwrap
from pathlib import Path

from config.tests import browser

ROOT = Path(__file__).resolve().parents[2]


def test_missing_chromium_says_how_to_install_it(monkeypatch, tmp_path):
    monkeypatch.setattr(browser, "CHROMIUM", str(tmp_path / "chromium"))
    assert browser.browser_missing() == (
        f"no Chromium at {tmp_path / 'chromium'}: install Debian's chromium: apt-get install chromium"
    )


def test_missing_playwright_is_reported(monkeypatch):
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)  # import fails
    assert browser.browser_missing() == "Playwright is not installed (pip install -r requirements.txt)"


def test_a_failed_test_gets_a_screenshot_and_its_path_printed(pytester, monkeypatch, tmp_path):
    shots = tmp_path / "shots"
    pytester.makepyfile(
        test_inner=textwrap.dedent(
            """
            import pytest

            class FakePage:
                url = "http://localhost:1/admin/"

                def screenshot(self, *, path, full_page, timeout):
                    open(path, "wb").write(b"png")

            @pytest.fixture
            def page():
                return FakePage()

            def test_fails(page):
                assert 1 == 2

            def test_passes(page):
                pass
            """
        )
    )
    monkeypatch.setenv("BROWSER_SCREENSHOT_DIR", str(shots))
    monkeypatch.setenv("PYTHONPATH", str(ROOT))

    result = pytester.runpytest_subprocess(
        "-p", "config.tests.browser", "-p", "no:django", "-p", "no:cacheprovider"
    )

    result.assert_outcomes(passed=1, failed=1)
    expected = shots / "test_inner.py_test_fails.png"
    result.stdout.fnmatch_lines(
        ["*- browser -*", "URL: http://localhost:1/admin/", f"Screenshot: {expected}"]
    )
    assert [path.name for path in shots.iterdir()] == [expected.name]
