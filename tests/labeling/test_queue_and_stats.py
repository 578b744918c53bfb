import pytest

from labeling.models import Image

from ..factories import AnnotationFactory, ImageFactory

pytestmark = pytest.mark.django_db


def test_next_image_gives_each_annotator_a_different_image(project, annotator, reviewer, client_for):
    images = [ImageFactory(project=project) for _ in range(3)]
    a, b = client_for(annotator), client_for(reviewer)
    first = a.get(f"/api/projects/{project.pk}/next-image/").json()
    second = b.get(f"/api/projects/{project.pk}/next-image/").json()
    assert first["id"] == images[0].pk and second["id"] == images[1].pk
    # Asking again gives the same unfinished claim back; skipping passes over it.
    assert a.get(f"/api/projects/{project.pk}/next-image/").json()["id"] == images[0].pk
    skipped = a.get(f"/api/projects/{project.pk}/next-image/?skip={images[0].pk}").json()
    assert skipped["id"] == images[2].pk
    assert Image.objects.get(pk=images[0].pk).status == "in_progress"


def test_done_images_leave_the_queue(project, annotator, client_for):
    image = ImageFactory(project=project)
    api = client_for(annotator)
    assert api.patch(f"/api/images/{image.pk}/", {"status": "done"}, format="json").json()["status"] == "done"
    assert api.get(f"/api/projects/{project.pk}/next-image/").status_code == 204


def test_stats_count_by_status_class_and_state(project, classes, annotator, client_for):
    done = ImageFactory(project=project, status="done")
    ImageFactory(project=project)
    AnnotationFactory(image=done, label_class=classes[0])
    AnnotationFactory(image=done, label_class=classes[0], kind="polygon", geometry={"points": [[0, 0], [5, 0], [0, 5]]})
    AnnotationFactory(image=done, label_class=classes[1], origin="model", state="proposed", score=0.5)
    stats = client_for(annotator).get(f"/api/projects/{project.pk}/stats/").json()
    assert stats["images"] == 2
    assert stats["by_status"] == {"new": 1, "in_progress": 0, "done": 1, "reviewed": 0}
    assert stats["by_state"] == {"proposed": 1, "accepted": 2, "rejected": 0}
    assert stats["by_kind"]["box"] == 1 and stats["by_kind"]["polygon"] == 1
    by_class = {c["name"]: (c["accepted"], c["proposed"]) for c in stats["by_class"]}
    assert by_class == {"cat": (2, 0), "dog": (0, 1), "bird": (0, 0)}
    assert stats["progress"] == 0.5


def test_image_filters(project, classes, annotator, client_for):
    labelled = ImageFactory(project=project, file_name="labelled.png")
    ImageFactory(project=project, file_name="empty.png", status="done")
    AnnotationFactory(image=labelled, label_class=classes[0])
    api = client_for(annotator)
    names = lambda q: [i["file_name"] for i in api.get(f"/api/projects/{project.pk}/images/?{q}").json()["results"]]  # noqa: E731
    assert names("has_labels=true") == ["labelled.png"]
    assert names("status=done") == ["empty.png"]
    assert names("file_name=label") == ["labelled.png"]


def test_job_list_shows_active_jobs_with_progress(project, annotator, outsider, client_for):
    from labeling.models import Job

    Job.objects.create(project=project, kind="features", state="running", progress=0.4, detail="4/10 images")
    Job.objects.create(project=project, kind="coco_export", state="succeeded", progress=1)
    active = client_for(annotator).get(f"/api/projects/{project.pk}/jobs/?state__in=queued,running").json()["results"]
    assert [(j["kind"], j["progress"], j["detail"]) for j in active] == [("features", 0.4, "4/10 images")]
    assert client_for(outsider).get(f"/api/projects/{project.pk}/jobs/").status_code == 404


def test_an_upload_queues_one_features_job(project, manager, client_for):
    from labeling.models import Job

    from ..factories import upload

    api = client_for(manager)
    api.post(f"/api/projects/{project.pk}/images/", {"files": [upload("a.png", color=(1, 2, 3))]})
    api.post(f"/api/projects/{project.pk}/images/", {"files": [upload("b.png", color=(4, 5, 6))]})
    assert Job.objects.filter(project=project, kind="features", state="queued").count() == 1


def test_nobody_can_claim_the_whole_queue_by_skipping(project, annotator, reviewer, client_for):
    images = [ImageFactory(project=project) for _ in range(5)]
    greedy, other = client_for(annotator), client_for(reviewer)
    url = f"/api/projects/{project.pk}/next-image/"
    skipped = []
    while True:
        response = greedy.get(url + (f"?skip={','.join(map(str, skipped))}" if skipped else ""))
        if response.status_code == 204:
            break
        skipped.append(response.json()["id"])
        # Whatever they skipped through, they hold one image at most.
        assert Image.objects.filter(project=project, claimed_by=annotator).count() == 1
    assert sorted(skipped) == [i.pk for i in images]
    assert not Image.objects.filter(claimed_by=annotator).exists()  # skipping the last one let it go too
    # Everything the greedy one passed over is free for the next annotator, first image first.
    assert other.get(url).json()["id"] == images[0].pk


def test_asking_again_keeps_the_same_claim(project, annotator, client_for):
    first, _ = ImageFactory(project=project), ImageFactory(project=project)
    api = client_for(annotator)
    url = f"/api/projects/{project.pk}/next-image/"
    assert [api.get(url).json()["id"] for _ in range(3)] == [first.pk] * 3
    assert list(Image.objects.filter(claimed_by=annotator).values_list("id", flat=True)) == [first.pk]


def test_skip_keeps_its_last_hundred_ids_and_ignores_other_projects(project, annotator, client_for):
    from labeling.services.images import MAX_SKIP

    first, second = ImageFactory(project=project), ImageFactory(project=project)
    elsewhere = ImageFactory()  # another project's image
    api = client_for(annotator)
    url = f"/api/projects/{project.pk}/next-image/"
    filler = list(range(10**6, 10**6 + MAX_SKIP))
    # `first` is named before the last MAX_SKIP ids: it no longer counts as skipped.
    too_long = api.get(url + "?skip=" + ",".join(map(str, [first.pk, *filler])))
    assert too_long.status_code == 200 and too_long.json()["id"] == first.pk
    within = api.get(url + "?skip=" + ",".join(map(str, [*filler[1:], first.pk])))
    assert within.json()["id"] == second.pk
    # Ids of other projects change nothing: the same answer as without them.
    assert api.get(url + f"?skip={elsewhere.pk}").json()["id"] == api.get(url).json()["id"] == second.pk
    assert Image.objects.get(pk=elsewhere.pk).claimed_by is None


def test_status_of_an_image_deleted_meanwhile_is_a_404(project, manager, client_for):
    from labeling.services.images import image_delete, image_status_set

    image = ImageFactory(project=project)
    stale = Image.objects.get(pk=image.pk)  # loaded by a request that is still running
    image_delete(image=image)
    with pytest.raises(Image.DoesNotExist, match="deleted by someone else"):
        image_status_set(image=stale, status="done")
    with pytest.raises(Image.DoesNotExist, match="deleted by someone else"):
        image_delete(image=stale)
