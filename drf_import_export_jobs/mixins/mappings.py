"""``ColumnMappingMixin``: ``reparse`` and the saved column mappings of an
import viewset."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models, router, transaction
from django.http import Http404
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response

from ..models import SavedColumnMapping
from ..parsers import JobJSONParser
from ..pipeline.imports.columns import ImportField, import_fields
from ..serializers.columns import (
    ReparseSerializer,
    SavedColumnMappingCreateSerializer,
    SavedColumnMappingSerializer,
)


class ColumnMappingMixin:
    """Import routes of column mapping: ``POST {p}/{id}/reparse/`` parses a
    job's file again with a new mapping; ``{p}/mappings/`` lists and saves the
    caller's mappings for this resource, ``{p}/mappings/{mapping_id}/`` shows
    and deletes one. Another user's mapping is a 404."""

    #: Input of ``reparse``.
    reparse_serializer_class: type[serializers.BaseSerializer[Any]] = ReparseSerializer
    #: A saved mapping as the API shows it.
    saved_mapping_serializer_class: type[serializers.BaseSerializer[Any]] = (
        SavedColumnMappingSerializer
    )
    #: Input of a new saved mapping; bound to the resource per request.
    saved_mapping_create_serializer_class: type[serializers.BaseSerializer[Any]] = (
        SavedColumnMappingCreateSerializer
    )

    #: Parsers of ``reparse`` and of a new saved mapping (JSON bodies).
    mapping_parser_classes: Sequence[type[BaseParser]] = [JobJSONParser]

    request: Request

    # -- hooks -------------------------------------------------------------------------

    def get_import_fields(self) -> list[ImportField]:
        """The resource's import fields a mapping may name."""
        resource = self.get_resource(**self.get_resource_kwargs({}))  # type: ignore[attr-defined]
        return import_fields(resource)

    def get_mapping_queryset(self) -> models.QuerySet[SavedColumnMapping]:
        """The caller's saved mappings for this viewset's resource. Override to
        share mappings (within a team, say)."""
        user = getattr(self.request, "user", None)
        owner = user.pk if user is not None and user.is_authenticated else None
        return SavedColumnMapping.objects.for_resource(
            owner,
            self.get_resource_path(),  # type: ignore[attr-defined]
        )

    def get_mapping_owner(self) -> Any:
        """The user a new saved mapping belongs to: the caller."""
        return self.request.user

    def get_parsers(self) -> list[BaseParser]:
        """``mapping_parser_classes`` for ``reparse`` and a new saved mapping."""
        if self.resolve_action() in ("reparse", "create_mapping"):  # type: ignore[attr-defined]
            return [parser() for parser in self.mapping_parser_classes]
        return super().get_parsers()  # type: ignore[misc,no-any-return]

    def get_serializer_context(self) -> dict[str, Any]:
        """DRF's context plus ``import_fields`` and ``saved_mappings`` (the
        caller's), which the mapping inputs are checked against."""
        context: dict[str, Any] = super().get_serializer_context()  # type: ignore[misc]
        if self.resolve_action() in ("create", "reparse", "create_mapping"):  # type: ignore[attr-defined]
            context["import_fields"] = self.get_import_fields()
            context["saved_mappings"] = self.get_mapping_queryset()
        return context

    def get_serializer_class(self) -> type[serializers.BaseSerializer[Any]]:
        """The input of the mapping routes, else as :class:`JobViewSetMixin` does."""
        action_name = self.resolve_action()  # type: ignore[attr-defined]
        if action_name == "reparse":
            return self.reparse_serializer_class
        if action_name == "create_mapping":
            return self.bind_serializer_class(  # type: ignore[attr-defined,no-any-return]
                self.saved_mapping_create_serializer_class
            )
        if action_name in ("mappings", "mapping_detail"):
            return self.saved_mapping_serializer_class
        return super().get_serializer_class()  # type: ignore[misc,no-any-return]

    # -- reparse -----------------------------------------------------------------------

    @action(detail=True, methods=["post"])
    def reparse(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Parse the job's stored file again with a new column mapping (202):
        ``parsed | input_error | parse_error -> created``, then the dry run
        runs again. 409 with the current status in any other status."""
        job = self.get_object()  # type: ignore[attr-defined]
        context = {**self.get_serializer_context(), "job": job}
        serializer = self.get_serializer_class()(data=request.data, context=context)
        serializer.is_valid(raise_exception=True)
        self.perform_reparse(job, serializer)
        return Response(
            self.get_job_serializer(job).data,  # type: ignore[attr-defined]
            status=status.HTTP_202_ACCEPTED,
        )

    def perform_reparse(self, job: Any, serializer: serializers.BaseSerializer[Any]) -> None:
        """Reparse ``job`` with the validated mapping, and save the mapping
        when asked, in one transaction; ``InvalidJobStatus`` (409) saves nothing."""
        data: dict[str, Any] = dict(serializer.validated_data)
        with transaction.atomic(using=router.db_for_write(type(job))):
            job.reparse(data["column_mapping"], saved_mapping=data.get("saved_mapping"))
            if data.get("save_mapping"):
                SavedColumnMapping.objects.create(
                    owner=self.get_mapping_owner(),
                    resource_path=self.get_resource_path(),  # type: ignore[attr-defined]
                    name=data.get("mapping_name", ""),
                    headers=data["headers"],
                    mapping=data["column_mapping"],
                )

    # -- saved mappings ----------------------------------------------------------------

    @action(detail=False, methods=["get"], url_path="mappings")
    def mappings(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """The caller's saved column mappings for this resource, newest first."""
        queryset = self.get_mapping_queryset()
        serializer = self.saved_mapping_serializer_class(queryset, many=True)
        return Response(serializer.data)

    @mappings.mapping.post
    def create_mapping(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """Save a column mapping for the caller's files of this resource with
        these headers (201)."""
        serializer = self.get_serializer(data=request.data)  # type: ignore[attr-defined]
        serializer.is_valid(raise_exception=True)
        mapping = self.perform_create_mapping(serializer)
        return Response(
            self.saved_mapping_serializer_class(mapping).data, status=status.HTTP_201_CREATED
        )

    def perform_create_mapping(
        self, serializer: serializers.BaseSerializer[Any]
    ) -> SavedColumnMapping:
        """Save the validated mapping for the caller and this viewset's resource."""
        data: dict[str, Any] = dict(serializer.validated_data)
        return SavedColumnMapping.objects.create(
            owner=self.get_mapping_owner(),
            resource_path=self.get_resource_path(),  # type: ignore[attr-defined]
            name=data.get("name", ""),
            headers=data["headers"],
            mapping=data["column_mapping"],
        )

    @action(detail=False, methods=["get"], url_path=r"mappings/(?P<mapping_id>[^/.]+)")
    def mapping_detail(self, request: Request, mapping_id: str, **kwargs: Any) -> Response:
        """One of the caller's saved mappings; 404 for anyone else's."""
        mapping = self.get_saved_mapping(mapping_id)
        return Response(self.saved_mapping_serializer_class(mapping).data)

    @mapping_detail.mapping.delete
    def delete_mapping(self, request: Request, mapping_id: str, **kwargs: Any) -> Response:
        """Delete one of the caller's saved mappings (204); jobs that used it keep
        their column mapping."""
        self.get_saved_mapping(mapping_id).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)

    def get_saved_mapping(self, mapping_id: str) -> SavedColumnMapping:
        """The caller's saved mapping ``mapping_id`` (404 otherwise, also for
        an id that is not a number the database can hold)."""
        if not (mapping_id.isascii() and mapping_id.isdigit() and len(mapping_id) < 19):
            raise Http404
        mapping = self.get_mapping_queryset().filter(pk=int(mapping_id)).first()
        if mapping is None:
            raise Http404
        return mapping
