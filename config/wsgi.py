import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

application = get_wsgi_application()

# gunicorn runs none of Django's checks: refuse to serve a configuration they reject.
from payments.checks import refuse_to_serve  # noqa: E402 (apps are loaded only now)

refuse_to_serve()
