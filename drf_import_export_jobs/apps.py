"""App configuration."""

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DrfImportExportJobsConfig(AppConfig):
    """Registers the tasks, system checks, file clean-up handlers and the
    webhooks' status-change receiver."""

    name = "drf_import_export_jobs"
    verbose_name = _("Import and export jobs")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import checks, handlers, tasks, webhooks  # noqa: F401
