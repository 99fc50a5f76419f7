"""Browser tests: Playwright for Python driving Debian's Chromium, headless, against
pytest-django's live server (a threaded server on the test database).

A test marked `@pytest.mark.browser` takes the `page` fixture: a fresh browser context
whose relative URLs go to the live server, with a few seconds' timeout per step. Without
Chromium (or Playwright) these tests are skipped with a message saying how to get it;
with `REQUIRE_BROWSER=1` (CI) they fail instead, so CI cannot pass by skipping them.

When a test fails, its page is saved as a screenshot under `SCREENSHOT_DIR` and the path
is printed with the failure (CI keeps it in its log), with any JavaScript errors the page
raised. Loaded by the root conftest as a plugin.
"""

import os
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

# Debian's build: Playwright's own browser downloads are not reachable from here or in CI.
CHROMIUM = os.environ.get("BROWSER_EXECUTABLE", "/usr/bin/chromium")
# No sandbox (root in CI); no GPU; and nothing that reaches out to the network, which the
# machine does not have: without these Chromium stalls on connections it cannot make.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
STEP_TIMEOUT_MS = 5_000
NAVIGATION_TIMEOUT_MS = 10_000
SCREENSHOT_DIR = Path(
    os.environ.get(
        "BROWSER_SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / ".ci" / "artifacts" / "screenshots"
    )
)
INSTALL_HINT = "install Debian's chromium: apt-get install chromium"


def browser_missing() -> str | None:
    """Why browser tests cannot run here, or None when they can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "Playwright is not installed (pip install -r requirements.txt)"
    if not os.access(CHROMIUM, os.X_OK):
        return f"no Chromium at {CHROMIUM}: {INSTALL_HINT}"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not any("browser" in item.keywords for item in items):
        return
    reason = browser_missing()
    if reason is None:
        return
    if os.environ.get("REQUIRE_BROWSER"):
        raise pytest.UsageError(f"REQUIRE_BROWSER is set but the browser tests cannot run: {reason}")
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "browser" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="module")
def chromium() -> Iterator:
    """One headless Chromium per test module.

    Playwright's sync API keeps an asyncio event loop in this thread while it runs, which
    makes Django refuse ORM calls from the test ("async context"). The test code is still
    plain synchronous code, so Django is told so for as long as the browser is up."""
    from playwright.sync_api import sync_playwright

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            yield browser
            browser.close()


@pytest.fixture
def page(chromium, live_server, request) -> Iterator:
    """A page in a fresh context (no cookies) on the live server, with short timeouts.
    JavaScript errors and failed requests for static files fail the test."""
    context = chromium.new_context(base_url=live_server.url, accept_downloads=True)
    context.set_default_timeout(STEP_TIMEOUT_MS)
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    # Every Content-Security-Policy violation fails the test: the page reports it as an
    # event (kept on window) and Chromium logs it to the console.
    context.add_init_script(CSP_LISTENER)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
    page.on(
        "console",
        lambda message: (
            problems.append(f"CSP violation (console): {message.text}")
            if "Content Security Policy" in message.text
            else None
        ),
    )
    page.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} for {response.url}")
            if response.status >= 400 and "/static/" in response.url
            else None
        ),
    )
    request.node.browser_problems = problems
    _screenshot_path(request.node.nodeid).unlink(missing_ok=True)  # one from an earlier failed run
    yield page
    _collect_csp_violations(page, problems)
    context.close()
    if problems and not getattr(request.node, "browser_failed", False):
        pytest.fail("The pages had problems:\n" + "\n".join(problems))


CSP_LISTENER = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__cspViolations.push(`${event.violatedDirective} blocked ${event.blockedURI || "inline"} on ${document.location.pathname}`);
});
"""


def _collect_csp_violations(page, problems: list[str]) -> None:
    """Move the violations the current page recorded into `problems` (earlier pages' are in
    the console messages)."""
    try:
        found = page.evaluate(
            "() => { const v = window.__cspViolations || []; window.__cspViolations = []; return v; }"
        )
    except Exception:  # the page is gone or mid-navigation: the console listener still saw them
        return
    problems.extend(f"CSP violation: {violation}" for violation in found)


def _screenshot_path(nodeid: str) -> Path:
    return SCREENSHOT_DIR / (re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid).strip("_")[:180] + ".png")


def _screenshot(page, nodeid: str) -> Path:
    path = _screenshot_path(nodeid)
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True, timeout=STEP_TIMEOUT_MS)
    return path


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    page = getattr(item, "funcargs", {}).get("page")
    if report.when in ("setup", "call") and report.failed and page is not None:
        item.browser_failed = True
        lines = [f"URL: {page.url}"]
        try:
            lines.append(f"Screenshot: {_screenshot(page, item.nodeid).resolve()}")
        except Exception as exc:  # the page may be gone; the failure itself still counts
            lines.append(f"No screenshot: {exc}")
        lines += getattr(item, "browser_problems", [])
        report.sections.append(("browser", "\n".join(lines)))
    return report
