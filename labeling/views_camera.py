"""The camera pages: Capture (frames into a class) and Live (the served model's labels on the video)."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import get_object_or_404, render
from django.urls import reverse

from . import selectors
from .permissions import ANNOTATE, can, role_in


def _page(request, project_id, template, tab, urls):
    project = get_object_or_404(selectors.project_list(user=request.user), pk=project_id)
    classes = list(selectors.label_class_list(project=project))
    config = {
        "project": project.pk,
        "canAnnotate": can(request.user, project, ANNOTATE),
        "usesTags": "tag" in project.kinds,
        "usesShapes": bool({"box", "mask"} & set(project.kinds)),  # Live draws boxes and masks
        "classes": [{"id": c.pk, "name": c.name, "color": c.color, "hotkey": c.hotkey} for c in classes],
        "urls": {name: reverse(route, args=[project.pk]) for name, route in urls.items()},
    }
    return render(request, template, {"project": project, "role": role_in(request.user, project), "classes": classes,
                                      "config": config, "tab": tab})


@login_required
def capture_page(request, project_id):
    return _page(request, project_id, "labeling/capture.html", "capture", {"capture": "api-capture"})


@login_required
def live_page(request, project_id):
    return _page(request, project_id, "labeling/live.html", "live",
                 {"live": "api-live", "frames": "api-live-frames", "versions": "api-model-versions"})
