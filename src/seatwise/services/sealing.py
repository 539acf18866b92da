"""Secrets at rest: webhook secrets are stored sealed (Fernet: AES-128-CBC with an
HMAC-SHA256, from `cryptography`) with a key that lives in the configuration or the
data folder, never in the database, so a dump alone does not reveal them."""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken


class SecretBox:
    def __init__(self, key: str) -> None:
        try:
            self._fernet = Fernet(key.encode())
        except (ValueError, TypeError) as exc:
            raise ValueError("SEATWISE_WEBHOOK_KEY must be a Fernet key (urlsafe base64 of 32 bytes)") from exc

    @staticmethod
    def new_key() -> str:
        return Fernet.generate_key().decode()

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str:
        """The secret; `InvalidToken` when sealed with another key (or tampered with)."""
        return self._fernet.decrypt(sealed.encode()).decode()


__all__ = ["InvalidToken", "SecretBox"]
