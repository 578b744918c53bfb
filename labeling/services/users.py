"""Site accounts, managed in the app by site admins: create, reset a password, allow creating projects,
disable and enable. API tokens for another user go through services/tokens.py.

Who may touch which account (account_may_manage) is checked here as well as in the view: a staff
user who could reset a superuser's password, or make a token for one, could become that superuser.
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

User = get_user_model()

ADD_PROJECT = ("labeling", "add_project")


def account_may_manage(actor, target=None) -> bool:
    """Staff and superusers manage accounts; only a superuser manages staff and superuser accounts."""
    if not (actor.is_authenticated and actor.is_active and (actor.is_staff or actor.is_superuser)):
        return False
    if target is None or actor.is_superuser:
        return True
    return not (target.is_staff or target.is_superuser)


def _check(actor, target=None) -> None:
    if not account_may_manage(actor, target):
        raise PermissionDenied("Only a superuser may manage staff and superuser accounts.")


def _password_errors(password: str, user) -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None


def _add_project_permission() -> Permission:
    return Permission.objects.get(content_type__app_label=ADD_PROJECT[0], codename=ADD_PROJECT[1])


def user_create(*, actor, username: str, password: str, email: str = "", can_create_projects: bool = False):
    """A new active account; its name must be free and valid, its password pass the site's validators."""
    _check(actor)
    username = (username or "").strip()
    errors: dict[str, list[str]] = {}
    field = User._meta.get_field(User.USERNAME_FIELD)
    if not username:
        errors["username"] = ["A user name is required."]
    else:
        try:
            field.run_validators(username)
        except ValidationError as exc:
            errors["username"] = exc.messages
    if "username" not in errors and User.objects.filter(username__iexact=username).exists():
        # Case-insensitively: "Rita" beside "rita" is a trap when adding members by name.
        errors["username"] = [f"A user called {username!r} already exists."]
    candidate = User(username=username, email=email or "")
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        errors["password"] = exc.messages
    if errors:
        raise ValidationError(errors)
    try:
        with transaction.atomic():
            candidate.set_password(password)
            candidate.save()
            if can_create_projects:
                candidate.user_permissions.add(_add_project_permission())
    except IntegrityError:
        raise ValidationError({"username": f"A user called {username!r} already exists."}) from None
    return candidate


@transaction.atomic
def user_password_set(*, actor, user, password: str):
    """Set a new password (the user's sessions end: Django checks the password hash per session)."""
    _check(actor, user)
    _password_errors(password, user)
    user.set_password(password)
    user.save(update_fields=["password"])
    return user


@transaction.atomic
def user_project_creation_set(*, actor, user, allowed: bool):
    """Grant or withdraw the permission labeling.add_project (see permissions.can_create_project)."""
    _check(actor, user)
    permission = _add_project_permission()
    if allowed:
        user.user_permissions.add(permission)
    else:
        user.user_permissions.remove(permission)
    for cache in ("_perm_cache", "_user_perm_cache"):
        user.__dict__.pop(cache, None)
    return user


@transaction.atomic
def user_active_set(*, actor, user, active: bool):
    """Disable (sign-in and tokens refused, memberships kept) or enable an account; never one's own."""
    if user.pk == actor.pk:
        raise ValidationError({"active": "You cannot disable your own account."})
    _check(actor, user)
    user.is_active = active
    user.save(update_fields=["is_active"])
    return user


def user_token_make(*, actor, user):
    """A new API token for ``user`` (the old key stops working); the key is shown once."""
    from .tokens import token_rotate

    _check(actor, user)
    if not user.is_active:
        raise ValidationError({"token": f"{user.username} is disabled: enable the account first."})
    return token_rotate(user=user)
