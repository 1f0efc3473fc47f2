"""Signing a letter off: the approving advisor's block closes it, and the text is rendered again.

The signed text is what the gate checks, the delivery stores and the delivered hash covers, so
nothing in a signature reaches a client unchecked.
"""

from __future__ import annotations

from core.schemas.letter import Letter, Signature
from tools.letter.text import render_text


def sign(document: Letter, signature: Signature) -> tuple[Letter, str]:
    """The signed letter and its text: the document with its signature, rendered again."""
    signed = document.model_copy(update={"signature": signature})
    return signed, render_text(signed)
