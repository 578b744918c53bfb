"""Projects whose stored features are generated, so a real training run takes a second, not minutes.

Each class is a direction in feature space; an image's pooled vector is its class's direction plus
noise (``noise`` decides how hard the task is). The spatial map has the class's direction in the
cells an object covers, so box and mask heads have something to find too.
"""

import numpy as np

from labeling.models import Annotation, Job
from mlassist.ml.features import ImageFeatures as Features
from mlassist.models import ImageFeatures, TrainingRun
from mlassist.ml.novelty import Proposal
from mlassist.services.features import backbone_config
from mlassist.services.maia import _object_class, proposal_rows
from mlassist.services.training import training_run_execute

from ..factories import ImageFactory

DIM = 32


def feature_images(project, truth: list[int], *, noise=0.3, seed=0, grid=4):
    """One image per entry of ``truth`` (a class index), with its features stored; returns the images."""
    rng = np.random.default_rng(seed)
    key = backbone_config().key()
    images, rows = [], []
    for cls in truth:
        centre = np.zeros(DIM, np.float32)
        centre[cls] = 3.0
        pooled = (centre + rng.normal(0, noise, DIM)).astype(np.float16)
        spatial = rng.normal(0, noise, (grid, grid, DIM)).astype(np.float16)
        spatial[1:3, 1:3, cls] += 3.0  # the object: the middle of the picture
        image = ImageFactory(project=project)
        rows.append(ImageFeatures(image=image, backbone_key=key, blob=Features(
            pooled=pooled, pooled_norm=1.0, spatial=spatial, spatial_scale=1.0, image_width=image.width,
            image_height=image.height, input_size=96, backbone_key=key).to_bytes()))
        images.append(image)
    ImageFeatures.objects.bulk_create(rows)
    return images


def tag(image, label_class, user):
    from labeling.services.annotations import annotation_create

    return annotation_create(image=image, user=user, data={"label_class": label_class.pk, "kind": "tag"})


def train(project) -> TrainingRun:
    """One training run, in this process, to its end (the worker's code path, without a worker)."""
    run = TrainingRun.objects.create(project=project)
    training_run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert run.state == "succeeded", run.error
    return run


def proposed(project, **filters):
    return Annotation.objects.filter(image__project=project, origin="model", state="proposed", **filters)


def maia_project(project, n=12):
    """Stage 1 finished: one training proposal in the middle of each image (where the synthetic
    features hold the object) and one in a corner (background)."""
    project.set_kinds(["box"])
    project.save()
    images = feature_images(project, [0] * n, seed=7)
    label_class = _object_class(project)
    for image in images:
        found = [Proposal(image=0, x=25, y=20, w=50, h=40, mask=np.ones((40, 50), bool), score=0.9),
                 Proposal(image=0, x=0, y=0, w=10, h=10, mask=np.ones((10, 10), bool), score=0.4)]
        Annotation.objects.bulk_create(proposal_rows(image=image, proposals=found, label_class=label_class,
                                                     kind="box", kinds=project.kinds))
    Job.objects.create(project=project, kind="maia_novelty", state="succeeded", progress=1.0)
    return images
