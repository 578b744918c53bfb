"""The jobs API: failures are listed with their reason, the list stays small, and failed jobs can be retried."""

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from labeling.models import Job
from labeling.services.jobs import jobs_sweep
from labeling.services.leases import crash_reason


def failed(project, kind="coco_export", **fields):
    return Job.objects.create(project=project, kind=kind, state="failed", attempts=3, error=crash_reason(3),
                              finished_at=timezone.now(), **fields)


def test_failed_jobs_are_listed_with_their_reason_and_without_results(project, manager, client_for):
    job = failed(project, result={"big": ["x"] * 1000})
    Job.objects.create(project=project, kind="features", state="succeeded")
    api = client_for(manager)
    since = (timezone.now() - timedelta(days=1)).isoformat()
    body = api.get(f"/api/projects/{project.pk}/jobs/", {"state": "failed", "finished_at__gte": since}).json()
    assert [(j["id"], j["error"], j["attempts"], j["can_retry"]) for j in body["results"]] == [
        (str(job.pk), crash_reason(3), 3, True)
    ]
    assert "result" not in body["results"][0]  # the page polls the list: no large results in it
    assert api.get(f"/api/jobs/{job.pk}/").json()["result"] == {"big": ["x"] * 1000}


def test_the_list_costs_the_same_number_of_queries_for_many_failures(project, manager, client_for):
    api = client_for(manager)
    url = f"/api/projects/{project.pk}/jobs/?state=failed"
    failed(project)
    with CaptureQueriesContext(connection) as one:
        assert api.get(url).status_code == 200
    for _ in range(15):
        failed(project)
    with CaptureQueriesContext(connection) as many:
        assert len(api.get(url).json()["results"]) == 16
    assert len(many) == len(one)


def test_a_manager_retries_a_failed_export_with_all_its_attempts(project, manager, client_for):
    job = failed(project)
    response = client_for(manager).post(f"/api/jobs/{job.pk}/retry/")
    assert response.status_code == 202, response.content
    assert response.json()["state"] == "queued"
    job.refresh_from_db()
    assert (job.state, job.attempts, job.error, job.finished_at) == ("queued", 0, "", None)
    # Its task was just sent: the sweeper does not send it a second time.
    Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(days=1))
    assert jobs_sweep()["sent"] == 0


@pytest.mark.parametrize("kind", ["coco_export", "coco_import", "import_urls"])
def test_only_managers_retry_exports_and_imports(project, annotator, reviewer, client_for, kind):
    job = failed(project, kind=kind)
    for user in (annotator, reviewer):
        response = client_for(user).post(f"/api/jobs/{job.pk}/retry/")
        assert response.status_code == 403
        assert "may not retry" in response.json()["detail"]
    assert client_for(reviewer).get(f"/api/jobs/{job.pk}/").json()["can_retry"] is False
    assert Job.objects.get(pk=job.pk).state == "failed"


def test_reviewers_retry_the_models_jobs_and_outsiders_see_nothing(project, reviewer, outsider, client_for):
    job = failed(project, kind="features")
    assert client_for(outsider).post(f"/api/jobs/{job.pk}/retry/").status_code == 404
    assert client_for(reviewer).post(f"/api/jobs/{job.pk}/retry/").status_code == 202


def test_retry_is_a_post_only(project, manager, client_for):
    job = failed(project)
    assert client_for(manager).get(f"/api/jobs/{job.pk}/retry/").status_code == 405
    assert Job.objects.get(pk=job.pk).state == "failed"


def test_a_job_that_did_not_fail_cannot_be_retried(project, manager, client_for):
    job = Job.objects.create(project=project, kind="coco_export", state="running")
    response = client_for(manager).post(f"/api/jobs/{job.pk}/retry/")
    assert response.status_code == 400
    assert response.json()["errors"] == [{"field": "state", "detail": "Only a failed job can be retried; this one is running."}]


def test_an_import_is_retried_only_while_its_upload_is_kept(project, manager, client_for):
    name = default_storage.save(f"imports/{project.pk}/coco.json", ContentFile(b"{}"))
    job = failed(project, kind="coco_import", params={"coco": name})
    api = client_for(manager)
    assert api.get(f"/api/jobs/{job.pk}/").json()["can_retry"] is True
    default_storage.delete(name)
    assert api.get(f"/api/jobs/{job.pk}/").json()["can_retry"] is False
    response = api.post(f"/api/jobs/{job.pk}/retry/")
    assert response.status_code == 400
    assert "upload them again" in response.json()["detail"]


def test_prune_files_keeps_the_newest_exports_and_removes_old_partial_files(project, settings, tmp_path):
    import os
    import time

    settings.KEEP_EXPORTS = 2
    settings.VAR_DIR = tmp_path
    names = []
    for i in range(4):
        name = default_storage.save(f"exports/{project.pk}/e{i}.json", ContentFile(b"{}"))
        job = Job.objects.create(project=project, kind="coco_export", state="succeeded", result_file=name)
        Job.objects.filter(pk=job.pk).update(created_at=timezone.now() - timedelta(hours=10 - i))
        names.append(name)
    (tmp_path / "tmp").mkdir()
    old_part, live_part = tmp_path / "tmp" / "old.part", tmp_path / "tmp" / "live.part"
    old_part.write_bytes(b"half"), live_part.write_bytes(b"half")
    os.utime(old_part, (time.time() - 3600, time.time() - 3600))

    call_command("prune_files", stdout=open(os.devnull, "w"))

    assert [default_storage.exists(n) for n in names] == [False, False, True, True]
    removed = Job.objects.filter(result_file="", kind="coco_export")
    assert removed.count() == 2 and "only the newest 2 exports" in removed.first().detail
    assert not old_part.exists() and live_part.exists()


def test_prune_files_removes_unserved_old_model_files_and_failed_imports_uploads(project, settings, manager, client_for):
    from mlassist.models import ModelVersion
    from mlassist.services.pruning import files_prune

    settings.KEEP_MODEL_VERSIONS = 2
    versions = []
    for n in range(1, 5):
        version = ModelVersion(project=project, kind="classifier", number=n, in_service=n == 1)
        version.artifact.save(f"{project.pk}/classifier-v{n}.keras", ContentFile(b"k"), save=False)
        version.save()
        versions.append(version)
    upload = default_storage.save(f"imports/{project.pk}/coco.json", ContentFile(b"{}"))
    job = failed(project, kind="coco_import", params={"coco": upload})
    Job.objects.filter(pk=job.pk).update(finished_at=timezone.now() - timedelta(days=2))

    files_prune()

    kept = {v.number: bool(v.artifact) for v in ModelVersion.objects.filter(project=project)}
    assert kept == {1: True, 2: False, 3: True, 4: True}  # v1 serves; v3, v4 are the newest two others
    assert not default_storage.exists(versions[1].artifact.name)
    assert not default_storage.exists(upload)
    # A version without its file cannot be put back in service (it could not propose).
    response = client_for(manager).post(f"/api/projects/{project.pk}/model-versions/{versions[1].pk}/promote/")
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "version" and "retention policy" in response.json()["detail"]
    assert ModelVersion.objects.get(pk=versions[0].pk).in_service
