"""Permissions for job viewsets whose ``get_queryset()`` shows more than the
caller's own jobs.

The ready-made viewsets show each user their own jobs only, so they need no
object permission. When you widen ``get_queryset()`` (staff see every job,
a team sees its members' jobs), add :class:`IsJobCreatorOrReadOnly` to keep
the actions (confirm, cancel, delete) to the job's creator.
"""

from __future__ import annotations

from typing import Any

from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request


class IsJobCreatorOrReadOnly(BasePermission):
    """Anyone the viewset shows a job to may read it; only the user who
    created it may confirm, cancel or delete it (403 for the others)."""

    message = "Only the user who created this job may change it."

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        if request.method in SAFE_METHODS:
            return True
        creator = getattr(obj, "created_by_id", None)
        return creator is not None and creator == getattr(request.user, "pk", None)
