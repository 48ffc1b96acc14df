"""``POST /api/auth/token/``: DRF's token view, documented with its answers."""

from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.authtoken.views import ObtainAuthToken

from drf_import_export_jobs.serializers import ValidationErrorSerializer


class TokenView(ObtainAuthToken):
    """A token for ``Authorization: Token <key>`` from a username and password."""

    @extend_schema(
        operation_id="authTokenCreate",
        # No credentials needed: the username and password are the body.
        auth=[{}],
        summary="Get an API token",
        description="The user's token for `Authorization: Token <key>` (created once).",
        responses={
            200: OpenApiResponse(
                inline_serializer("AuthToken", {"token": serializers.CharField()}),
                description="The token.",
            ),
            400: OpenApiResponse(
                ValidationErrorSerializer,
                description="Missing fields, or a wrong username or password.",
            ),
        },
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)
