"""The concrete job models in use, as named by the settings."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured

from .conf import SETTING_NAME, jobs_settings

if TYPE_CHECKING:
    from .models import AbstractExportJob, AbstractImportJob


def _get(setting: str, base_name: str) -> type:
    from . import models as job_models

    label = jobs_settings.raw(setting)
    try:
        model = apps.get_model(label, require_ready=False)
    except (ValueError, LookupError) as exc:
        raise ImproperlyConfigured(
            f"{SETTING_NAME}[{setting!r}] = {label!r} is not an installed model "
            f"('app_label.ModelName'): {exc}"
        ) from exc
    base = getattr(job_models, base_name)
    if not issubclass(model, base) or model._meta.abstract:
        raise ImproperlyConfigured(
            f"{SETTING_NAME}[{setting!r}] = {label!r} must be a concrete subclass of {base_name}."
        )
    return model


def get_import_job_model() -> type[AbstractImportJob]:
    """The import job model named by ``DRF_IMPORT_EXPORT_JOBS["IMPORT_JOB_MODEL"]``."""
    return _get("IMPORT_JOB_MODEL", "AbstractImportJob")


def get_export_job_model() -> type[AbstractExportJob]:
    """The export job model named by ``DRF_IMPORT_EXPORT_JOBS["EXPORT_JOB_MODEL"]``."""
    return _get("EXPORT_JOB_MODEL", "AbstractExportJob")
