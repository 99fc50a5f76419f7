import pytest


@pytest.fixture(autouse=True)
def private_root(settings, tmp_path):
    """Every test writes its PDFs into its own directory, never into the project's."""
    settings.PRIVATE_ROOT = tmp_path / "private"
    return settings.PRIVATE_ROOT
