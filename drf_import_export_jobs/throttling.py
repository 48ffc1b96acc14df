"""Rate limits per viewset action.

A job viewset names a DRF throttle scope per action (``throttle_scopes``, or
``DRF_IMPORT_EXPORT_JOBS["THROTTLE_SCOPES"]``); :class:`JobActionRateThrottle`
limits each scope at the rate of ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``,
per user (per client address for anonymous requests), like DRF's
``ScopedRateThrottle``. A refused request is a 429 with ``Retry-After``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, cast

from django.core.exceptions import ImproperlyConfigured
from rest_framework.request import Request
from rest_framework.settings import api_settings
from rest_framework.throttling import ScopedRateThrottle


class JobActionRateThrottle(ScopedRateThrottle):
    """Throttles a request at the rate of its action's scope, which the view
    gives with ``get_throttle_scope()``; no scope, no limit."""

    def allow_request(self, request: Request, view: Any) -> bool:
        scope = view.get_throttle_scope() if hasattr(view, "get_throttle_scope") else None
        if not scope:
            return True
        self.scope = scope
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super(ScopedRateThrottle, self).allow_request(request, view)

    def get_rate(self) -> str | None:
        """The scope's rate from ``REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]``,
        read on each request (so it follows ``override_settings``)."""
        try:
            rates = cast("Mapping[str, str | None]", api_settings.DEFAULT_THROTTLE_RATES or {})
            return rates[cast(str, self.scope)]
        except KeyError:
            raise ImproperlyConfigured(
                f"No rate for the throttle scope {self.scope!r}: add it to "
                'REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"] (scopes are named by '
                'DRF_IMPORT_EXPORT_JOBS["THROTTLE_SCOPES"] or a viewset\'s throttle_scopes).'
            ) from None
