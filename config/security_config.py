"""The Content-Security-Policy that django-csp sends on every response (CONTENT_SECURITY_POLICY)."""

from urllib.parse import urlsplit

from csp.constants import NONCE, NONE, SELF, UNSAFE_INLINE


def content_security_policy(*, media_url: str) -> dict:
    """Scripts, styles, images, fonts and requests from this site only; no plugins, no
    framing, forms post only here. Inline <style> blocks need the response's nonce; style
    attributes (the admin's) are allowed, they run no script. Images may also come from
    `media_url`'s host when it is absolute."""
    _media = urlsplit(media_url)
    _media_origin = [f"{_media.scheme}://{_media.netloc}"] if _media.netloc else []
    return {
        "DIRECTIVES": {
            "default-src": [SELF],
            "script-src": [SELF],
            "style-src": [SELF, NONCE],
            "style-src-attr": [UNSAFE_INLINE],
            "img-src": [SELF, "data:", *_media_origin],
            "font-src": [SELF, "data:"],
            "connect-src": [SELF],
            "object-src": [NONE],
            "base-uri": [SELF],
            "form-action": [SELF],
            "frame-ancestors": [NONE],
        }
    }
