"""``WebhookDeliveryViewSet``: the webhook deliveries over REST, for staff.

Register it to let staff (``is_staff``) follow deliveries without the admin::

    router.register("webhook-deliveries", WebhookDeliveryViewSet, basename="webhook-delivery")

Routes: list (newest first, ``?status=`` and ``?job_id=`` filters) and
retrieve. Deliveries change only through their task: nothing can be written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from django.db import models
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import viewsets
from rest_framework.permissions import IsAdminUser

from .models import WebhookDelivery
from .pagination import JobPagination
from .serializers import ErrorDetailSerializer, ValidationErrorSerializer
from .serializers.events import WebhookDeliverySerializer

ERRORS = {
    401: OpenApiResponse(ErrorDetailSerializer, description="Not authenticated."),
    403: OpenApiResponse(ErrorDetailSerializer, description="Not staff."),
    404: OpenApiResponse(ErrorDetailSerializer, description="No such delivery (or page)."),
    406: OpenApiResponse(ErrorDetailSerializer, description="`Accept` excludes JSON."),
    429: OpenApiResponse(ErrorDetailSerializer, description="Too many requests (throttled)."),
}


@extend_schema_view(
    list=extend_schema(
        operation_id="webhookDeliveriesList",
        summary="List webhook deliveries",
        description="Every webhook delivery, newest first (staff only).",
        parameters=[
            OpenApiParameter(
                "status",
                str,
                enum=["pending", "delivered", "failed"],
                description="Only deliveries in this status.",
            ),
            OpenApiParameter("job_id", str, description="Only deliveries of this job id."),
        ],
        responses={
            200: OpenApiResponse(WebhookDeliverySerializer(many=True), description="A page."),
            400: OpenApiResponse(ValidationErrorSerializer, description="A bad `page_size`."),
            **ERRORS,
        },
    ),
    retrieve=extend_schema(
        operation_id="webhookDeliveriesRetrieve",
        summary="Get a webhook delivery",
        description="One webhook delivery with its payload (staff only).",
        responses={
            200: OpenApiResponse(WebhookDeliverySerializer, description="The delivery."),
            **ERRORS,
        },
    ),
)
class WebhookDeliveryViewSet(viewsets.ReadOnlyModelViewSet):  # type: ignore[type-arg]
    """Webhook deliveries, read-only, for staff (``IsAdminUser``). Override
    ``get_queryset()`` to show fewer."""

    serializer_class = WebhookDeliverySerializer
    permission_classes: Sequence[Any] = [IsAdminUser]
    pagination_class = JobPagination

    def get_queryset(self) -> models.QuerySet[Any]:
        """All deliveries, newest first, filtered by ``?status=`` and ``?job_id=``."""
        queryset = WebhookDelivery._default_manager.order_by("-created_at", "-id")
        status = self.request.query_params.get("status")
        if status:
            queryset = queryset.filter(status=status)
        job_id = self.request.query_params.get("job_id")
        if job_id:
            queryset = queryset.filter(job_id=job_id)
        return queryset
