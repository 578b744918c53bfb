"""Who may do what, in one place.

Roles are ranked: an annotator labels; a reviewer also accepts and rejects human labels; a
manager also manages the project, its members, classes, imports and exports. Every object is
reached through a project the user belongs to; for anyone else it does not exist (404), so ids
leak nothing. Superusers act as managers of every project.
"""

from django.db.models import QuerySet
from rest_framework.permissions import BasePermission

from .models import Annotation, Membership, Project

Role = Membership.Role
RANK = {Role.ANNOTATOR: 1, Role.REVIEWER: 2, Role.MANAGER: 3}

# Actions, each the least role that may do it.
VIEW = Role.ANNOTATOR
ANNOTATE = Role.ANNOTATOR
REVIEW = Role.REVIEWER
MANAGE = Role.MANAGER


def visible_projects(user) -> QuerySet[Project]:
    """Projects the user belongs to (all of them for a superuser)."""
    if not user.is_authenticated:
        return Project.objects.none()
    if user.is_superuser:
        return Project.objects.all()
    return Project.objects.filter(memberships__user=user)


def role_in(user, project: Project) -> str | None:
    if not user.is_authenticated:
        return None
    if user.is_superuser:
        return Role.MANAGER
    cache = getattr(user, "_project_roles", None)
    if cache is None:
        cache = user._project_roles = {}
    if project.pk not in cache:
        cache[project.pk] = (
            Membership.objects.filter(user=user, project=project).values_list("role", flat=True).first()
        )
    return cache[project.pk]


def can(user, project: Project, action: str) -> bool:
    role = role_in(user, project)
    return role is not None and RANK[role] >= RANK[action]


def can_change_state(user, annotation: Annotation, new_state: str) -> bool:
    """Filtering the model's proposals (and undoing that) is labelling; judging a person's label is review."""
    if annotation.origin == Annotation.Origin.MODEL:
        return can(user, annotation.image.project, ANNOTATE)
    return can(user, annotation.image.project, REVIEW)


class ProjectRolePermission(BasePermission):
    """DRF permission: the view names its project and the action each HTTP method needs.

    Views set ``project_actions = {"GET": VIEW, "POST": ANNOTATE, ...}`` and implement
    ``get_project()``, which must raise 404 for projects the user cannot see.
    """

    message = "Your role in this project does not allow this."

    def has_permission(self, request, view):
        if not request.user.is_authenticated:
            return False
        actions = getattr(view, "project_actions", None)
        if actions is None:
            return True
        action = actions.get(request.method, MANAGE)
        return can(request.user, view.get_project(), action)
