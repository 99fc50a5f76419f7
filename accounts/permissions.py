"""Staff powers: the one rule, shared by the API, the admin and the selectors that show staff
more than a shopper sees.

A staff power is what the Django admin grants: an active staff account (`is_staff`) holding
the model permission (a superuser holds them all). Being staff alone grants nothing but
the admin's door; the groups that bundle the permissions ("Kitchen", "Manager") are defined
by accounts/roles.py (orders/migrations/0007_staff_groups.py runs it)."""

from django.contrib.auth.models import AnonymousUser

from accounts.models import User


def staff_has_perm(user: User | AnonymousUser | None, perm: str) -> bool:
    """True if `user` is active staff holding `perm` ("app_label.codename")."""
    return bool(
        user is not None
        and user.is_authenticated
        and user.is_active
        and user.is_staff
        and user.has_perm(perm)
    )


def staff_has_any_perm(user: User | AnonymousUser | None, perms: list[str] | tuple[str, ...]) -> bool:
    return any(staff_has_perm(user, perm) for perm in perms)
