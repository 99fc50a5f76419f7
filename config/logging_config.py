"""Logging and error reports: the LOGGING dict for LOG_LEVEL and LOG_FORMAT (records
formatted by config/logs.py), and Sentry when SENTRY_DSN is set.
"""

import environ


def logging_config(*, level: str, fmt: str) -> dict:
    """LOGGING: every line through one console handler, `plain` text or `json` (with ids)."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"ids": {"()": "config.logs.RequestIdFilter"}},
        "formatters": {
            "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
            "json": {"()": "config.logs.JsonFormatter"},
        },
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": "json" if fmt == "json" else "plain",
                "filters": ["ids"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        # Django's own loggers have their own levels; they follow level too.
        "loggers": {
            "django": {"level": level},
            "django.db.backends": {"level": "WARNING"},
            # WeasyPrint logs every render step, and fontTools every table it subsets, at INFO.
            "weasyprint.progress": {"level": "WARNING"},
            "fontTools": {"level": "WARNING"},
        },
    }


def sentry_init(env: environ.Env, *, dsn: str) -> None:
    """Send error reports to `dsn`; SENTRY_ENVIRONMENT and SENTRY_TRACES_SAMPLE_RATE from
    the environment. Imported only then: without a DSN the SDK is never loaded."""
    import sentry_sdk

    sentry_sdk.init(
        dsn=dsn,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        # No user details and no request bodies (sentry-sdk 3 sends user info unless told not to).
        data_collection={"user_info": False, "http_bodies": []},
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
    )
