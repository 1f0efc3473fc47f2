"""Signing a letter off: the approving advisor's block closes it, and the text is rendered again.

The signed text is what the gate checks, the delivery stores and the delivered hash covers, so
nothing in a signature reaches a client unchecked.
"""

from __future__ import annotations

from core.schemas.letter import Letter, Signature
from core.schemas.vocabulary import Locale
from tools.letter.text import render_text, signature_lines


def sign(
    document: Letter | None, client_text: str, signature: Signature, locale: Locale
) -> tuple[Letter | None, str]:
    """The signed letter and its text: the document with its signature, rendered again; or,
    for a letter with no sections (None), the plain text with the signature block after it."""
    if document is not None:
        signed = document.model_copy(update={"signature": signature})
        return signed, render_text(signed)
    block = "\n".join(signature_lines(signature, locale))
    return None, f"{client_text}\n\n{block}"
