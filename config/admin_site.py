"""The admin site: Django's, with a dashboard on the index page for staff, and its login
form under the limiter of password guesses (accounts.login_limits)."""

from django.contrib import admin
from django.http import HttpRequest

from accounts.forms import AdminLoginForm


class FoodiesAdminSite(admin.AdminSite):
    site_header = "Foodies admin"
    site_title = "Foodies admin"
    index_title = "Menu and kitchen"
    index_template = "admin/foodies_index.html"
    login_form = AdminLoginForm

    def index(self, request: HttpRequest, extra_context: dict | None = None):
        from config.dashboard import dashboard_for  # the models are loaded by the time a page is served

        extra_context = {**(extra_context or {}), "dashboard": dashboard_for(request.user)}
        return super().index(request, extra_context)
