import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_the_web_process_never_imports_tensorflow(tmp_path):
    code = (
        "import sys; from annotator.wsgi import application; import annotator.urls, labeling.apis, mlassist.apis;"
        "from django.test import Client; Client().get('/api/schema/');"
        "print(sorted(m for m in ('tensorflow', 'keras') if m in sys.modules))"
    )
    env = {**os.environ, "ANNOTATOR_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "annotator.settings"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "[]"
