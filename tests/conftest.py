"""Fixtures every test folder may use."""

import pytest

from tests.fixtures import tiny_pipeline


@pytest.fixture(scope="module")
def pipe():
    """The tiny pipeline (random weights, MiniLM's tokenizer), one per test module."""
    return tiny_pipeline()
