"""The provider contract bound to one vendor."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import NamedTuple

from ..core import Error, Outbound
from .errors import error
from .request import chat, embeddings, models, models_result
from .response import ChatStream, chat_result, embeddings_result
from .vendor import Vendor


# --- the provider contract ----------------------------------------------------------------


class Contract(NamedTuple):
    """The names `providers/__init__.py` asks of a provider, bound to one vendor; a vendor module
    unpacks them in this order."""

    chat: Callable[..., Outbound]
    chat_result: Callable[..., bytes]
    ChatStream: type
    embeddings: Callable[..., list[Outbound]]
    embeddings_result: Callable[..., bytes]
    models: Callable[..., Outbound | None]
    models_result: Callable[..., tuple[list[str], str | None]]
    error: Callable[[int, bytes], Error]


def contract(v: Vendor) -> Contract:
    stream = type("ChatStream", (ChatStream,), {"vendor": v, "__doc__": ChatStream.__doc__})
    return Contract(
        chat=partial(chat, v),
        chat_result=partial(chat_result, v),
        ChatStream=stream,
        embeddings=partial(embeddings, v),
        embeddings_result=partial(embeddings_result, v),
        models=partial(models, v),
        models_result=partial(models_result, v),
        error=partial(error, v),
    )
