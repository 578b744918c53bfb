"""Pages for managers: export, import (COCO and URL lists) and project settings.

They render what the page needs at once and call the JSON API for everything they change, so the
rules and error messages are the API's. Members with a lower role get a 403 page naming who may;
people outside the project get the same 404 as for a project that does not exist.
"""

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import get_object_or_404, render

from . import selectors, selectors_data
from .models import Image, Project
from .permissions import MANAGE, can

MANAGERS_ONLY = "Only the project's managers may use this page; ask one of them."


def _managed_project(request, project_id) -> Project:
    project = get_object_or_404(selectors.project_list(user=request.user), pk=project_id)
    if not can(request.user, project, MANAGE):
        raise PermissionDenied(MANAGERS_ONLY)
    return project


@login_required
def export_page(request, project_id):
    project = _managed_project(request, project_id)
    return render(request, "labeling/export.html", {
        "project": project,
        "exports": selectors_data.recent_exports(project=project),
        "keep_exports": settings.KEEP_EXPORTS,
    })


@login_required
def import_page(request, project_id):
    project = _managed_project(request, project_id)
    return render(request, "labeling/import.html", {
        "project": project,
        "max_urls": settings.URL_IMPORT_MAX_URLS,
    })


@login_required
def settings_page(request, project_id):
    project = _managed_project(request, project_id)
    return render(request, "labeling/settings.html", {
        "project": project,
        "queue_orders": project.QueueOrder.choices,
        "statuses": Image.Status.choices,
        "summary": selectors_data.project_delete_summary(project=project),
    })
