"""Team pages: the site's accounts for site admins (/team/), and per-person statistics of a project."""

from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef, Q, Subquery
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods
from rest_framework.authtoken.models import Token

from . import selectors
from .apis_auth import PREFIX_LENGTH
from .permissions import REVIEW, can
from .services import users as user_services

User = get_user_model()
STATS_PERIODS = (7, 30, 90, 365)


def _users(query: str):
    app_label, codename = user_services.ADD_PROJECT
    perm = Q(user_permissions__content_type__app_label=app_label, user_permissions__codename=codename)
    users = User.objects.annotate(
        may_create=Exists(User.objects.filter(pk=OuterRef("pk")).filter(perm)),
        token_created=Subquery(Token.objects.filter(user=OuterRef("pk")).values("created")[:1]),
        token_key=Subquery(Token.objects.filter(user=OuterRef("pk")).values("key")[:1]),
    ).order_by("username")
    if query:
        users = users.filter(username__icontains=query)
    return users


def _errors(exc: ValidationError) -> list[str]:
    if hasattr(exc, "error_dict"):
        return [m for messages_ in exc.message_dict.values() for m in messages_]
    return exc.messages


def _team_action(request, action: str, target):
    """Do one POST of the team page: a redirect when done, or the new API key to show once."""
    post, actor = request.POST, request.user
    if action == "create":
        form = {"username": post.get("username", ""), "email": post.get("email", ""),
                "can_create_projects": bool(post.get("can_create_projects"))}
        try:
            user = user_services.user_create(actor=actor, password=post.get("password", ""), **form)
        except ValidationError as exc:
            exc.form = form  # the page shows what was typed again (not the password)
            raise
        messages.success(request, f"User {user.username} created. Add them to projects on each project's Members page.")
    elif action == "password":
        user_services.user_password_set(actor=actor, user=target, password=post.get("password", ""))
        messages.success(request, f"{target.username}'s password is changed; their open sessions are signed out "
                                  "(an API token stays valid: replace it below).")
    elif action == "token":
        # Rendered, not redirected: the key is shown this once and never again.
        return {"user": target.username, "key": user_services.user_token_make(actor=actor, user=target).key}
    elif action in ("grant", "withdraw"):
        user_services.user_project_creation_set(actor=actor, user=target, allowed=action == "grant")
        verb = "may" if action == "grant" else "may no longer"
        messages.success(request, f"{target.username} {verb} create projects.")
    elif action in ("disable", "enable"):
        user_services.user_active_set(actor=actor, user=target, active=action == "enable")
        messages.success(request, f"{target.username} is {action}d.")
    else:
        raise ValidationError({"action": f"Unknown action {action!r}."})
    return redirect("team")


@never_cache  # the page may show a new API key once
@login_required
@require_http_methods(["GET", "POST"])
def team_page(request):
    """Site admins (staff, superusers) manage accounts here without Django admin."""
    if not user_services.account_may_manage(request.user):
        raise PermissionDenied("Only site admins (staff) manage accounts.")
    create_errors, row_errors, new_key, status = {}, {}, None, 200
    form = {"username": "", "email": "", "can_create_projects": False}
    if request.method == "POST":
        action = request.POST.get("action", "")
        target = None if action == "create" else get_object_or_404(User, pk=request.POST.get("user") or 0)
        try:
            outcome = _team_action(request, action, target)
        except ValidationError as exc:
            status = 400
            if target is None:
                form = getattr(exc, "form", form)
                create_errors = exc.message_dict if hasattr(exc, "error_dict") else {"form": exc.messages}
            else:
                row_errors[target.pk] = _errors(exc)
        except PermissionDenied as exc:
            status = 403
            row_errors[target.pk if target else 0] = [str(exc)]
        else:
            if not isinstance(outcome, dict):
                return outcome
            new_key = outcome
    query = request.GET.get("q", "").strip()
    page = Paginator(_users(query), 100).get_page(request.GET.get("page"))
    for user in page:
        user.errors = row_errors.get(user.pk, [])
        user.manageable = user_services.account_may_manage(request.user, user)
        user.token_prefix = (user.token_key or "")[:PREFIX_LENGTH]
    return render(request, "labeling/team.html", {
        "page": page, "q": query, "form": form, "create_errors": create_errors, "new_key": new_key,
    }, status=status)


@login_required
def stats_page(request, project_id):
    """What each person did: reviewers and managers (they steer the work); others get 403."""
    project = get_object_or_404(selectors.project_list(user=request.user), pk=project_id)
    if not can(request.user, project, REVIEW):
        raise PermissionDenied("Statistics per person are for the project's reviewers and managers.")
    try:
        days = int(request.GET.get("days", 30))
    except ValueError:
        days = 30
    if days not in STATS_PERIODS:
        days = 30
    stats = selectors.annotator_stats(project=project, days=days)
    for person in stats["people"]:
        person["active"] = _duration(person["active_seconds"])
        for day in person["days"]:
            day["active"] = _duration(day["active_seconds"])
    return render(request, "labeling/stats.html", {
        "project": project, "stats": stats, "days": days, "periods": STATS_PERIODS,
        "gap_minutes": stats["active_gap_seconds"] // 60,
    })


def _duration(seconds: float) -> str:
    minutes = int(round(seconds / 60))
    return f"{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{minutes} min"
