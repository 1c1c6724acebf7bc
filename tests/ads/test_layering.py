"""The one-way rule for ads/ (the portal included): nothing above it, neither the site layer and
project configuration nor the crawlers."""
import ast
from pathlib import Path

from django.conf import settings

ABOVE = ("contentlib.site", "contentlib.config", "crawlers")


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_ads_and_its_portal_import_nothing_above_them():
    files = list(Path(settings.BASE_DIR, "ads").rglob("*.py"))
    assert any(path.parent.name == "portal" for path in files)
    offending = {str(path.relative_to(settings.BASE_DIR)): sorted(name for name in imported_modules(path)
                                                                 if name.startswith(ABOVE))
                 for path in files}
    assert {path: names for path, names in offending.items() if names} == {}


def test_the_library_core_never_imports_ads():
    core = [p for p in Path(settings.BASE_DIR, "contentlib").glob("*.py")]
    assert core
    for path in core:
        assert not [name for name in imported_modules(path) if name == "ads" or name.startswith("ads.")], path
