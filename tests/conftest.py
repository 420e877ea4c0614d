import numpy as np
import pytest
from typer.testing import CliRunner

from voxtwin.testing import speechlike


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def speech_16k() -> np.ndarray:
    return speechlike(duration_s=3.0, sample_rate=16_000, seed=1)


@pytest.fixture(autouse=True)
def _private_config_dir(tmp_path_factory, monkeypatch):
    """Installation keys made by tests go to a temporary folder, never the user's ~/.config."""
    monkeypatch.setenv("VOXTWIN_CONFIG_DIR", str(tmp_path_factory.getbasetemp() / "voxtwin-config"))


@pytest.fixture(autouse=True)
def _private_model_store(tmp_path, monkeypatch):
    """Pulled models go to a fresh folder per test, never the user's store; no test reaches a real hub."""
    monkeypatch.setenv("VOXTWIN_HOME", str(tmp_path / "voxtwin-home"))
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
