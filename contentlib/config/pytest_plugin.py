"""Loaded by pytest before Django's settings (pyproject.toml: addopts `-p contentlib.config.pytest_plugin`).

The test suite runs without SECRET_KEY, as `make test` does: on the local key kept in DATA_DIR.
Subprocesses the tests start (crawls, servers) inherit the setting.
"""
import os

os.environ.setdefault("LOCAL_SECRET_KEY", "1")
