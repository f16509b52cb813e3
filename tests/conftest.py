"""Shared fixtures: the bundled model, random priors folders, a seeded RNG.

Two hypothesis profiles: ``fast`` (default, every run) and ``thorough``
(``HYPOTHESIS_PROFILE=thorough make test``).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

sys.path.insert(0, str(Path(__file__).parent))

settings.register_profile("fast", max_examples=40, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=500, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "fast"))

ROOT = Path(__file__).resolve().parents[1]
PRIORS = ROOT / "priors"


@pytest.fixture(scope="session", autouse=True)
def private_cache_dir(tmp_path_factory):
    """Keep the compiled-model cache (``popliteal.network.cache``) of the tests, CLI subprocesses included,
    out of the user's home: ``$POPLITEAL_CACHE_DIR`` points to a temporary folder."""
    with pytest.MonkeyPatch.context() as patch:
        path = tmp_path_factory.mktemp("popliteal-cache")
        patch.setenv("POPLITEAL_CACHE_DIR", str(path))
        yield path


@pytest.fixture(scope="session")
def model():
    """The model built from the bundled priors."""
    import popliteal

    return popliteal.load(PRIORS)


@pytest.fixture(scope="session")
def pgmpy_model(model):
    """The same network as a pgmpy DiscreteBayesianNetwork (the reference)."""
    return model.network()


@pytest.fixture
def rng():
    """A seeded random generator: tests are repeatable."""
    return np.random.default_rng(20261125)


@pytest.fixture(scope="session")
def random_priors_dir(tmp_path_factory):
    """A valid priors folder with random numbers (exercises every kind of file)."""
    from priors_factory import write_random_priors

    return write_random_priors(tmp_path_factory.mktemp("random-priors"), seed=7)
