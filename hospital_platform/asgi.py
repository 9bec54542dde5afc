"""HTTP and WebSocket routing. WebSockets authenticate by session cookie (web admin)
or bearer token (mini program) inside the consumer."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "hospital_platform.settings.local")
django_asgi_app = get_asgi_application()

from channels.auth import AuthMiddlewareStack  # noqa: E402  (needs Django set up)
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402

from apps.realtime.routing import websocket_urlpatterns  # noqa: E402

application = ProtocolTypeRouter(
    {
        "http": django_asgi_app,
        # The consumer checks Origin itself for cookie sessions; token clients (the mini
        # program) carry no ambient credentials and may send no Origin at all.
        "websocket": AuthMiddlewareStack(URLRouter(websocket_urlpatterns)),
    }
)
