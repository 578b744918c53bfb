"""The one seam between labeling and the learning loop (mlassist).

labeling owns projects, images and labels; mlassist learns from them. labeling must tell the loop
when something it learns from changes, and asks it for similarity. Every such call goes through here,
so a reader finds the loop's trigger points in one place and mlassist can change behind them.
The imports are inside the functions: mlassist imports labeling's models, and TensorFlow must never
be loaded by the web process (mlassist.services import no TensorFlow at module level either).

The other link is a foreign key, Annotation.model_version -> mlassist.ModelVersion: a proposal
records the version that made it (kept as a key so the database holds it, and SET_NULL when an old
version is deleted).
"""

from django.db import transaction


def images_added(*, project_id: int) -> None:
    """New images in a project: the backbone reads each once, in batches (a features job)."""
    from mlassist.services.features import features_request

    features_request(project_id=project_id)


def labels_accepted(*, project_id: int) -> None:
    """After the current transaction commits, people's accepted labels count towards the next
    training run (one is requested every ``retrain_every`` of them)."""
    from mlassist.services.training import training_note_labels

    transaction.on_commit(lambda: training_note_labels(project_id=project_id))


def similar_annotations(**kwargs):
    """The review grid's "similar first" order, from the backbone's features (mlassist.services.similarity).
    Raises ``FeaturesMissing`` (re-exported below) when the anchor image has no features yet."""
    from mlassist.services.similarity import image_similarity

    return image_similarity(**kwargs)


def features_missing_error():
    """The exception ``similar_annotations`` raises when features are not computed yet."""
    from mlassist.services.similarity import FeaturesMissing

    return FeaturesMissing


def decode_reduced(fileobj, size: int):
    """Decode an image reduced towards ``size`` in bounded memory (JPEG draft scaling, PNG strip by
    strip). It is the backbone's reader (mlassist/ml/decode.py, pure Pillow, no TensorFlow); thumbnails
    and the smart tools' pyramid use the same one so all three see identical pixels."""
    from mlassist.ml.decode import decode_reduced as decode

    return decode(fileobj, size)
