import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")

app = Celery("mysite")
# Every CELERY_* setting of settings.py configures the app.
app.config_from_object("django.conf:settings", namespace="CELERY")
# Finds the tasks of the installed apps, drf_import_export_jobs' included.
app.autodiscover_tasks()
