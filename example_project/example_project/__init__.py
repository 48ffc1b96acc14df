"""The example project. Importing the Celery app here makes it Celery's current
app as soon as Django loads the project, for the shell, the server and workers."""

from .celery import app as celery_app

__all__ = ("celery_app",)
