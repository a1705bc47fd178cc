"""What migrations need of schemes trustbot no longer writes.

Until migration 0007, sealed values were Fernet tokens (AES-CBC with an HMAC) under a key derived
with HKDF (info "trustbot address seal v1"). Fernet puts the time of sealing, in seconds, in the
clear at the front of every token, which orders rows: 0007 re-seals every such value with
core.privacy's AES-GCM seals. Migration 0003 (which first sealed addresses) and 0007's downgrade
write this format, so that each revision's data is what that revision's code read.
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from trustbot.core.privacy import SealError


class FernetSeal:
    """The address seal of revisions 0003 to 0006."""

    def __init__(self, key: str) -> None:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"trustbot address seal v1"
        ).derive(key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, value: str) -> str:
        """The value as a Fernet token (with its time of sealing in the clear)."""
        return self._fernet.encrypt(value.encode()).decode()

    def open(self, sealed: str) -> str:
        """The value back; SealError when this key did not seal it."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except (InvalidToken, UnicodeDecodeError, ValueError):
            raise SealError("a sealed value this key cannot open") from None
