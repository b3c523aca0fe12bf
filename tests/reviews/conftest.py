"""Uploads land under a throwaway data dir, not the checkout's `.data`."""

import pytest


@pytest.fixture(scope="module")
def settings(settings, tmp_path_factory):
    return settings.model_copy(update={"data_dir": tmp_path_factory.mktemp("data")})
