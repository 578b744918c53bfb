"""The account page: a signed-in user's API token (make, rotate, revoke) and a link to change the password."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token

from .apis_auth import PREFIX_LENGTH
from .services import tokens as token_services


@never_cache  # the page may show a key: no copy in any cache
@login_required
@require_http_methods(["GET", "POST"])
def account(request):
    new_key = None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "rotate":
            # Rendered, not redirected: the key is shown this once and never again.
            new_key = token_services.token_rotate(user=request.user).key
        elif action == "revoke":
            if token_services.token_revoke(user=request.user):
                messages.success(request, "Your API token is revoked: scripts using it are refused from now on.")
            return redirect("account")
        else:
            return HttpResponseBadRequest("Unknown action: use rotate or revoke.")
    token = Token.objects.filter(user=request.user).first()
    return render(request, "account.html", {
        "token": token,
        "prefix": token.key[:PREFIX_LENGTH] if token else "",
        "new_key": new_key,
    })
