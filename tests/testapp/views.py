"""Job viewsets the API tests register (see tests/api_urls.py and tests/urls.py)."""

from typing import Any

from rest_framework.authentication import BasicAuthentication, SessionAuthentication
from rest_framework.permissions import IsAdminUser, IsAuthenticated

from drf_import_export_jobs.permissions import IsJobCreatorOrReadOnly
from drf_import_export_jobs.viewsets import ExportJobViewSet, ImportJobViewSet

from .resources import AuthorResource, BookResource, CsvOnlyBookResource


class BookImportViewSet(ImportJobViewSet):
    """Import books."""

    resource_class = BookResource


class BookExportViewSet(ExportJobViewSet):
    """Export books."""

    resource_class = BookResource


class AuthorImportViewSet(ImportJobViewSet):
    """Import authors."""

    resource_class = AuthorResource


class AuthorExportViewSet(ExportJobViewSet):
    """Export authors."""

    resource_class = AuthorResource


# -- variants used by single tests (tests/urls.py, under /extra/) -------------------


class CsvBookImportViewSet(ImportJobViewSet):
    resource_class = CsvOnlyBookResource


class KwargsBookImportViewSet(ImportJobViewSet):
    resource_class = BookResource
    allowed_resource_kwargs = ("batch",)

    def get_resource_kwargs(self, requested: Any) -> dict[str, Any]:
        return {**super().get_resource_kwargs(requested), "user_id": self.request.user.pk}


class InStockBookExportViewSet(ExportJobViewSet):
    resource_class = BookResource

    def get_export_filters(self, filters: dict[str, Any]) -> dict[str, Any]:
        return {**filters, "in_stock": True}


class SessionFirstBookImportViewSet(ImportJobViewSet):
    resource_class = BookResource
    authentication_classes = [SessionAuthentication, BasicAuthentication]


class StaffOnlyBookImportViewSet(ImportJobViewSet):
    resource_class = BookResource
    permission_classes = [IsAdminUser]


class TenantBookImportViewSet(ImportJobViewSet):
    """Saves the job with a tenant (a custom job model's field)."""

    resource_class = BookResource

    def perform_create(self, serializer: Any) -> None:
        from .models import Tenant

        tenant, _ = Tenant.objects.get_or_create(name=self.request.headers["X-Tenant"])
        serializer.save(
            created_by=self.request.user, resource_path=self.get_resource_path(), tenant=tenant
        )

    def get_queryset(self) -> Any:
        return super().get_queryset().filter(tenant__name=self.request.headers.get("X-Tenant"))


class TeamBookImportViewSet(ImportJobViewSet):
    """Every authenticated user sees every book import; only its creator acts on it."""

    resource_class = BookResource
    permission_classes = [IsAuthenticated, IsJobCreatorOrReadOnly]

    def get_queryset(self) -> Any:
        from drf_import_export_jobs.swapping import get_import_job_model

        return get_import_job_model()._default_manager.filter(
            resource_path=self.get_resource_path()
        )


class ArchiveBookImportViewSet(ImportJobViewSet):
    """Keeps its jobs in ``ArchiveImportJob``; the settings name the default model."""

    resource_class = BookResource
    schema_component_prefix = "ArchiveBook"

    def get_job_model(self) -> Any:
        from .models import ArchiveImportJob

        return ArchiveImportJob


class ArchiveBookExportViewSet(ExportJobViewSet):
    """Keeps its jobs in ``ArchiveExportJob``."""

    resource_class = BookResource
    schema_component_prefix = "ArchiveBook"

    def get_job_model(self) -> Any:
        from .models import ArchiveExportJob

        return ArchiveExportJob
