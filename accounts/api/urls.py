from django.urls import path

from accounts.api import recovery_views, views

urlpatterns = [
    path("register/", views.RegisterView.as_view(), name="auth-register"),
    path("token/", views.TokenView.as_view(), name="auth-token"),
    path("token/refresh/", views.TokenRefreshView.as_view(), name="auth-token-refresh"),
    path("logout/", views.LogoutView.as_view(), name="auth-logout"),
    path("me/", views.MeView.as_view(), name="auth-me"),
    path("password/", views.PasswordChangeView.as_view(), name="auth-password"),
    path("password/reset/", recovery_views.PasswordResetView.as_view(), name="auth-password-reset"),
    path(
        "password/reset/confirm/",
        recovery_views.PasswordResetConfirmView.as_view(),
        name="auth-password-reset-confirm",
    ),
    path("email/verify/", recovery_views.EmailVerifyView.as_view(), name="auth-email-verify"),
    path(
        "email/verify/resend/",
        recovery_views.EmailVerifyResendView.as_view(),
        name="auth-email-verify-resend",
    ),
]
