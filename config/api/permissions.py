"""Who may call what in the API: staff powers are the Django model permissions the admin asks
for the same change (accounts.permissions.staff_has_perm), never `is_staff` alone."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.permissions import staff_has_perm


class StaffPermissionOrReadOnly(BasePermission):
    """Anyone may read; each write needs the permission its view names for the action in
    `write_permissions` (`{action: "app_label.codename"}`). Anonymous writes are 401,
    everyone else without the permission 403. A write action the view does not name is
    refused to all, so a new one cannot ship open; a method the view does not take at all
    goes on to its 405."""

    def has_permission(self, request, view) -> bool:
        if request.method in SAFE_METHODS:
            return True
        perm = getattr(view, "write_permissions", {}).get(getattr(view, "action", None))
        if perm is None:
            return request.method.lower() not in view.http_method_names
        return staff_has_perm(request.user, perm)


def staff_may(request, perm: str) -> bool:
    """The request's user holds the staff power `perm` (for what a view shows, not whom it
    lets in)."""
    return staff_has_perm(getattr(request, "user", None), perm)
