"""The dependency direction of DESIGN §1, checked by import-linter (`.importlinter`).

CI runs `lint-imports` in `make lint`; these tests show that the contracts can fail: a
copy of the project with one import reversed breaks them, with a message naming it.
"""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ["config", "accounts", "catalog", "cart", "orders", "invoices", "payments"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(tree: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=tree, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def copy_of_project(tmp_path_factory) -> Path:
    """The project's Python packages and contracts, copied (sources only)."""
    tree = tmp_path_factory.mktemp("project")
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "tests")
        )
    shutil.copy(ROOT / ".importlinter", tree / ".importlinter")
    return tree


def append(path: Path, line: str) -> str:
    original = path.read_text()
    path.write_text(original + f"\n{line}\n")
    return original


def test_the_project_keeps_every_contract(copy_of_project):
    result = lint_imports(copy_of_project)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "Contracts: 3 kept, 0 broken." in result.stdout


@pytest.mark.parametrize(
    ("module", "reversed_import", "broken"),
    [
        # orders knows nothing of payments (DESIGN §1): payments drives orders, not the reverse.
        ("orders/services.py", "import payments.services", "orders is not allowed to import payments"),
        ("catalog/models.py", "import cart.models", "catalog is not allowed to import cart"),
        # the kernel imports no app
        ("config/errors.py", "import orders.models", "config.errors is not allowed to import orders"),
        # domain code uses the kernel only, never the HTTP roof
        ("cart/services.py", "import config.api.fields", "cart.services is not allowed to import config.api"),
    ],
)
def test_a_reversed_import_breaks_a_contract(copy_of_project, module, reversed_import, broken):
    path = copy_of_project / module
    original = append(path, reversed_import)
    try:
        result = lint_imports(copy_of_project)
    finally:
        path.write_text(original)

    assert result.returncode == 1
    assert broken in " ".join(result.stdout.split())


MAX_MODULE_LINES = 400  # issue 25: split a module by responsibility before it grows past this
NOT_MODULES = {".venv", ".git", "node_modules", "migrations", "tests"}


def long_modules(root: Path, *, limit: int = MAX_MODULE_LINES) -> list[str]:
    """Every .py file under `root`, outside migrations/, tests/ and the virtualenv, that is
    over `limit` lines, as `path (lines)`."""
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root)
        if NOT_MODULES.intersection(relative.parts[:-1]):
            continue
        lines = len(path.read_text(encoding="utf-8").splitlines())
        if lines > limit:
            found.append(f"{relative} ({lines})")
    return found


def test_no_module_is_over_400_lines():
    assert long_modules(ROOT) == []


def test_a_long_module_is_named_and_migrations_and_tests_are_not(tmp_path):
    for relative, lines in [
        ("shop/services.py", 401),
        ("shop/selectors.py", 400),
        ("shop/migrations/0001_initial.py", 900),
        ("shop/tests/test_services.py", 900),
        (".ci/stress/run.py", 401),
    ]:
        path = tmp_path / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("x = 1\n" * lines)

    assert long_modules(tmp_path) == [".ci/stress/run.py (401)", "shop/services.py (401)"]
