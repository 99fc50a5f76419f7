"""The ASGI entry (uvicorn): the live order status streams, and the rest of the app when
uvicorn serves it all (README, "Live order status")."""

import os
import re

import django
from django.core.handlers.asgi import ASGIHandler

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
django.setup(set_prefix=False)

# The Server-Sent Events paths (orders/api/events.py).
STREAM_PATH = re.compile(r"^/api/v1/(?:orders/[^/]+|kitchen)/events/$")


class StreamingASGIHandler(ASGIHandler):
    """Django's handler, except that a stream's request gets no thread of its own.

    Django runs each request in a ThreadSensitiveContext: its sync parts (the middleware, a
    DRF view) run on a thread made for that request, kept until the response ends. For a
    stream that is as long as the client listens: a parked thread per open stream (measured:
    207 threads for 200 streams). Outside such a context they run on asgiref's one shared
    sync thread instead: a stream's opening (authentication, the order's look-up, a few ms)
    waits its turn there, and its waiting is the event loop's alone (orders/streams.py)."""

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and STREAM_PATH.match(scope["path"]):
            await self.handle(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


application = StreamingASGIHandler()

# uvicorn runs none of Django's checks: refuse to serve a configuration they reject.
from payments.checks import refuse_to_serve  # noqa: E402 (apps are loaded only now)

refuse_to_serve()
