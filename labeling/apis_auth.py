"""The signed-in user's own API token: see it exists, rotate it, revoke it (GET/POST/DELETE /api/auth/token/)."""

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authtoken.models import Token
from rest_framework.exceptions import NotFound
from rest_framework.response import Response
from rest_framework.views import APIView

from .services import tokens as token_services

# The key is shown once, when it is made; afterwards only its first characters, to recognise it.
PREFIX_LENGTH = 6

_TokenInfo = inline_serializer("TokenInfo", {
    "prefix": serializers.CharField(help_text="The key's first characters."),
    "created": serializers.DateTimeField(),
})
_NewToken = inline_serializer("NewToken", {
    "key": serializers.CharField(help_text="Send as `Authorization: Token <key>`. Shown only now."),
    "prefix": serializers.CharField(),
    "created": serializers.DateTimeField(),
})


def token_info(token) -> dict:
    return {"prefix": token.key[:PREFIX_LENGTH], "created": token.created}


class OwnToken(APIView):
    """Your API token. POST makes a new one (the old key stops working at once); DELETE revokes it."""

    @extend_schema(responses={200: _TokenInfo})
    def get(self, request):
        token = Token.objects.filter(user=request.user).first()
        if token is None:
            raise NotFound("You have no API token; POST to this address makes one.")
        return Response(token_info(token))

    @extend_schema(request=None, responses={201: _NewToken})
    def post(self, request):
        token = token_services.token_rotate(user=request.user)
        return Response({"key": token.key, **token_info(token)}, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={204: None})
    def delete(self, request):
        token_services.token_revoke(user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)
