"""labeling reaches mlassist through one module, so the loop's trigger points are found in one place."""

import ast
from pathlib import Path

import labeling

ROOT = Path(labeling.__file__).parent


def _imports_mlassist(path: Path) -> bool:
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and (node.module or "").split(".")[0] == "mlassist":
            return True
        if isinstance(node, ast.Import) and any(a.name.split(".")[0] == "mlassist" for a in node.names):
            return True
    return False


def test_only_the_seam_imports_mlassist():
    importers = sorted(str(p.relative_to(ROOT)) for p in ROOT.rglob("*.py")
                       if "migrations" not in p.parts and _imports_mlassist(p))
    assert importers == ["learning_loop.py"]
