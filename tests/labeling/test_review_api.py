"""The review grid's API: bulk accept/reject/relabel, annotations by score, and similarity."""

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from labeling.geometry import OUTLINE_MAX_VERTICES
from labeling.models import Annotation, AnnotationEvent
from mlassist.ml.features import ImageFeatures as Features
from mlassist.models import ImageFeatures
from mlassist.services.features import backbone_config

from ..factories import AnnotationFactory, ImageFactory, LabelClassFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def bulk_url(project):
    return f"/api/projects/{project.pk}/annotations/bulk/"


def with_versions(body):
    """The body the grid sends: each id with the version it shows (the current one, unless given)."""
    if "versions" in body or not isinstance(body.get("ids"), list):
        return body
    found = dict(Annotation.objects.filter(pk__in=body["ids"]).values_list("id", "version"))
    return {**body, "versions": [found.get(pk, 1) for pk in body["ids"]]}


def bulk(client, project, body):
    return client.post(bulk_url(project), with_versions(body), format="json")


def proposal(image, cls, score=0.5, kind="box", **kwargs):
    geometry = {} if kind == "tag" else {"x": 10, "y": 10, "w": 20, "h": 15}
    return AnnotationFactory(
        image=image, label_class=cls, kind=kind, geometry=geometry, origin="model", state="proposed", score=score,
        **kwargs,
    )


def human(image, cls, kind="box"):
    return AnnotationFactory(image=image, label_class=cls, kind=kind, origin="human", state="accepted")


@pytest.fixture
def proposals(project, classes):
    images = [ImageFactory(project=project) for _ in range(3)]
    return [proposal(images[i % 3], classes[0], score=s) for i, s in enumerate([0.9, 0.4, 0.7, 0.55])]


def states(annotations):
    return [Annotation.objects.get(pk=a.pk).state for a in annotations]


# ---- bulk ----


def test_annotator_accepts_and_rejects_proposals_with_versions_and_events(client_for, annotator, project, proposals):
    api = client_for(annotator)
    response = bulk(api, project, {"ids": [proposals[2].pk, proposals[0].pk], "state": "accepted"})
    assert response.status_code == 200, response.content
    body = response.json()
    assert [a["id"] for a in body] == [proposals[2].pk, proposals[0].pk]  # in the order asked
    assert all(a["state"] == "accepted" and a["version"] == 2 for a in body)
    response = bulk(api, project, {"ids": [proposals[1].pk], "state": "rejected"})
    assert response.status_code == 200
    assert states(proposals) == ["accepted", "rejected", "accepted", "proposed"]
    events = AnnotationEvent.objects.filter(annotation_id=proposals[0].pk)
    assert [(e.action, e.before["state"], e.after["state"], e.after["version"], e.actor_id) for e in events] == [
        ("state", "proposed", "accepted", 2, annotator.pk)
    ]
    assert AnnotationEvent.objects.count() == 3


def test_relabelling_a_proposal_accepts_it(client_for, annotator, project, classes, proposals):
    response = bulk(client_for(annotator), project, {"ids": [proposals[0].pk, proposals[1].pk], "label_class": classes[1].pk})
    assert response.status_code == 200, response.content
    for a in Annotation.objects.filter(pk__in=[proposals[0].pk, proposals[1].pk]):
        assert (a.label_class_id, a.state, a.version) == (classes[1].pk, "accepted", 2)
    event = AnnotationEvent.objects.get(annotation_id=proposals[0].pk)
    assert event.action == "update"
    assert (event.before["label_class"], event.after["label_class"]) == (classes[0].pk, classes[1].pk)


def test_relabel_and_reject_together(client_for, reviewer, project, classes, proposals):
    response = bulk(client_for(reviewer), project, {"ids": [proposals[0].pk], "label_class": classes[2].pk, "state": "rejected"})
    assert response.status_code == 200
    a = Annotation.objects.get(pk=proposals[0].pk)
    assert (a.label_class_id, a.state) == (classes[2].pk, "rejected")


def test_rows_already_as_asked_are_left_alone(client_for, annotator, reviewer, project, proposals):
    bulk(client_for(annotator), project, {"ids": [proposals[0].pk], "state": "rejected"})
    # Judged rows are a reviewer's to change again.
    response = bulk(client_for(reviewer), project, {"ids": [proposals[0].pk, proposals[1].pk], "state": "rejected"})
    assert response.status_code == 200
    assert [a["version"] for a in response.json()] == [2, 2]
    assert AnnotationEvent.objects.filter(annotation_id=proposals[0].pk).count() == 1
    assert AnnotationEvent.objects.count() == 2


def test_annotator_may_not_reject_a_human_label_and_nothing_changes(client_for, annotator, project, classes, proposals):
    label = human(proposals[0].image, classes[0])
    response = bulk(client_for(annotator), project, {"ids": [proposals[0].pk, label.pk], "state": "rejected"})
    assert response.status_code == 403
    assert "reviewers" in response.json()["detail"]
    assert states([proposals[0], label]) == ["proposed", "accepted"]
    assert not AnnotationEvent.objects.exists()


def test_annotator_may_not_relabel_a_human_label(client_for, annotator, project, classes, proposals):
    label = human(proposals[0].image, classes[0])
    response = bulk(client_for(annotator), project, {"ids": [label.pk], "label_class": classes[1].pk})
    assert response.status_code == 403
    assert Annotation.objects.get(pk=label.pk).label_class_id == classes[0].pk


def test_reviewer_rejects_and_relabels_human_labels(client_for, reviewer, project, classes, proposals):
    labels = [human(proposals[0].image, classes[0]), human(proposals[1].image, classes[0])]
    api = client_for(reviewer)
    assert bulk(api, project, {"ids": [labels[0].pk], "state": "rejected"}).status_code == 200
    assert bulk(api, project, {"ids": [labels[1].pk], "label_class": classes[2].pk}).status_code == 200
    assert states(labels) == ["rejected", "accepted"]
    assert Annotation.objects.get(pk=labels[1].pk).label_class_id == classes[2].pk


def test_a_foreign_id_is_named_by_its_index_and_nothing_changes(client_for, manager, project, proposals):
    other = AnnotationFactory(image=ImageFactory(project=ProjectFactory()))
    ids = [proposals[0].pk, other.pk, proposals[1].pk]
    response = bulk(client_for(manager), project, {"ids": ids, "state": "accepted"})
    assert response.status_code == 400
    body = response.json()
    assert body["errors"][0]["field"] == "ids[1]"
    assert body["detail"].startswith("ids[1]: ")
    assert states(proposals[:2]) == ["proposed", "proposed"]
    missing = bulk(client_for(manager), project, {"ids": [proposals[0].pk, 10**9], "state": "accepted"})
    assert missing.json()["errors"][0]["field"] == "ids[1]"


def test_input_errors(client_for, manager, project, proposals):
    api = client_for(manager)
    pk = proposals[0].pk
    cases = [
        ({"ids": [pk]}, "state"),
        ({"ids": [], "state": "accepted"}, "ids"),
        ({"ids": [pk], "state": "proposed"}, "state"),
        ({"ids": [pk, pk], "state": "accepted"}, "ids[1]"),
        ({"ids": [pk], "label_class": LabelClassFactory(project=ProjectFactory()).pk}, "label_class"),
    ]
    for body, field in cases:
        response = bulk(api, project, body)
        assert response.status_code == 400, body
        assert response.json()["errors"][0]["field"] == field, response.json()
    assert states(proposals[:1]) == ["proposed"]


def test_all_or_nothing_when_a_tag_would_be_accepted_twice(client_for, manager, project, classes):
    image = ImageFactory(project=project)
    tags = [proposal(image, classes[0], kind="tag", score=0.9), proposal(image, classes[0], kind="tag", score=0.8)]
    response = bulk(client_for(manager), project, {"ids": [t.pk for t in tags], "state": "accepted"})
    assert response.status_code == 400
    assert "already tagged" in response.json()["detail"]
    assert states(tags) == ["proposed", "proposed"]
    assert not AnnotationEvent.objects.exists()


def test_outsiders_get_404(client_for, outsider, project, proposals):
    response = bulk(client_for(outsider), project, {"ids": [proposals[0].pk], "state": "accepted"})
    assert response.status_code == 404
    assert states(proposals[:1]) == ["proposed"]


def test_queries_do_not_grow_with_the_selection(client_for, annotator, project, classes):
    images = [ImageFactory(project=project) for _ in range(5)]
    rows = [proposal(images[i % 5], classes[i % 2], score=(i % 10) / 10, created_by=annotator) for i in range(100)]
    api = client_for(annotator)

    def count(ids, body):
        with CaptureQueriesContext(connection) as ctx:
            response = bulk(api, project, {"ids": ids, **body})
        assert response.status_code == 200, response.content
        return len(ctx.captured_queries)  # 8 here, whatever the number of rows

    accept = {"state": "accepted"}
    assert count([r.pk for r in rows[:5]], accept) == count([r.pk for r in rows[5:55]], accept)
    assert count([r.pk for r in rows[55:60]], {"label_class": classes[2].pk}) == count(
        [r.pk for r in rows[60:]], {"label_class": classes[2].pk}
    )
    assert AnnotationEvent.objects.count() == 100


def test_bulk_needs_the_versions(client_for, annotator, project, proposals):
    api = client_for(annotator)
    response = api.post(bulk_url(project), {"ids": [proposals[0].pk], "state": "accepted"}, format="json")
    assert response.status_code == 428 and "versions" in response.json()["detail"]
    uneven = bulk(api, project, {"ids": [proposals[0].pk, proposals[1].pk], "versions": [1], "state": "accepted"})
    assert uneven.status_code == 400 and uneven.json()["errors"][0]["field"] == "versions"
    assert states(proposals[:2]) == ["proposed", "proposed"]


def test_a_stale_version_is_a_409_with_the_current_rows_and_nothing_applied(
    client_for, annotator, reviewer, project, classes, proposals
):
    # The annotator loaded the grid (every proposal at version 1); meanwhile a reviewer relabels one.
    shown = {"ids": [proposals[0].pk, proposals[1].pk], "versions": [1, 1]}
    assert bulk(client_for(reviewer), project, {"ids": [proposals[1].pk], "label_class": classes[2].pk}).status_code == 200
    response = bulk(client_for(annotator), project, {**shown, "state": "rejected"})
    assert response.status_code == 409, response.content
    body = response.json()
    assert "changed since you loaded them" in body["detail"]
    assert [(a["id"], a["version"], a["label_class"], a["state"]) for a in body["current"]] == [
        (proposals[1].pk, 2, classes[2].pk, "accepted")
    ]
    assert states(proposals[:2]) == ["proposed", "accepted"]  # the first one was not rejected either
    assert AnnotationEvent.objects.count() == 1  # the reviewer's relabel only


# ---- the grid's list ----


def test_review_list_is_by_score_with_a_cursor_and_a_count(client_for, annotator, project, classes, proposals):
    proposal(proposals[0].image, classes[1], score=0.99)  # another class
    human(proposals[0].image, classes[0])  # not a proposal
    api = client_for(annotator)
    url = f"/api/projects/{project.pk}/review/annotations/?label_class={classes[0].pk}&page_size=3"
    first = api.get(url).json()
    assert first["count"] == 4
    assert [a["score"] for a in first["results"]] == [0.9, 0.7, 0.55]
    assert first["results"][0]["bbox"] == [10, 10, 20, 15] and first["results"][0]["image_width"] == 100
    second = api.get(first["next"]).json()
    assert [a["score"] for a in second["results"]] == [0.4] and second["next"] is None
    people = api.get(
        f"/api/projects/{project.pk}/review/annotations/?label_class={classes[0].pk}&state=accepted&origin=human"
    )
    assert [a["origin"] for a in people.json()["results"]] == ["human"]


def test_review_list_pages_stay_put_when_tiles_leave(client_for, annotator, project, classes, proposals):
    api = client_for(annotator)
    url = f"/api/projects/{project.pk}/review/annotations/?label_class={classes[0].pk}&page_size=2"
    first = api.get(url).json()
    bulk(api, project, {"ids": [a["id"] for a in first["results"]], "state": "accepted"})
    assert [a["score"] for a in api.get(first["next"]).json()["results"]] == [0.55, 0.4]
    assert [a["score"] for a in api.get(url).json()["results"]] == [0.55, 0.4]


def test_review_list_outlines_polygons_and_masks(client_for, annotator, project, classes):
    from pycocotools import mask as mask_api

    image = ImageFactory(project=project)
    mask = np.zeros((80, 100), np.uint8, order="F")
    mask[10:30, 20:50] = 1
    rle = mask_api.encode(mask)
    triangle = {"points": [[5, 5], [25, 5], [15, 20]]}
    AnnotationFactory(image=image, label_class=classes[0], kind="polygon", geometry=triangle,
                      origin="model", state="proposed", score=0.8)
    AnnotationFactory(image=image, label_class=classes[0], kind="mask", origin="model", state="proposed", score=0.7,
                      geometry={"rle": {"size": [80, 100], "counts": rle["counts"].decode()}})
    url = f"/api/projects/{project.pk}/review/annotations/?label_class={classes[0].pk}"
    tiles = client_for(annotator).get(url).json()
    polygon, masked = tiles["results"]
    assert polygon["bbox"] == [5, 5, 20, 15] and polygon["outline"] == [[5, 5, 25, 5, 15, 20]]
    assert masked["bbox"] == [20, 10, 30, 20] and len(masked["outline"]) == 1


# ---- similarity ----


def store_features(image, vector):
    vector = np.asarray(vector, dtype=np.float32)
    features = Features(
        pooled=(vector / np.linalg.norm(vector)).astype(np.float16), pooled_norm=1.0,
        spatial=np.zeros((2, 2, 4), np.float16), spatial_scale=1.0,
        image_width=image.width, image_height=image.height, input_size=96,
    )
    ImageFeatures.objects.create(image=image, backbone_key=backbone_config().key(), blob=features.to_bytes())


def test_similar_orders_by_the_images_features(client_for, annotator, project, classes):
    images = [ImageFactory(project=project) for _ in range(5)]
    for image, vector in zip(images, [[1, 0, 0], [0.9, 0.1, 0], [0, 1, 0], [0.5, 0.5, 0], [-1, 0, 0]], strict=True):
        store_features(image, vector)
    rows = [proposal(image, classes[0], score=0.5 + i / 20) for i, image in enumerate(images)]
    same_image = proposal(images[0], classes[1], score=0.6)
    proposal(images[1], classes[0], kind="tag", score=0.9)  # another kind: left out
    no_features = proposal(ImageFactory(project=project), classes[0], score=0.99)
    AnnotationFactory(image=images[3], label_class=classes[0], origin="human", state="accepted")  # not proposed
    response = client_for(annotator).get(f"/api/annotations/{rows[0].pk}/similar/?limit=200")
    assert response.status_code == 200, response.content
    results = response.json()["results"]
    ids = [a["id"] for a in results]
    # Image 0 itself (both of its annotations, higher score first), then by cosine, featureless last.
    assert ids == [same_image.pk, rows[0].pk, rows[1].pk, rows[3].pk, rows[2].pk, rows[4].pk, no_features.pk]
    assert results[1]["similarity"] == pytest.approx(1.0, abs=1e-3)
    assert results[-2]["similarity"] == pytest.approx(-1.0, abs=1e-3)
    assert results[-1]["similarity"] is None
    url = f"/api/annotations/{rows[0].pk}/similar/?label_class={classes[0].pk}&limit=2"
    one_class = client_for(annotator).get(url).json()
    assert [a["id"] for a in one_class["results"]] == [rows[0].pk, rows[1].pk]


def test_similar_without_features_is_a_clear_400(client_for, annotator, outsider, project, classes):
    row = proposal(ImageFactory(project=project), classes[0])
    response = client_for(annotator).get(f"/api/annotations/{row.pk}/similar/")
    assert response.status_code == 400
    assert "no stored features" in response.json()["detail"]
    assert client_for(outsider).get(f"/api/annotations/{row.pk}/similar/").status_code == 404


def test_cosine_to_is_plain_numpy():
    from mlassist.services.similarity import cosine_to

    scores = cosine_to(np.array([1.0, 0.0]), np.array([[2.0, 0.0], [0.0, 3.0], [-1.0, -1.0]]))
    assert scores == pytest.approx([1.0, 0.0, -np.sqrt(0.5)])


def test_a_page_of_large_masks_draws_stored_outlines_without_decoding(client_for, annotator, manager, project, classes):
    from pycocotools import mask as mask_api

    image = ImageFactory(project=project, width=4000, height=3000)
    mask = np.zeros((3000, 4000), np.uint8, order="F")
    mask[100:2900, 200:3800] = 1  # 10 million pixels in a few runs: a 900-byte request
    counts = mask_api.encode(mask)["counts"].decode()
    for score in (0.9, 0.8, 0.7, 0.6, 0.5):
        item = {"label_class": classes[0].pk, "kind": "mask", "origin": "model", "score": score,
                "geometry": {"rle": {"size": [3000, 4000], "counts": counts}}}
        assert client_for(manager).post(f"/api/images/{image.pk}/annotations/", item, format="json").status_code == 201
    stored = Annotation.objects.filter(kind="mask")
    assert all(a.outline["bbox"] == [200, 100, 3600, 2800] for a in stored)
    # Structural proof that a page view decodes nothing: the stored RLE is now unreadable, and
    # the page still draws every tile from the outline stored at save time.
    stored.update(geometry={"rle": {"size": [3000, 4000], "counts": "not an RLE"}})
    url = f"/api/projects/{project.pk}/review/annotations/?label_class={classes[0].pk}"
    tiles = client_for(annotator).get(url).json()["results"]
    assert len(tiles) == 5
    for tile in tiles:
        assert tile["bbox"] == [200, 100, 3600, 2800]
        (ring,) = tile["outline"]
        assert 4 <= len(ring) // 2 <= OUTLINE_MAX_VERTICES
        assert min(ring[0::2]) == pytest.approx(200, abs=10) and max(ring[0::2]) == pytest.approx(3800, abs=10)


def test_masks_saved_before_outlines_get_one_once(client_for, annotator, project, classes):
    from pycocotools import mask as mask_api

    image = ImageFactory(project=project)
    mask = np.zeros((80, 100), np.uint8, order="F")
    mask[10:30, 20:50] = 1
    old = AnnotationFactory(image=image, label_class=classes[0], kind="mask", origin="model", state="proposed",
                            score=0.7, geometry={"rle": {"size": [80, 100], "counts": mask_api.encode(mask)["counts"].decode()}})
    assert old.outline is None
    url = f"/api/projects/{project.pk}/review/annotations/?label_class={classes[0].pk}"
    first = client_for(annotator).get(url).json()["results"][0]
    old.refresh_from_db()
    assert old.outline["bbox"] == first["bbox"] == [20, 10, 30, 20]
    with CaptureQueriesContext(connection) as ctx:
        again = client_for(annotator).get(url).json()["results"][0]
    assert again["outline"] == first["outline"]
    assert not any(q["sql"].lstrip().upper().startswith("UPDATE") for q in ctx.captured_queries)
