from django.contrib.admin import apps as admin_apps


class FoodiesAdminConfig(admin_apps.AdminConfig):
    """django.contrib.admin, with the shop's own site (a dashboard on the index page)."""

    default = False  # not the `config` app's own config: it is named in INSTALLED_APPS instead
    default_site = "config.admin_site.FoodiesAdminSite"
