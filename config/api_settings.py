"""The API's settings: Django REST framework, Simple JWT and drf-spectacular.
`config/settings.py` sets REST_FRAMEWORK, SIMPLE_JWT and SPECTACULAR_SETTINGS from these.
"""

from datetime import timedelta

import environ


def rest_framework_settings(env: environ.Env) -> dict:
    """REST_FRAMEWORK: THROTTLE_* rates and NUM_PROXIES from the environment."""
    return {
        "DEFAULT_AUTHENTICATION_CLASSES": [
            "config.api.authentication.VersionedJWTAuthentication",
            "config.api.authentication.StaffSessionAuthentication",
        ],
        "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
        "DEFAULT_RENDERER_CLASSES": [
            "rest_framework.renderers.JSONRenderer",
            "rest_framework.renderers.BrowsableAPIRenderer",
        ],
        "DEFAULT_CONTENT_NEGOTIATION_CLASS": "config.api.negotiation.StaffBrowsableNegotiation",
        "DEFAULT_PARSER_CLASSES": ["config.api.parsers.JSONParser"],
        "DEFAULT_PAGINATION_CLASS": "config.api.pagination.PageNumberPagination",
        "PAGE_SIZE": 20,
        "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
        "DEFAULT_SCHEMA_CLASS": "config.api.schema.FoodiesAutoSchema",
        "EXCEPTION_HANDLER": "config.api.exceptions.api_exception_handler",
        "DEFAULT_THROTTLE_RATES": {
            "login": env.str("THROTTLE_LOGIN", default="10/min"),
            "register": env.str("THROTTLE_REGISTER", default="10/hour"),
            "checkout": env.str("THROTTLE_CHECKOUT", default="10/min"),
            # Webhook calls refused as unsigned or malformed, per client address.
            "webhook_rejected": env.str("THROTTLE_WEBHOOK_REJECTED", default="30/min"),
        },
        # Number of trusted proxies in front of the app. 0 means REMOTE_ADDR is the client:
        # a client-sent X-Forwarded-For is never trusted for throttling.
        "NUM_PROXIES": env.int("NUM_PROXIES", default=0),
        "TEST_REQUEST_DEFAULT_FORMAT": "json",
    }


def simple_jwt_settings(env: environ.Env) -> dict:
    """SIMPLE_JWT: JWT_ACCESS_MINUTES and JWT_REFRESH_DAYS from the environment."""
    return {
        "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
        "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
        "ROTATE_REFRESH_TOKENS": True,
        "BLACKLIST_AFTER_ROTATION": True,
        "UPDATE_LAST_LOGIN": True,
        "AUTH_HEADER_TYPES": ("Bearer",),
    }


SPECTACULAR = {
    "TITLE": "Foodies API",
    "DESCRIPTION": "Online food store: menu, cart, checkout, orders, payments, invoices.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.AllowAny"],
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    # One name for the sellability reasons, shown as a product's unavailable_reason and a cart line's problem.
    # OrderStatusEnum: also the status in error bodies (invalid_transition, ...: config.errors).
    "ENUM_NAME_OVERRIDES": {
        "SellabilityReasonEnum": "catalog.sellability.REASONS",
        "OrderStatusEnum": "orders.models.OrderStatus",
        "DependencyStateEnum": "config.views.DEPENDENCY_STATES",
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "config.api.schema.refuse_nul_in_request_bodies",
        "config.api.schema.empty_query_values_mean_absent",
        "config.api.error_schema.add_error_components",
        "config.api.schema_compat.nullable_references_as_one_of",
        "config.api.authentication.document_ignored_tokens",
    ],
    # Swagger UI's assets ship with the app: the docs work without a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}
