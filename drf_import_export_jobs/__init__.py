"""Background import and export jobs for django-import-export resources,
run by Celery and exposed over Django REST Framework."""

__version__ = "0.1.0.dev0"
