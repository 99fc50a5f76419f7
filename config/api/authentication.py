from drf_spectacular.authentication import SessionScheme
from rest_framework.authentication import SessionAuthentication


class StaffSessionAuthentication(SessionAuthentication):
    """Session login (the admin's) counts in the API only for staff, for the browsable API.

    Shoppers authenticate with JWT; a shopper's stray session cookie is ignored, which also
    keeps CSRF out of their way."""

    def authenticate(self, request):
        result = super().authenticate(request)
        if result is None or not result[0].is_staff:
            return None
        return result


class StaffSessionScheme(SessionScheme):
    """Documents the staff session login in the OpenAPI schema like Django's session auth."""

    target_class = StaffSessionAuthentication
