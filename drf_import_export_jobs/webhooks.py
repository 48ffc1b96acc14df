"""Signed webhooks: each job status change sent as JSON to the endpoints of
``DRF_IMPORT_EXPORT_JOBS["WEBHOOKS"]``.

When a status change commits (``job_status_changed``), one
:class:`~drf_import_export_jobs.models.WebhookDelivery` is recorded per
endpoint that wants the new status, and a delivery task is sent through the
configured task backend (:func:`~drf_import_export_jobs.dispatch.send_webhook_task`).
Nothing here can fail or slow the job: errors are logged, and the job's
transition has committed already.

The task (:func:`deliver`) POSTs the JSON body with a timeout, follows no
redirect, and signs it: ``X-Jobs-Signature: t=<unix time>,v1=<hex>`` where
``<hex>`` is the HMAC-SHA256, keyed with the endpoint's secret, of
``<unix time>.<body>``. A failed attempt (a connection error, a timeout, any
answer but 2xx) is retried after ``WEBHOOK_RETRY_BACKOFF`` seconds, doubled
each time (at most ``WEBHOOK_RETRY_BACKOFF_MAX``), up to
``WEBHOOK_MAX_ATTEMPTS`` attempts. Only URLs configured in the setting are
ever requested. Receivers check a request with :func:`verify_signature`.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from django.apps import apps
from django.db import models, router, transaction
from django.dispatch import receiver
from django.utils import timezone

from . import dispatch
from .conf import SETTING_NAME, jobs_settings
from .events import job_reference
from .signals import job_status_changed

if TYPE_CHECKING:
    from .models import BaseJob

logger = logging.getLogger(__name__)

#: The request headers of a delivery.
SIGNATURE_HEADER = "X-Jobs-Signature"
EVENT_HEADER = "X-Jobs-Event"
DELIVERY_HEADER = "X-Jobs-Delivery"
#: The ``event`` of every payload.
STATUS_CHANGED = "job.status_changed"
#: How old (in seconds) a signed request may be for :func:`verify_signature`.
DEFAULT_TOLERANCE = 5 * 60


# -- signing ------------------------------------------------------------------------


def compute_signature(body: bytes, secret: str, timestamp: int) -> str:
    """The hex HMAC-SHA256 of ``<timestamp>.<body>`` keyed with ``secret``."""
    message = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def signature_header(body: bytes, secret: str, timestamp: int | None = None) -> str:
    """The ``X-Jobs-Signature`` value of ``body``: ``t=<timestamp>,v1=<hex>``."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    return f"t={timestamp},v1={compute_signature(body, secret, timestamp)}"


def verify_signature(
    body: bytes,
    header: str,
    secret: str,
    *,
    tolerance: float = DEFAULT_TOLERANCE,
    now: float | None = None,
) -> bool:
    """Whether ``header`` (the ``X-Jobs-Signature`` value) signs ``body`` (the
    raw request body) with ``secret``, at most ``tolerance`` seconds ago.

    For receivers: compare in constant time, refuse old timestamps (a
    replayed request), and parse the JSON only once this is true.
    """
    parts: dict[str, list[str]] = {}
    for item in (header or "").split(","):
        key, sep, value = item.strip().partition("=")
        if sep:
            parts.setdefault(key, []).append(value)
    try:
        timestamp = int(parts["t"][0])
    except (KeyError, ValueError):
        return False
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance:
        return False
    expected = compute_signature(body, secret, timestamp)
    return any(hmac.compare_digest(expected, given) for given in parts.get("v1", []))


# -- recording and sending ------------------------------------------------------------


def delivery_model() -> type[models.Model]:
    """The delivery record model (``drf_import_export_jobs.WebhookDelivery``)."""
    return apps.get_model("drf_import_export_jobs", "WebhookDelivery")


def configured_endpoints() -> list[Mapping[str, Any]]:
    """The endpoints of ``WEBHOOKS`` (each a dict with ``url``, ``secret``,
    optional ``events``); the system check reports malformed ones."""
    endpoints = jobs_settings.WEBHOOKS or []
    return [item for item in endpoints if isinstance(item, Mapping) and item.get("url")]


def wants(endpoint: Mapping[str, Any], status: str) -> bool:
    """Whether ``endpoint`` receives changes to ``status`` (no ``events``: all)."""
    events = endpoint.get("events") or ()
    return not events or status in events


def json_id(pk: Any) -> Any:
    """A primary key as JSON: a number as it is, anything else (a UUID) as text."""
    return pk if isinstance(pk, int) else str(pk)


def build_payload(job: BaseJob, old_status: str | None, new_status: str) -> dict[str, Any]:
    """The JSON body of a status change (the ``JobWebhookPayload`` schema component)."""
    label, _pk = job_reference(job)
    kind = "import" if hasattr(job, "confirm_import") else "export"
    return {
        "event": STATUS_CHANGED,
        "created_at": timezone.now().isoformat(),
        "job": {
            "model": label,
            "id": json_id(job.pk),
            "kind": kind,
            "resource": job.resource_path,
            "status": new_status,
            "previous_status": old_status,
            "progress": {"current": job.progress_current or 0, "total": job.progress_total},
            "error_message": job.error_message or "",
        },
    }


@receiver(job_status_changed)
def record_status_change(
    sender: type, job: BaseJob, old_status: str | None, new_status: str, **kwargs: Any
) -> None:
    """Record a delivery per endpoint that wants ``new_status`` and send their
    tasks. Runs after the status change committed; never raises."""
    try:
        endpoints = [item for item in configured_endpoints() if wants(item, new_status)]
        if not endpoints:
            return
        label, pk = job_reference(job)
        payload = build_payload(job, old_status, new_status)
        model = delivery_model()
        kind = payload["job"]["kind"]
        for endpoint in endpoints:
            with transaction.atomic(using=router.db_for_write(model)):
                delivery = model._default_manager.create(
                    job_model=label,
                    job_id=pk,
                    event=f"{kind}.{new_status}",
                    url=str(endpoint["url"]),
                    payload=payload,
                )
                dispatch.send_webhook_task(delivery.pk)
    except Exception:
        logger.exception(
            "Could not record or send the webhooks of %s %s (%s -> %s); the job is not affected.",
            type(job).__name__,
            job.pk,
            old_status,
            new_status,
        )


class NoRedirects(urllib.request.HTTPRedirectHandler):
    """Turns every redirect into the 3xx answer itself (never followed)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


def post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> int:
    """POST ``body`` to ``url``; the HTTP status (a 3xx is returned, not
    followed). Connection errors and timeouts raise ``OSError``."""
    opener = urllib.request.build_opener(NoRedirects)
    request = urllib.request.Request(url, data=body, headers=dict(headers), method="POST")
    try:
        with opener.open(request, timeout=timeout) as response:
            response.read(64 * 1024)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        return int(exc.code)


def retry_delay(attempts: int) -> float:
    """Seconds before the next attempt after ``attempts`` failed ones."""
    base = float(jobs_settings.WEBHOOK_RETRY_BACKOFF)
    longest = float(jobs_settings.WEBHOOK_RETRY_BACKOFF_MAX)
    return float(min(base * 2 ** max(0, attempts - 1), longest))


def deliver(delivery_id: int) -> None:
    """Make one attempt at delivery ``delivery_id``; record the outcome and
    send the next attempt (with backoff) when this one failed and attempts
    remain. A delivery that is no longer pending, or whose URL is no longer
    configured, is not sent."""
    model = delivery_model()
    delivery: Any = model._default_manager.filter(pk=delivery_id).first()
    if delivery is None or delivery.status != "pending":
        logger.info("Webhook delivery %s is gone or no longer pending; skipped.", delivery_id)
        return
    endpoint = next((e for e in configured_endpoints() if e["url"] == delivery.url), None)
    now = timezone.now()
    if endpoint is None:
        model._default_manager.filter(pk=delivery.pk).update(
            status="failed",
            last_error=f"{delivery.url} is no longer in {SETTING_NAME}['WEBHOOKS'].",
            updated_at=now,
        )
        return
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True).encode()
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "drf-import-export-jobs webhooks",
        SIGNATURE_HEADER: signature_header(body, str(endpoint["secret"])),
        EVENT_HEADER: str(delivery.payload.get("event", STATUS_CHANGED)),
        DELIVERY_HEADER: str(delivery.pk),
    }
    code: int | None = None
    try:
        code = post(delivery.url, body, headers, float(jobs_settings.WEBHOOK_TIMEOUT))
        error = "" if 200 <= code < 300 else f"The endpoint answered HTTP {code}."
    except (OSError, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"[:2000]
    attempts = delivery.attempts + 1
    fields: dict[str, Any] = {
        "attempts": attempts,
        "response_code": code,
        "last_error": error,
        "updated_at": now,
    }
    if not error:
        fields.update(status="delivered", delivered_at=now, next_attempt_at=None)
    elif attempts >= int(jobs_settings.WEBHOOK_MAX_ATTEMPTS):
        fields.update(status="failed", next_attempt_at=None)
    else:
        delay = retry_delay(attempts)
        fields["next_attempt_at"] = now + timedelta(seconds=delay)
    model._default_manager.filter(pk=delivery.pk, status="pending").update(**fields)
    if error:
        logger.warning(
            "Webhook delivery %s to %s, attempt %s: %s", delivery.pk, delivery.url, attempts, error
        )
    if error and fields.get("next_attempt_at") is not None:
        dispatch.send_webhook_task(delivery.pk, delay=delay)
