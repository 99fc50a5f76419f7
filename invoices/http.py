from django.core.files import File
from django.http import FileResponse
from django.utils.cache import patch_cache_control


def pdf_response(file: File, filename: str) -> FileResponse:
    """Stream a stored PDF as a download (never re-rendered here). Invoices carry personal
    data, so no shared or browser cache keeps a copy."""
    response = FileResponse(file, as_attachment=True, filename=filename, content_type="application/pdf")
    patch_cache_control(response, private=True, no_store=True)
    return response
