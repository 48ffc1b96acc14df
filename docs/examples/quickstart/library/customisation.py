"""The customisation guide's examples (docs/customisation.md includes the
sections below; tests/test_docs_examples.py drives each through the API)."""

from typing import Any

from django.core.exceptions import PermissionDenied
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated

from drf_import_export_jobs.permissions import IsJobCreatorOrReadOnly
from drf_import_export_jobs.serializers import ImportJobSerializer
from drf_import_export_jobs.swapping import get_import_job_model
from drf_import_export_jobs.viewsets import ExportJobViewSet, ImportJobViewSet

from .resources import BookResource


# --8<-- [start:formats]
class CsvBookResource(BookResource):
    """Books, imported from CSV only, exported to CSV or XLSX."""

    import_formats = ["csv"]
    export_formats = ["csv", "xlsx"]


class CsvBookImportViewSet(ImportJobViewSet):
    resource_class = CsvBookResource
    # The schema names of two viewsets of one resource class name must differ.
    schema_component_prefix = "CsvBook"


# --8<-- [end:formats]


# --8<-- [start:resource-kwargs]
class BatchBookResource(BookResource):
    """Keeps the arguments the job was created with (they arrive in the worker)."""

    def __init__(self, batch: str = "", uploaded_by: int | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.batch = batch
        self.uploaded_by = uploaded_by


class BatchBookImportViewSet(ImportJobViewSet):
    resource_class = BatchBookResource
    # What a client may send in the multipart field resource_kwargs (JSON).
    allowed_resource_kwargs = ("batch",)

    def get_resource_kwargs(self, requested: Any) -> dict[str, Any]:
        # The client's (checked by super()), plus what only the server knows.
        kwargs = super().get_resource_kwargs(requested)
        return {**kwargs, "uploaded_by": self.request.user.pk}


# --8<-- [end:resource-kwargs]


# --8<-- [start:export-filters]
class InStockBookExportViewSet(ExportJobViewSet):
    """Exports only books in stock, whatever the client asks for."""

    resource_class = BookResource
    schema_component_prefix = "InStockBook"

    def get_export_filters(self, filters: dict[str, Any]) -> dict[str, Any]:
        return {**filters, "in_stock": True}


# --8<-- [end:export-filters]


# --8<-- [start:visibility]
class TeamBookImportViewSet(ImportJobViewSet):
    """Staff see everyone's book imports; only a job's creator acts on it."""

    resource_class = BookResource
    schema_component_prefix = "TeamBook"
    permission_classes = [IsAuthenticated, IsJobCreatorOrReadOnly]

    def get_queryset(self) -> Any:
        if self.request.user.is_staff:
            return get_import_job_model()._default_manager.filter(
                resource_path=self.get_resource_path()
            )
        return super().get_queryset()  # the caller's own jobs


# --8<-- [end:visibility]


# --8<-- [start:confirm]
class ReviewedBookImportViewSet(ImportJobViewSet):
    """An import that changes existing books needs a staff member's confirm."""

    resource_class = BookResource
    schema_component_prefix = "ReviewedBook"

    def perform_confirm(self, job: Any) -> None:
        updates = (job.parse_result or {}).get("totals", {}).get("update", 0)
        if updates and not self.request.user.is_staff:
            raise PermissionDenied(f"This import changes {updates} books: ask a staff member.")
        super().perform_confirm(job)


# --8<-- [end:confirm]


# --8<-- [start:tenant]
class TenantBookImportViewSet(ImportJobViewSet):
    """With IMPORT_JOB_MODEL = "library.TenantImportJob": jobs per tenant."""

    resource_class = BookResource
    schema_component_prefix = "TenantBook"

    def get_tenant(self) -> str:
        return self.request.headers.get("X-Tenant", "")

    def perform_create(self, serializer: Any) -> None:
        serializer.save(
            created_by=self.request.user,
            resource_path=self.get_resource_path(),
            tenant=self.get_tenant(),
        )

    def get_queryset(self) -> Any:
        return super().get_queryset().filter(tenant=self.get_tenant())


# --8<-- [end:tenant]


# --8<-- [start:serializer]
class OwnedImportJobSerializer(ImportJobSerializer):
    """The job representation, plus who created the job."""

    created_by = serializers.CharField(source="created_by.get_username", read_only=True)


class OwnedBookImportViewSet(ImportJobViewSet):
    resource_class = BookResource
    schema_component_prefix = "OwnedBook"  # schema component OwnedBookImportJob
    serializer_class = OwnedImportJobSerializer


# --8<-- [end:serializer]
