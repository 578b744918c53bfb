"""Template filters for words people read: statuses with their labels ("in progress", not "inprogress")."""

from django import template

from ..models import Image

register = template.Library()

_STATUS_LABELS = {value: label.lower() for value, label in Image.Status.choices}


@register.filter
def status_label(value: str) -> str:
    return _STATUS_LABELS.get(value, str(value).replace("_", " "))


@register.simple_tag(takes_context=True)
def project_role_at_least(context, project, action: str) -> bool:
    """Whether the signed-in user's role in ``project`` allows ``action`` (annotator, reviewer,
    manager): pages show links only to the screens the role may use (permissions.can decides)."""
    from ..permissions import can

    request = context.get("request")
    return bool(request is not None and can(request.user, project, action))
