"""Models (`GET /v1/models`)."""

from __future__ import annotations

from .base import Out


class Model(Out):
    id: str
    created: int = 0
    owned_by: str = "aoa"
    object: str = "model"


class ModelList(Out):
    data: list[Model]
    object: str = "list"
