# Load the Celery app whenever Django starts, so every task is bound to it and `enqueue`
# (config/tasks.py) works in app processes as in workers.
from config.celery import app as celery_app

__all__ = ("celery_app",)
