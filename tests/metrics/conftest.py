"""Session fixtures: seeded synthetic corpora."""

import pytest
from testkit.synthetic import make_corpus


@pytest.fixture(scope="session")
def corpus1():
    return make_corpus(1)


@pytest.fixture(scope="session")
def corpus2():
    return make_corpus(2, n_refs=2)
