"""Throttling: repeated failed sign-ins and wrong API tokens lock the sender out for a while.

Failures are counted in the default cache (Redis in production, so every web process sees the same
counts; local memory when embedded), in fixed windows of AUTH_FAILURE_WINDOW_SECONDS:
- sign-in (the login page, the admin's, anything calling `authenticate()` with a request): at most
  LOGIN_FAILURE_LIMIT failures for one user name from one address, and LOGIN_FAILURE_LIMIT_PER_ADDRESS
  for all user names from one address (password spraying). There is no limit per user name alone:
  anyone could then lock any colleague out by typing their name.
- API tokens: at most TOKEN_FAILURE_LIMIT wrong tokens from one address; then 429 until the window ends.

Addresses come from DRF's `get_ident` (REST_FRAMEWORK["NUM_PROXIES"] says how many proxies' entries
of X-Forwarded-For to trust), so the rate throttles and these counters agree on who is who.

Ordinary request rates are DRF throttles (anonymous and per user), with rates read from settings at
each request so that they can be changed (and tested) without reloading DRF's settings.
"""

import hashlib

from django.conf import settings
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.contrib.auth.views import LoginView
from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.dispatch import receiver
from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication, get_authorization_header
from rest_framework.throttling import AnonRateThrottle, BaseThrottle, UserRateThrottle

LOGIN = "login"
TOKEN = "token"


def client_address(request) -> str:
    return BaseThrottle().get_ident(request) or "unknown"


def _key(scope: str, *parts: str) -> str:
    # Hashed: user names may hold characters some cache backends refuse in keys.
    digest = hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:32]
    return f"authfail:{scope}:{digest}"


def _keys_and_limits(scope: str, request, username: str | None) -> list[tuple[str, int]]:
    address = client_address(request)
    if scope == TOKEN:
        return [(_key(TOKEN, address), settings.TOKEN_FAILURE_LIMIT)]
    keys = [(_key(LOGIN, address), settings.LOGIN_FAILURE_LIMIT_PER_ADDRESS)]
    if username:
        keys.append((_key(LOGIN, address, username.casefold()), settings.LOGIN_FAILURE_LIMIT))
    return keys


def is_locked_out(scope: str, request, username: str | None = None) -> bool:
    keys = _keys_and_limits(scope, request, username)
    counts = cache.get_many([key for key, _ in keys])
    return any(counts.get(key, 0) >= limit for key, limit in keys)


def failure_record(scope: str, request, username: str | None = None) -> None:
    for key, _ in _keys_and_limits(scope, request, username):
        # add() starts the window only for the first failure; incr() never extends it.
        cache.add(key, 0, timeout=settings.AUTH_FAILURE_WINDOW_SECONDS)
        try:
            cache.incr(key)
        except ValueError:  # the window ended between add() and incr()
            cache.add(key, 1, timeout=settings.AUTH_FAILURE_WINDOW_SECONDS)


def lockout_minutes() -> int:
    return max(1, round(settings.AUTH_FAILURE_WINDOW_SECONDS / 60))


# Sign-in ------------------------------------------------------------------------------------------


class LockoutModelBackend(ModelBackend):
    """Django's user/password backend that first refuses every sign-in from a locked-out sender.

    PermissionDenied stops `authenticate()` before the password is even checked, so a locked-out
    guesser learns nothing more (and spends no hashing time of ours).
    """

    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is not None and is_locked_out(LOGIN, request, username):
            request._login_locked_out = True
            raise PermissionDenied("Too many failed sign-ins.")
        return super().authenticate(request, username=username, password=password, **kwargs)


@receiver(user_login_failed, dispatch_uid="annotator.throttling.count_failure")
def _count_failure(sender, credentials, request=None, **kwargs):
    # Refused-while-locked attempts are not counted: the window ends when it was going to.
    if request is not None and not getattr(request, "_login_locked_out", False):
        failure_record(LOGIN, request, credentials.get("username"))


@receiver(user_logged_in, dispatch_uid="annotator.throttling.forget_failures")
def _forget_failures(sender, request, user, **kwargs):
    if request is not None:
        cache.delete(_key(LOGIN, client_address(request), user.get_username().casefold()))


class ThrottledAuthenticationForm(AuthenticationForm):
    """The login page's form: says plainly when the sender is locked out, instead of "wrong password"."""

    error_messages = {
        **AuthenticationForm.error_messages,
        "invalid_login": "Your user name and password did not match. Please try again.",
        "locked_out": "Too many failed sign-ins from here. Wait %(minutes)s minutes, then try again.",
    }

    def clean(self):
        username = self.cleaned_data.get("username")
        if self.request is not None and is_locked_out(LOGIN, self.request, username):
            raise ValidationError(self.error_messages["locked_out"], code="locked_out",
                                  params={"minutes": lockout_minutes()})
        try:
            return super().clean()
        except ValidationError:
            # This very failure may have reached the limit: say so now rather than at the next try.
            if self.request is not None and is_locked_out(LOGIN, self.request, username):
                raise ValidationError(self.error_messages["locked_out"], code="locked_out",
                                      params={"minutes": lockout_minutes()}) from None
            raise


class ThrottledLoginView(LoginView):
    """The login page; a locked-out sender gets the form with the reason, as 429 Too Many Requests."""

    authentication_form = ThrottledAuthenticationForm

    def form_invalid(self, form):
        response = super().form_invalid(form)
        if form.has_error(NON_FIELD_ERRORS, "locked_out"):
            response.status_code = 429
            response["Retry-After"] = str(settings.AUTH_FAILURE_WINDOW_SECONDS)
        return response


# API tokens ---------------------------------------------------------------------------------------


class ThrottledTokenAuthentication(TokenAuthentication):
    """Token authentication that counts wrong tokens per address and answers 429 past the limit."""

    def authenticate(self, request):
        auth = get_authorization_header(request).split()
        if not auth or auth[0].lower() != self.keyword.lower().encode():
            return None
        if is_locked_out(TOKEN, request):
            raise exceptions.Throttled(
                wait=settings.AUTH_FAILURE_WINDOW_SECONDS,
                detail=f"Too many requests with a wrong token from this address; "
                       f"try again in {lockout_minutes()} minutes.",
            )
        try:
            return super().authenticate(request)
        except exceptions.AuthenticationFailed:
            failure_record(TOKEN, request)
            raise


# Request rates --------------------------------------------------------------------------------------


class AnonThrottle(AnonRateThrottle):
    def get_rate(self):
        return settings.API_THROTTLE_ANON_RATE


class UserThrottle(UserRateThrottle):
    def get_rate(self):
        return settings.API_THROTTLE_USER_RATE
