"""HTML to PDF for invoices and credit notes, with WeasyPrint.

A document is rendered from its frozen snapshot and nothing else, so a re-render reads the
same whatever happened to the menu or the customer since. WeasyPrint may load only the
project's own assets (the stylesheet in `invoices/assets/`, named `foodies-asset:<file>`):
`AssetOnlyFetcher` refuses every other URL (http, https, file, data, …) and the refusal
stops the render. Fonts come from fontconfig (DejaVu Sans on Debian), not from URLs.

WeasyPrint is imported only here, and `invoices.services` imports this module only when it
renders: issuing an invoice inside a payment webhook never depends on the PDF libraries.
"""

import mimetypes
from pathlib import Path

from django.template.loader import render_to_string
from django.utils import translation
from weasyprint import HTML
from weasyprint.urls import FatalURLFetchingError, URLFetcher, URLFetcherResponse

from invoices.models import DocumentKind

ASSETS_DIR = (Path(__file__).resolve().parent / "assets").resolve()
ASSET_SCHEME = "foodies-asset:"

TEMPLATES = {
    DocumentKind.INVOICE: "invoices/invoice.html",
    DocumentKind.CREDIT_NOTE: "invoices/credit_note.html",
}


class AssetRefused(ValueError):
    """WeasyPrint asked for something that is not one of the project's own assets."""


def asset_path(url: str) -> Path:
    """The file behind a `foodies-asset:<name>` URL, if it lies inside ASSETS_DIR."""
    if not url.startswith(ASSET_SCHEME):
        raise AssetRefused(f"Only {ASSET_SCHEME} URLs may be loaded, not {url[:200]!r}.")
    name = url.removeprefix(ASSET_SCHEME).split("?", 1)[0].split("#", 1)[0]
    path = (ASSETS_DIR / name).resolve()
    if not path.is_relative_to(ASSETS_DIR) or not path.is_file():
        raise AssetRefused(f"No such asset: {name[:200]!r}.")
    return path


class AssetOnlyFetcher(URLFetcher):
    """Serves `foodies-asset:` files from ASSETS_DIR and refuses everything else by raising.

    `fail_on_errors` turns a refusal into WeasyPrint's fatal error, so a template that
    points anywhere else fails loudly instead of rendering without the resource."""

    def __init__(self) -> None:
        super().__init__(allowed_protocols=(), allow_redirects=False, fail_on_errors=True)

    def fetch(self, url: str, headers: dict | None = None) -> URLFetcherResponse:
        path = asset_path(url)
        content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return URLFetcherResponse(url, body=path.read_bytes(), headers={"Content-Type": content_type})


def html_to_pdf(html: str) -> bytes:
    """PDF bytes of an HTML string; raises AssetRefused if it refers to anything else than
    the project's assets."""
    try:
        return HTML(string=html, url_fetcher=AssetOnlyFetcher(), media_type="print").write_pdf()
    except FatalURLFetchingError as exc:
        raise AssetRefused(str(exc.__cause__ or exc)) from exc


def document_html(*, kind: str, number: str, snapshot: dict) -> str:
    # In the language frozen in the snapshot (the order's), whatever a request activated;
    # documents from before it was frozen were English and stay so.
    with translation.override(snapshot.get("language", "en")):
        return render_to_string(TEMPLATES[kind], {"number": number, "doc": snapshot})


def document_pdf(*, kind: str, number: str, snapshot: dict) -> bytes:
    """Render one invoice or credit note from its number and snapshot."""
    return html_to_pdf(document_html(kind=kind, number=number, snapshot=snapshot))
