"""The audit table: every operation against another project's objects, for five roles.

Project A is "ours": the acting users are its annotator, reviewer and manager, plus an outsider
(member of nothing) and an anonymous client. Project B is "theirs", with one object of every kind.
For every API route and page that names an object, B's object must be indistinguishable from an
id that does not exist: the same status (404 signed in; 401 for the anonymous API, a redirect to
the login page for anonymous pages) and the same body, and B is left exactly as it was.

A second table names B's objects from inside A (filters, bodies, query parameters, A's URLs with
B's ids): the answer must equal the answer for a missing id, for every role of A. Otherwise the
difference between "not yours" and "does not exist" tells an annotator which ids exist elsewhere.
"""

import io
import json
import re
import uuid

import pytest
from django.urls import get_resolver
from rest_framework.test import APIClient

from labeling.models import Annotation, AnnotationEvent, Image, Job, LabelClass, Membership, Project
from mlassist.models import ModelVersion

from ..factories import (
    AnnotationFactory,
    ImageFactory,
    LabelClassFactory,
    MembershipFactory,
    ProjectFactory,
    UserFactory,
    upload,
)

pytestmark = pytest.mark.django_db

ROLES = ["annotator", "reviewer", "manager", "outsider", "anonymous"]
BOX = {"kind": "box", "geometry": {"x": 1, "y": 1, "w": 5, "h": 5}}
COCO = {"images": [], "annotations": [], "categories": [{"id": 1, "name": "x"}]}


def _named(data: bytes, name: str):
    f = io.BytesIO(data)
    f.name = name
    return f


# Bodies are made fresh for each request (uploads are read once). Each is what the route would
# accept from a member with the right role, so a 404 means "not found", not "bad input".
BODIES = {
    "project": lambda w: {"description": "taken over"},
    "member_add": lambda w: {"username": "outsider", "role": "manager"},
    "member_role": lambda w: {"role": "annotator"},
    "class_add": lambda w: {"name": "intruder"},
    "class_edit": lambda w: {"color": "#00ff00"},
    "upload": lambda w: {"files": [upload("x.png", color=(9, 9, 9))]},
    "status": lambda w: {"status": "reviewed"},
    "annotation": lambda w: {"label_class": w["B"]["cls"], **BOX},
    "annotation_edit": lambda w: {"version": 1, "state": "rejected"},
    "annotation_batch": lambda w: {"create": [{"label_class": w["B"]["cls"], **BOX}]},
    "coco": lambda w: {"file": _named(json.dumps(COCO).encode(), "c.json")},
    "urls": lambda w: {"file": _named(b"https://example.org/a.png\n", "urls.txt")},
    "bulk": lambda w: {"ids": [w["B"]["proposal"]], "versions": [1], "state": "accepted"},
    "box_mask": lambda w: {"box": {"x": 1, "y": 1, "w": 20, "h": 20}},
    "superpixels": lambda w: {"region": {"x": 0, "y": 0, "w": 50, "h": 40}},
    "propose": lambda w: {"images": []},
    "maia": lambda w: {"method": "autoencoder"},
    "threshold": lambda w: {"threshold": 0.3},
    "images_delete": lambda w: {"status": ["new"]},
    "class_merge": lambda w: {"source": w["B"]["cls"], "target": w["B"]["cls"]},
    "class_paste": lambda w: {"names": "intruder"},
    "image_review": lambda w: {"verdict": "sent_back", "text": "redo"},
    "capture": lambda w: {"label_class": w["B"]["cls"], "frames": [upload("f.png", color=(7, 7, 7))]},
    "live": lambda w: {"frame": upload("f.png", color=(7, 7, 7))},
    "live_frames": lambda w: {"frame": upload("f.png", color=(7, 7, 7)), "model_version": w["B"]["v"]},
    "predictions": lambda w: {"model": {"name": "outside", "version": "1"}, "predictions": [
        {"image": w["B"]["i"], "label_class": w["B"]["cls"], **BOX, "score": 0.5}]},
}
MULTIPART = {"upload", "coco", "urls", "capture", "live", "live_frames"}

# (route name, method, URL template over B's ids, body key or None). {p} project, {m} membership,
# {c} class, {i} image, {a} human annotation, {j} job, {v} model version.
API = [
    ("api-project-detail", "get", "/api/projects/{p}/", None),
    ("api-project-detail", "patch", "/api/projects/{p}/", "project"),
    ("api-project-detail", "delete", "/api/projects/{p}/", None),
    ("api-member-list", "get", "/api/projects/{p}/members/", None),
    ("api-member-list", "post", "/api/projects/{p}/members/", "member_add"),
    ("api-member-detail", "get", "/api/projects/{p}/members/{m}/", None),
    ("api-member-detail", "patch", "/api/projects/{p}/members/{m}/", "member_role"),
    ("api-member-detail", "delete", "/api/projects/{p}/members/{m}/", None),
    ("api-class-list", "get", "/api/projects/{p}/classes/", None),
    ("api-class-list", "post", "/api/projects/{p}/classes/", "class_add"),
    ("api-class-detail", "get", "/api/projects/{p}/classes/{c}/", None),
    ("api-class-detail", "patch", "/api/projects/{p}/classes/{c}/", "class_edit"),
    ("api-class-detail", "delete", "/api/projects/{p}/classes/{c}/", None),
    ("api-image-list", "get", "/api/projects/{p}/images/", None),
    ("api-image-list", "post", "/api/projects/{p}/images/", "upload"),
    ("api-next-image", "get", "/api/projects/{p}/next-image/", None),
    ("api-project-stats", "get", "/api/projects/{p}/stats/", None),
    ("api-project-annotations", "get", "/api/projects/{p}/annotations/", None),
    ("api-export-coco", "get", "/api/projects/{p}/export/coco/", None),
    ("api-import-coco", "post", "/api/projects/{p}/import/coco/", "coco"),
    ("api-import-urls", "post", "/api/projects/{p}/import/urls/", "urls"),
    ("api-image-detail", "get", "/api/images/{i}/", None),
    ("api-image-detail", "patch", "/api/images/{i}/", "status"),
    ("api-image-detail", "delete", "/api/images/{i}/", None),
    ("api-image-file", "get", "/api/images/{i}/file/", None),
    ("api-image-thumbnail", "get", "/api/images/{i}/thumbnail/", None),
    ("api-image-annotations", "get", "/api/images/{i}/annotations/", None),
    ("api-image-annotations", "post", "/api/images/{i}/annotations/", "annotation"),
    ("api-image-annotations-batch", "post", "/api/images/{i}/annotations/batch/", "annotation_batch"),
    ("api-smart-box-mask", "post", "/api/images/{i}/smart/box-mask/", "box_mask"),
    ("api-smart-superpixels", "post", "/api/images/{i}/smart/superpixels/", "superpixels"),
    ("api-annotation-detail", "get", "/api/annotations/{a}/", None),
    ("api-annotation-detail", "patch", "/api/annotations/{a}/", "annotation_edit"),
    ("api-annotation-detail", "delete", "/api/annotations/{a}/?version=1", None),
    ("api-annotation-events", "get", "/api/annotations/{a}/events/", None),
    ("api-annotation-similar", "get", "/api/annotations/{a}/similar/", None),
    ("api-image-review", "get", "/api/images/{i}/review/", None),
    ("api-image-review", "post", "/api/images/{i}/review/", "image_review"),
    ("api-image-events", "get", "/api/images/{i}/events/", None),
    ("api-job-list", "get", "/api/projects/{p}/jobs/", None),
    ("api-job-detail", "get", "/api/jobs/{j}/", None),
    ("api-job-result", "get", "/api/jobs/{j}/result/", None),
    ("api-job-retry", "post", "/api/jobs/{j}/retry/", None),
    ("api-job-url-lines", "get", "/api/jobs/{j}/url-lines/", None),
    ("api-annotations-bulk", "post", "/api/projects/{p}/annotations/bulk/", "bulk"),
    ("api-review-annotations", "get", "/api/projects/{p}/review/annotations/", None),
    ("api-train", "post", "/api/projects/{p}/train/", None),
    ("api-training-runs", "get", "/api/projects/{p}/training-runs/", None),
    ("api-model-versions", "get", "/api/projects/{p}/model-versions/", None),
    ("api-model-version-promote", "post", "/api/projects/{p}/model-versions/{v}/promote/", None),
    ("api-model-version-threshold", "patch", "/api/projects/{p}/model-versions/{v}/threshold/", "threshold"),
    ("api-propose", "post", "/api/projects/{p}/propose/", "propose"),
    ("api-model-tflite", "get", "/api/projects/{p}/model/tflite/", None),
    ("api-suspicious-labels", "get", "/api/projects/{p}/suspicious-labels/", None),
    ("api-capture", "get", "/api/projects/{p}/capture/", None),
    ("api-capture", "post", "/api/projects/{p}/capture/", "capture"),
    ("api-live", "post", "/api/projects/{p}/live/", "live"),
    ("api-live-frames", "post", "/api/projects/{p}/live/frames/", "live_frames"),
    ("api-images-delete", "get", "/api/projects/{p}/images/delete/?status=new", None),
    ("api-images-delete", "post", "/api/projects/{p}/images/delete/", "images_delete"),
    ("api-class-merge", "post", "/api/projects/{p}/classes/merge/", "class_merge"),
    ("api-class-paste", "post", "/api/projects/{p}/classes/paste/", "class_paste"),
    ("api-predictions", "get", "/api/projects/{p}/predictions/", None),
    ("api-predictions", "post", "/api/projects/{p}/predictions/", "predictions"),
    ("api-maia", "get", "/api/projects/{p}/maia/", None),
    ("api-maia", "post", "/api/projects/{p}/maia/", "maia"),
    ("api-maia-detector", "post", "/api/projects/{p}/maia/detector/", None),
    ("api-training-readiness", "get", "/api/projects/{p}/training-readiness/", None),
    ("api-model-events", "get", "/api/projects/{p}/model-events/", None),
    ("api-time-saved", "get", "/api/projects/{p}/time-saved/", None),
]
PAGES = [
    ("project-detail", "get", "/projects/{p}/", None),
    ("project-members", "get", "/projects/{p}/members/", None),
    ("project-members", "post", "/projects/{p}/members/", {"username": "outsider", "role": "manager"}),
    ("project-classes", "get", "/projects/{p}/classes/", None),
    ("project-classes", "post", "/projects/{p}/classes/", {"name": "intruder"}),
    ("workspace-next", "get", "/projects/{p}/annotate/", None),
    ("workspace", "get", "/projects/{p}/images/{i}/annotate/", None),
    ("project-review", "get", "/projects/{p}/review/", None),
    ("project-model", "get", "/projects/{p}/model/", None),
    ("project-maia", "get", "/projects/{p}/maia/", None),
    ("project-capture", "get", "/projects/{p}/capture/", None),
    ("project-live", "get", "/projects/{p}/live/", None),
    ("project-export", "get", "/projects/{p}/export/", None),
    ("project-import", "get", "/projects/{p}/import/", None),
    ("project-settings", "get", "/projects/{p}/settings/", None),
    ("project-statistics", "get", "/projects/{p}/statistics/", None),
]


@pytest.fixture
def world(project, classes, image, manager, reviewer, annotator, outsider):
    """A (ours, from the fixtures) and B (theirs), with one object of every kind in B."""
    theirs = ProjectFactory(name="Theirs")
    owner = UserFactory(username="their-manager")
    member = MembershipFactory(project=theirs, user=owner, role=Membership.Role.MANAGER)
    cls = LabelClassFactory(project=theirs, name="secret")
    their_image = ImageFactory(project=theirs)
    human = AnnotationFactory(image=their_image, label_class=cls)
    proposal = AnnotationFactory(image=their_image, label_class=cls, origin="model", state="proposed", score=0.9)
    job = Job.objects.create(project=theirs, kind="coco_export", state="failed", error="boom")
    version = ModelVersion.objects.create(project=theirs, kind="classifier", number=1)
    ours_annotation = AnnotationFactory(image=image, label_class=classes[0])
    ours_proposal = AnnotationFactory(image=image, label_class=classes[1], origin="model", state="proposed", score=0.5)
    B = {"p": theirs.pk, "m": member.pk, "c": cls.pk, "cls": cls.pk, "i": their_image.pk, "a": human.pk,
         "proposal": proposal.pk, "j": job.pk, "v": version.pk}
    missing = {k: (uuid.uuid4() if k == "j" else v + 100_000) for k, v in B.items()}
    A = {"p": project.pk, "i": image.pk, "a": ours_annotation.pk, "proposal": ours_proposal.pk, "cls": classes[0].pk}
    users = {"annotator": annotator, "reviewer": reviewer, "manager": manager, "outsider": outsider}
    return {"A": A, "B": B, "missing": missing, "users": users, "theirs": theirs}


def _client(world, role, client_for):
    if role == "anonymous":
        return APIClient()
    client = client_for(world["users"][role])
    # Pages use the session, the API the token.
    client.force_login(world["users"][role])
    return client


def _snapshot(project: Project):
    """Everything of B that a request could change."""
    return {
        "project": list(Project.objects.filter(pk=project.pk).values("name", "description")),
        "members": sorted(Membership.objects.filter(project=project).values_list("user__username", "role")),
        "classes": sorted(LabelClass.objects.filter(project=project).values_list("name", "color")),
        "images": sorted(Image.objects.filter(project=project).values_list("id", "status", "claimed_by")),
        "annotations": sorted(
            Annotation.objects.filter(image__project=project).values_list("id", "state", "version", "label_class")
        ),
        "events": AnnotationEvent.objects.filter(project=project).count(),
        "jobs": sorted(Job.objects.filter(project=project).values_list("kind", "state")),
        "versions": sorted(ModelVersion.objects.filter(project=project).values_list("number", "in_service")),
        "runs": project.training_runs.count(),
    }


def _request(client, method, url, body, world):
    if body is None:
        return getattr(client, method)(url)
    if isinstance(body, dict):  # pages: a form post
        return getattr(client, method)(url, body)
    data = BODIES[body](world)
    return getattr(client, method)(url, data, format="multipart" if body in MULTIPART else "json")


def _answer(response, ids=()):
    """Status and body, with the ids the request named replaced (they may be quoted back)."""
    if response.status_code in (301, 302):
        return response.status_code, response["Location"].split("?")[0]
    text = b"".join(response.streaming_content) if response.streaming else response.content
    text = text.decode(errors="replace")
    for value in ids:
        text = re.sub(rf"(?<![\w-]){re.escape(str(value))}(?![\w-])", "<id>", text)
    return response.status_code, text


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("name,method,url,body", API + PAGES, ids=[f"{r[1]} {r[2]}" for r in API + PAGES])
def test_other_projects_objects_are_indistinguishable_from_missing_ones(world, client_for, role, name, method, url, body):
    client = _client(world, role, client_for)
    before = _snapshot(world["theirs"])
    theirs = _request(client, method, url.format(**world["B"]), body, world)
    missing = _request(client, method, url.format(**world["missing"]), body, world)
    page = not url.startswith("/api/")
    if role == "anonymous":
        expected = 302 if page else 401  # no token and no session: 401 with WWW-Authenticate: Token
    else:
        expected = 404
    assert theirs.status_code == expected, theirs.content[:300]
    if page and role == "anonymous":
        assert theirs["Location"].startswith("/accounts/login/")
    if not page:
        assert theirs.json()["detail"]  # JSON, with a sentence
    assert _answer(theirs) == _answer(missing)
    assert _snapshot(world["theirs"]) == before


# Inside A, naming B's object: (method, URL over A's ids, body or query with {x}, the kind of x).
CROSS = [
    ("get", "/api/projects/{p}/annotations/?label_class={x}", None, "cls"),
    ("get", "/api/projects/{p}/annotations/?image={x}", None, "i"),
    ("get", "/api/projects/{p}/review/annotations/?label_class={x}", None, "cls"),
    ("get", "/api/projects/{p}/next-image/?skip={x}", None, "i"),
    ("get", "/api/projects/{p}/export/coco/?images={x}", None, "i"),
    ("post", "/api/images/{i}/annotations/", {"label_class": "{x}", **BOX}, "cls"),
    ("post", "/api/images/{i}/annotations/", [{"label_class": "{x}", **BOX}], "cls"),
    ("post", "/api/images/{i}/annotations/batch/", {"create": [{"label_class": "{x}", **BOX}]}, "cls"),
    ("post", "/api/images/{i}/annotations/batch/", {"update": [{"id": "{x}", "version": 1, "state": "rejected"}]}, "a"),
    ("post", "/api/images/{i}/annotations/batch/", {"delete": [{"id": "{x}", "version": 1}]}, "a"),
    ("patch", "/api/annotations/{a}/", {"version": 1, "label_class": "{x}"}, "cls"),
    ("post", "/api/projects/{p}/annotations/bulk/", {"ids": ["{x}"], "versions": [1], "state": "rejected"}, "proposal"),
    ("post", "/api/projects/{p}/annotations/bulk/", {"ids": ["{proposal}"], "versions": [1], "label_class": "{x}"}, "cls"),
    ("post", "/api/projects/{p}/propose/", {"images": ["{x}"]}, "i"),
    ("get", "/api/projects/{p}/members/{x}/", None, "m"),
    ("patch", "/api/projects/{p}/members/{x}/", {"role": "annotator"}, "m"),
    ("delete", "/api/projects/{p}/members/{x}/", None, "m"),
    ("get", "/api/projects/{p}/classes/{x}/", None, "cls"),
    ("patch", "/api/projects/{p}/classes/{x}/", {"color": "#00ff00"}, "cls"),
    ("delete", "/api/projects/{p}/classes/{x}/", None, "cls"),
    ("post", "/api/projects/{p}/model-versions/{x}/promote/", None, "v"),
    ("page-get", "/projects/{p}/images/{x}/annotate/", None, "i"),
    ("page-post", "/projects/{p}/members/", {"remove": "{x}"}, "m"),
    ("page-post", "/projects/{p}/classes/", {"delete": "{x}"}, "cls"),
    ("post", "/api/projects/{p}/classes/merge/", {"source": "{x}", "target": "{x}"}, "cls"),
    ("post", "/api/projects/{p}/images/delete/", {"ids": ["{x}"]}, "i"),
    ("get", "/api/projects/{p}/images/delete/?ids={x}", None, "i"),
    ("get", "/api/projects/{p}/predictions/?model_version={x}", None, "v"),
    ("get", "/api/projects/{p}/predictions/?image={x}", None, "i"),
    ("post", "/api/projects/{p}/predictions/", {"model": {"name": "m"}, "predictions": [
        {"image": "{x}", "label_class": "{cls}", **BOX, "score": 0.5}]}, "i"),
    ("post", "/api/projects/{p}/predictions/", {"model": {"name": "m"}, "predictions": [
        {"image": "{i}", "label_class": "{x}", **BOX, "score": 0.5}]}, "cls"),
]


def _fill(value, ids):
    if isinstance(value, str):
        if re.fullmatch(r"\{\w+\}", value):
            return ids[value[1:-1]]
        return value.format(**ids)
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    return value


@pytest.mark.parametrize("role", ["annotator", "reviewer", "manager"])
@pytest.mark.parametrize("method,url,body,kind", CROSS, ids=[f"{c[0]} {c[1]} {c[3]}" for c in CROSS])
def test_naming_another_projects_object_answers_as_for_a_missing_one(world, client_for, role, method, url, body, kind):
    client = _client(world, role, client_for)
    before = _snapshot(world["theirs"])
    answers = []
    # next-image claims an image for the caller, and a second call answers "you were working on it":
    # each call starts from the same state of our images, so only the named object differs.
    ours = list(Image.objects.filter(project_id=world["A"]["p"]).values("pk", "status", "claimed_by", "claimed_at"))
    for source in ("B", "missing"):
        for row in ours:
            Image.objects.filter(pk=row["pk"]).update(status=row["status"], claimed_by=row["claimed_by"],
                                                      claimed_at=row["claimed_at"])
        x = world[source][kind]
        ids = {**world["A"], "x": x}
        target = _fill(url, ids)
        data = _fill(body, ids)
        if method.startswith("page-"):
            response = getattr(client, method[5:])(target, data) if data is not None else client.get(target)
        elif data is None:
            response = getattr(client, method)(target)
        else:
            response = getattr(client, method)(target, data, format="json")
        assert response.status_code < 500, response.content[:300]
        answers.append(_answer(response, ids=[x]))
    assert answers[0] == answers[1]
    assert _snapshot(world["theirs"]) == before


def test_a_disabled_account_and_a_missing_name_get_the_same_answer(project, manager, client_for):
    UserFactory(username="gone", is_active=False)
    api = client_for(manager)
    url = f"/api/projects/{project.pk}/members/"
    answers = []
    for name in ("gone", "never-was"):
        response = api.post(url, {"username": name, "role": "annotator"}, format="json")
        answers.append(_answer(response, ids=[repr(name)]))
    assert answers[0] == answers[1]
    assert answers[0][0] == 400 and "can be added" in answers[0][1]
    assert not Membership.objects.filter(project=project, user__username="gone").exists()


def test_every_route_that_names_an_object_is_in_the_table():
    """A new endpoint must be added to the table above (and so be checked against other projects)."""
    from labeling.urls import api_urlpatterns, page_urlpatterns
    from mlassist.urls import api_urlpatterns as ml_api
    from mlassist.urls import page_urlpatterns as ml_pages

    named = {p.name for p in [*api_urlpatterns, *page_urlpatterns, *ml_api, *ml_pages] if p.pattern.converters}
    covered = {row[0] for row in API + PAGES}
    assert named - covered == set()
    assert get_resolver()  # the URL configuration loads
