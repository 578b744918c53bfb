"""Install a backbone weights file for sites without network access."""

import shutil
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = (
        "Copy a Keras weights file for the configured backbone (include_top=False) into MLASSIST_WEIGHTS_DIR "
        "and print the setting that uses it."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="e.g. mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5")
        parser.add_argument("--check", action="store_true", help="Load the backbone with it (needs TensorFlow).")

    def handle(self, *args, file, check, **options):
        source = Path(file)
        if not source.is_file():
            raise CommandError(f"{file}: no such file.")
        if source.suffix not in (".h5", ".keras", ".weights.h5"):
            raise CommandError(f"{file}: expected a Keras weights file (.h5 or .keras).")
        target_dir = Path(settings.MLASSIST_WEIGHTS_DIR)
        target_dir.mkdir(parents=True, exist_ok=True)
        target = target_dir / source.name
        shutil.copyfile(source, target)
        if check:
            from mlassist.ml.backbone import build_backbone
            from mlassist.services.features import backbone_config

            cfg = backbone_config()
            try:
                build_backbone(cfg.__class__(**{**cfg.__dict__, "weights": str(target)}))
            except Exception as exc:
                target.unlink()
                raise CommandError(f"{file} does not fit {cfg.name} at {cfg.input_size} px: {exc}") from None
        self.stdout.write(f"Installed {target}.\nSet MLASSIST_BACKBONE_WEIGHTS={source.name} (or the full path) and restart.")
