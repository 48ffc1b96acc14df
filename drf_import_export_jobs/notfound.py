"""JSON 404s for paths under the API prefix that no route matches.

A path the URL resolver refuses (``{p}/1/nope/``, ``/api/typo/``) never
reaches a viewset, so Django answers it with its HTML 404 page. Include this
module last under the API prefix and such paths answer like any API error
(``{"detail": "Not found."}``, rendered by the project's renderers)::

    urlpatterns = [
        path("api/", include(router.urls)),
        # ... the project's other routes under api/ ...
        path("api/", include("drf_import_export_jobs.notfound")),  # last
    ]

With ``APPEND_SLASH`` a ``GET`` or ``HEAD`` of a path without its trailing
slash is still redirected to the route with one, as ``CommonMiddleware`` does.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponsePermanentRedirect
from django.urls import Resolver404, re_path, resolve
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.views import APIView

__all__ = ["NotFoundView", "urlpatterns"]


class NotFoundView(APIView):
    """Answers every request with DRF's 404. No authentication or permission
    is checked (there is nothing to protect) and the view is left out of the
    OpenAPI schema."""

    authentication_classes: Any = ()
    permission_classes: Any = ()
    schema = None

    def get_redirect_url(self, request: Request) -> str | None:
        """The URL with a slash appended when ``APPEND_SLASH`` is on and that
        path is another route (``CommonMiddleware`` redirects only paths that
        no route matches, and this view matches them all); else ``None``."""
        path = request.path_info
        if (
            not settings.APPEND_SLASH
            or path.endswith("/")
            or request.method not in ("GET", "HEAD")
        ):
            return None
        try:
            match = resolve(f"{path}/", getattr(request, "urlconf", None))
        except Resolver404:
            return None
        view_class = getattr(match.func, "cls", None)
        if isinstance(view_class, type) and issubclass(view_class, NotFoundView):
            return None
        return request._request.get_full_path(force_append_slash=True)

    def not_found(self, request: Request, *args: Any, **kwargs: Any) -> Any:
        """404 for every method (or the slash redirect)."""
        url = self.get_redirect_url(request)
        if url is not None:
            return HttpResponsePermanentRedirect(url)
        raise NotFound()

    get = post = put = patch = delete = options = trace = not_found


#: One route matching every path; include it last under the API prefix.
urlpatterns = [re_path(r"^.*$", NotFoundView.as_view())]
