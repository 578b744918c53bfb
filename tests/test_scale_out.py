"""Scale-out, tested: two gunicorn instances, three Celery workers, PostgreSQL and S3 (moto's server).

Each part is its own process, as on separate hosts (bench/_stack.py); they share only the database,
the broker and the bucket. Everything goes through the HTTP API, alternating between the two web
instances, and the media root the processes are given does not exist: S3 only, nothing local.

Needs PostgreSQL (DATABASE_URL), as CI runs it: several processes writing one SQLite file is not
the deployment this proves.
"""

import io
import json
import zipfile

import numpy as np
import PIL.Image
import pytest
import requests
from django.conf import settings
from django.contrib.auth.models import Permission
from rest_framework.authtoken.models import Token

from bench._stack import Stack

from .factories import UserFactory
from .waiting import wait

pytestmark = [
    pytest.mark.worker,
    pytest.mark.slow,
    pytest.mark.skipif(
        not settings.DATABASES["default"]["ENGINE"].endswith("postgresql"),
        reason="several web and worker processes on one database: needs PostgreSQL (DATABASE_URL), as in CI",
    ),
]

RED, BLUE = (230, 20, 20), (20, 20, 230)


def picture(colour, seed, size=96):
    """A noisy background with one coloured square; returns the PNG and the square's box."""
    rng = np.random.default_rng(seed)
    pixels = rng.integers(90, 160, (size, size, 3)).astype(np.uint8)
    x, y = (int(v) for v in rng.integers(8, size - 40, 2))
    pixels[y : y + 32, x : x + 32] = colour
    out = io.BytesIO()
    PIL.Image.fromarray(pixels).save(out, "PNG")
    return out.getvalue(), {"x": x, "y": y, "w": 32, "h": 32}


class Api:
    """One web instance, spoken to with a token as a script would."""

    def __init__(self, base, token):
        self.base, self.session = base, requests.Session()
        self.session.headers["Authorization"] = f"Token {token}"

    def __getattr__(self, method):
        return lambda path, **kw: self.session.request(method.upper(), self.base + path, timeout=60, **kw)


@pytest.fixture
def stack(worker_env, tmp_path):
    """moto's S3 server, two gunicorn instances and three workers on the test database."""
    # As annotator/settings_test.py: random weights (nothing can be downloaded) and small inputs.
    ml = {"MLASSIST_BACKBONE_WEIGHTS": "none", "MLASSIST_INPUT_SIZE": "96", "MLASSIST_HEAD_EPOCHS": "15"}
    with Stack(tmp_path / "stack", {**worker_env, **ml}) as parts:
        parts.s3()
        parts.purge_queue()
        parts.web_urls = parts.webs(2)
        parts.workers(3)
        yield parts
        print(parts.logs())  # what each process said: pytest shows it when the test failed


@pytest.fixture
def token(transactional_db):
    user = UserFactory(username="scale-out-manager")
    user.user_permissions.add(Permission.objects.get(codename="add_project", content_type__app_label="labeling"))
    return Token.objects.create(user=user).key


def wait_job(api, job_id, what, timeout=300):
    job = wait(lambda: (j := api.get(f"/api/jobs/{job_id}/").json())["state"] in ("succeeded", "failed") and j,
               timeout, what)
    assert job["state"] == "succeeded", (job["error"], job)
    return job


def signed_download(api, path):
    """GET an API file path: a redirect to a signed URL on the S3 endpoint, then the object's bytes from there."""
    response = api.get(path, allow_redirects=False)
    assert response.status_code == 302, (response.status_code, response.content[:300])
    location = response.headers["Location"]
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=" in location, location
    download = requests.get(location, timeout=60)  # no token: the signature alone opens it
    assert download.status_code == 200, download.content[:300]
    return location, download


def test_two_web_processes_three_workers_and_s3_do_the_whole_loop_with_nothing_stored_locally(stack, token):
    web1, web2 = (Api(base, token) for base in stack.web_urls)

    # Web 1: the project, its classes and the uploads.
    response = web1.post("/api/projects/", json={"name": "Scale-out", "kinds": ["tag", "box"], "retrain_every": 1000})
    assert response.status_code == 201, response.content
    project = response.json()["id"]
    classes = {}
    for name in ("red", "blue"):
        response = web1.post(f"/api/projects/{project}/classes/", json={"name": name})
        assert response.status_code == 201, response.content
        classes[name] = response.json()["id"]
    truth, files = {}, []
    for i in range(12):
        name = "red" if i % 2 == 0 else "blue"
        data, box = picture(RED if name == "red" else BLUE, seed=i)
        truth[f"{i:02d}.png"] = (name, box, data)
        files.append(("files", (f"{i:02d}.png", data, "image/png")))
    response = web1.post(f"/api/projects/{project}/images/", files=files)
    assert response.status_code == 201, response.content
    images = {image["file_name"]: image["id"] for image in response.json()["created"]}
    assert len(images) == 12

    # A worker extracts the features, reading the images back from S3.
    features = wait(lambda: web2.get(f"/api/projects/{project}/jobs/?kind=features").json()["results"], 60,
                    "the features job")
    wait_job(web2, features[0]["id"], "features")

    # Web 2: eight images labelled, then training, which proposes for the four left.
    names = sorted(images)
    for file_name in names[:8]:
        cls, box, _ = truth[file_name]
        response = web2.post(f"/api/images/{images[file_name]}/annotations/", json=[
            {"label_class": classes[cls], "kind": "tag", "geometry": {}},
            {"label_class": classes[cls], "kind": "box", "geometry": box},
        ])
        assert response.status_code == 201, response.content
    response = web2.post(f"/api/projects/{project}/train/")
    assert response.status_code == 202, response.content
    runs = wait(lambda: (r := web1.get(f"/api/projects/{project}/training-runs/").json())
                and all(run["state"] in ("succeeded", "failed") for run in r) and r, 600, "training")
    assert [run["state"] for run in runs] == ["succeeded"] * len(runs), runs
    versions = web1.get(f"/api/projects/{project}/model-versions/").json()
    assert {v["kind"] for v in versions if v["in_service"]} == {"classifier", "detector"}
    proposals = web1.get(f"/api/projects/{project}/annotations/?origin=model&state=proposed").json()["results"]
    unlabelled = {images[n] for n in names[8:]}
    assert {p["image"] for p in proposals if p["kind"] == "tag"} == unlabelled

    # An image through either web instance: a redirect to a signed S3 URL that gives the uploaded bytes.
    for api in (web1, web2):
        location, download = signed_download(api, f"/api/images/{images['03.png']}/file/")
        assert location.startswith(stack.s3_endpoint)
        assert download.content == truth["03.png"][2]
    # Thumbnails are made by a worker and stored on S3 as well.
    wait(lambda: f"/projects/{project}/thumbnails/" in web1.get(f"/api/images/{images['05.png']}/thumbnail/",
                                                               allow_redirects=False).headers.get("Location", ""),
         120, "the thumbnail")

    # Export as a job (zip with the images) on web 1, downloaded through web 2's signed URL.
    response = web1.get(f"/api/projects/{project}/export/coco/?output=zip")
    assert response.status_code == 202, response.content
    job = wait_job(web1, response.json()["id"], "the export")
    _, download = signed_download(web2, f"/api/jobs/{job['id']}/result/")
    assert download.headers["Content-Disposition"] == f'attachment; filename="{job["result"]["file"]}"'
    exported = download.content
    with zipfile.ZipFile(io.BytesIO(exported)) as archive:
        coco = json.loads(archive.read("annotations/instances_default.json"))
        assert archive.read("images/03.png") == truth["03.png"][2]
    assert len(coco["images"]) == 12 and len(coco["annotations"]) == 8

    # Import of that zip into a new project on web 2: the images and labels arrive, stored on S3.
    response = web2.post("/api/projects/", json={"name": "Copy", "kinds": ["tag", "box"]})
    assert response.status_code == 201, response.content
    copy = response.json()["id"]
    response = web2.post(f"/api/projects/{copy}/import/coco/",
                         files={"file": ("export.zip", exported, "application/zip")})
    assert response.status_code == 202, response.content
    wait_job(web2, response.json()["id"], "the import")
    stats = web1.get(f"/api/projects/{copy}/stats/").json()
    assert stats["images"] == 12 and (stats["by_kind"]["tag"], stats["by_kind"]["box"]) == (8, 8), stats
    copied = web1.get(f"/api/projects/{copy}/images/?file_name=03.png").json()["results"]
    _, download = signed_download(web1, f"/api/images/{copied[0]['id']}/file/")
    assert download.content == truth["03.png"][2]

    # Every file is in the bucket, none on a local disk.
    keys = stack.object_keys()
    for pk in (project, copy):
        assert sum(key.startswith(f"projects/{pk}/images/") for key in keys) == 12, keys
    assert any(key.startswith(f"exports/{project}/") for key in keys), keys
    assert not stack.media_root.exists()
