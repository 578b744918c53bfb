"""API tokens: one per user, rotated (a new key; the old one stops working at once) or revoked."""

from django.contrib.auth import get_user_model
from django.db import transaction
from rest_framework.authtoken.models import Token


@transaction.atomic
def token_rotate(*, user) -> Token:
    """Replace the user's token (or make a first one). The old key is refused from the commit on."""
    # Lock the user row: two rotations at once must not both create a token (one per user).
    get_user_model().objects.select_for_update().filter(pk=user.pk).exists()
    Token.objects.filter(user=user).delete()
    return Token.objects.create(user=user)


@transaction.atomic
def token_revoke(*, user) -> bool:
    """Delete the user's token; scripts using it get 401 from then on. False when there was none."""
    deleted, _ = Token.objects.filter(user=user).delete()
    return bool(deleted)
