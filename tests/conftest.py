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
