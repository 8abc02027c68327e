"""Unit tests are fast and have no side effects: no subprocess, no network."""

from __future__ import annotations

import socket
import subprocess
from typing import Any

import pytest


def _forbidden(what: str) -> Any:
    def refuse(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError(f"unit tests must not use {what}; move this test to tests/integration")

    return refuse


@pytest.fixture(autouse=True)
def _no_side_effects(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(subprocess.Popen, "__init__", _forbidden("subprocess"))
    monkeypatch.setattr(socket.socket, "connect", _forbidden("the network"))
    monkeypatch.setattr(socket.socket, "connect_ex", _forbidden("the network"))
