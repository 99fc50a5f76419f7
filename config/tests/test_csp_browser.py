"""The Content-Security-Policy in Chromium: it is enforced (an injected inline script is
blocked and reported), and the pages outside the admin flows of the other browser tests
run under it with no violation (the `page` fixture fails a test on any)."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_injected_inline_script_is_blocked_and_reported(page, request):
    page.goto("/admin/login/")
    page.evaluate(
        """() => {
            const script = document.createElement("script");
            script.textContent = "window.injected = true";
            document.body.appendChild(script);
        }"""
    )
    page.wait_for_timeout(200)  # the violation event is queued as a task
    assert page.evaluate("() => window.injected === true") is False
    violations = page.evaluate("() => window.__cspViolations")
    assert violations == ["script-src-elem blocked inline on /admin/login/"]
    page.evaluate("() => { window.__cspViolations = []; }")
    console = [p for p in request.node.browser_problems if p.startswith("CSP violation (console)")]
    assert len(console) == 1
    assert "script-src" in console[0]
    request.node.browser_problems.clear()  # seen: this test is about them


def test_swagger_ui_runs_under_the_policy(page, settings):
    settings.API_DOCS_PUBLIC = True
    page.goto("/api/docs/")
    # Rendered by the start-up script from ?script, with the schema it fetched.
    page.locator(".opblock-tag").first.wait_for(timeout=15_000)
    assert "Foodies API" in page.locator(".swagger-ui .info").inner_text()


def test_the_finish_page_runs_under_the_policy(page):
    page.goto("/payments/finish/?order_id=FD-1-1&status_code=200&transaction_status=settlement")
    assert page.locator("code").inner_text() == "FD-1-1"
    assert page.evaluate("() => getComputedStyle(document.body).fontFamily").startswith("system-ui")
