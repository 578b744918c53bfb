"""An index for a project's counts at a million annotations (issue 15: project pages <= 300 ms).

The project page's statistics and the review page count annotations by class, state and kind.
With (label_class, state, kind) indexed PostgreSQL counts them from the index alone (an
index-only scan), without reading the rows and their geometry, and without joining the images.
It replaces the (label_class, state) index, which it covers.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("labeling", "0006_annotation_coco_fields"),
    ]

    operations = [
        migrations.RemoveIndex(model_name="annotation", name="annotation_class_state"),
        migrations.AddIndex(
            model_name="annotation",
            index=models.Index(fields=["label_class", "state", "kind"], name="annotation_class_state_kind"),
        ),
    ]
