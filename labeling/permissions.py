"""Who may do what, in one place.

Roles are ranked: an annotator labels; a reviewer also accepts and rejects human labels; a
manager also manages the project, its members, classes, imports and exports. Every object is
reached through a project the user belongs to; for anyone else it does not exist (404), so ids
leak nothing. Superusers act as managers of every project. Creating a project is not a role in a
project but a site-wide right (settings.PROJECT_CREATORS).
"""

from django.conf import settings
from django.db.models import QuerySet
from rest_framework.permissions import BasePermission

from .models import Annotation, AnnotationEvent, Image, Membership, Project

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


def remember_role(user, project: Project, role: str | None) -> None:
    """Note the user's role, read with the project in the same query, so role_in asks nothing more."""
    if not hasattr(user, "_project_roles"):
        user._project_roles = {}
    user._project_roles[project.pk] = role


def can(user, project: Project, action: str) -> bool:
    role = role_in(user, project)
    return role is not None and RANK[role] >= RANK[action]


def can_create_project(user) -> bool:
    """PROJECT_CREATORS: staff, superusers and users granted labeling.add_project, or everyone.

    A project's creator becomes its manager and may add any user by name, so creating projects
    is not for every account by default.
    """
    if not user.is_authenticated or not user.is_active:
        return False
    if settings.PROJECT_CREATORS == "everyone":
        return True
    return user.is_staff or user.has_perm("labeling.add_project")  # has_perm is True for superusers


CREATE_PROJECT_REFUSED = "Your account may not create projects; ask an administrator for the permission."


def can_set_image_status(user, image: Image, status: str) -> bool:
    """Marking an image reviewed is review, and so is taking "reviewed" back (or moving a reviewed
    image anywhere): otherwise an annotator could undo a reviewer's verdict. The other moves
    (new, in progress, done) are labelling."""
    if Image.Status.REVIEWED in (status, image.status):
        return can(user, image.project, REVIEW)
    return can(user, image.project, ANNOTATE)


def can_change_state(user, annotation: Annotation, new_state: str) -> bool:
    """Filtering the model's proposals is labelling; judging a person's label is review.

    An annotator may accept or reject a proposal, and undo their OWN filtering later, but not
    overturn a state somebody else set (a reviewer's rejection above all). Who set the current
    state is read from the audit trail (see note_state_setters) rather than stored: the trail
    already records every change with its actor, and a stored flag could disagree with it.
    """
    project = annotation.image.project
    if can(user, project, REVIEW):
        return True
    if annotation.origin != Annotation.Origin.MODEL or not can(user, project, ANNOTATE):
        return False
    if annotation.state in (Annotation.State.PROPOSED, new_state):
        return True  # filtering a proposal, or leaving the state as it is (a bulk relabel, say)
    if not hasattr(annotation, "_state_set_by"):
        note_state_setters([annotation])
    return annotation._state_set_by is not None and annotation._state_set_by == user.pk


def note_state_setters(annotations) -> None:
    """Set ``_state_set_by`` (a user id, or None) on each annotation, in one query for all of them.

    The setter is the actor of the latest audit event that changed the state, or of the creation
    when nothing changed it since. Call this before checking many rows with can_change_state.
    """
    annotations = list(annotations)
    setters: dict[int, int | None] = {}
    events = (
        AnnotationEvent.objects.filter(annotation_id__in=[a.pk for a in annotations])
        .exclude(action=AnnotationEvent.Action.DELETE)
        .order_by("annotation_id", "-id")
        .values_list("annotation_id", "actor_id", "action", "before__state", "after__state")
    )
    for annotation_id, actor_id, action, before, after in events:
        if annotation_id in setters:
            continue  # a later event already decided
        if action == AnnotationEvent.Action.CREATE or before != after:
            setters[annotation_id] = actor_id
    for annotation in annotations:
        annotation._state_set_by = setters.get(annotation.pk)


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
