"""Client secrets: a redacting wrapper and Fernet encryption at rest.

The key comes from ``CCKIT_SECRET_KEY`` (a Fernet key: 32 bytes, urlsafe base64) when set,
else from ``<home>/secret.key``, created with mode 0600 on first use. Losing or changing
the key makes stored secrets unreadable; :func:`decrypt` then says so plainly.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken

from connector.config import HOME_MODE
from connector.config import SECRET_KEY_ENV
from connector.config import Settings
from connector.errors import SecretKeyError

log = logging.getLogger(__name__)

_REDACTED = "***"


class Secret:
    """A secret string that never shows itself by accident.

    ``str()``, ``repr()`` and f-strings give ``***``; only :meth:`reveal` returns the
    value, so every place that sends it over the wire is explicit. A secret read from the
    database is decrypted lazily (on the first :meth:`reveal`), so listing integrations
    works even when the key changed; using the secret then raises
    :class:`~connector.errors.SecretKeyError`.
    """

    __slots__ = ("_loader", "_value")

    def __init__(self, value: str) -> None:
        self._value: str | None = value
        self._loader: Callable[[], str] | None = None

    @classmethod
    def lazy(cls, loader: Callable[[], str]) -> Secret:
        """Return a secret whose value ``loader`` produces on first use."""
        secret = cls("")
        secret._value = None
        secret._loader = loader
        return secret

    def reveal(self) -> str:
        """Return the plain value (to send to the vendor, never to print).

        Raises:
            SecretKeyError: A lazily decrypted secret cannot be decrypted.
        """
        if self._value is None and self._loader is not None:
            self._value = self._loader()
            self._loader = None
        return self._value or ""

    def __repr__(self) -> str:
        return f"Secret({_REDACTED!r})"

    def __str__(self) -> str:
        return _REDACTED

    def __format__(self, format_spec: str) -> str:
        return _REDACTED

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other.reveal() == self.reveal()

    def __hash__(self) -> int:
        return hash(("Secret", self.reveal()))

    def __reduce__(self) -> tuple[object, ...]:
        # Pickling would write the value in the clear; refuse rather than leak.
        raise TypeError("Secret values cannot be pickled")


def _check_key(key: bytes, origin: str) -> Fernet:
    try:
        return Fernet(key)
    except (ValueError, TypeError):
        raise SecretKeyError(
            f"{origin}: not a valid key (expected 32 bytes in urlsafe base64, as printed by "
            "`python -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'`)"
        ) from None


def _read_key_file(path: Path) -> bytes:
    try:
        return path.read_bytes().strip()
    except OSError as exc:
        raise SecretKeyError(f"cannot read the key file {path}: {exc.strerror}") from None


def _create_key_file(path: Path) -> bytes:
    """Create ``path`` with a fresh key, readable by the owner only.

    ``O_EXCL`` makes two processes starting at once agree: the loser reads the winner's
    key instead of overwriting it.
    """
    key = Fernet.generate_key()
    try:
        path.parent.mkdir(mode=HOME_MODE, parents=True, exist_ok=True)  # the home
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read_key_file(path)
    except OSError as exc:
        raise SecretKeyError(f"cannot create the key file {path}: {exc.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(key + b"\n")
            fh.flush()
            os.fsync(fh.fileno())
    except OSError as exc:
        with contextlib.suppress(OSError):
            path.unlink()
        raise SecretKeyError(f"cannot write the key file {path}: {exc.strerror}") from None
    return key


def load_fernet(settings: Settings, *, create: bool = True) -> Fernet:
    """Return the Fernet instance for the configured key.

    Args:
        settings: Resolved settings (home directory for the key file).
        create: Create the key file when it does not exist (needed only to encrypt).

    Returns:
        A Fernet instance.

    Raises:
        SecretKeyError: The key is malformed, unreadable, or (``create=False``) missing.
    """
    env_key = os.environ.get(SECRET_KEY_ENV, "").strip()
    if env_key:
        return _check_key(env_key.encode("ascii", "replace"), SECRET_KEY_ENV)
    path = settings.secret_key_file
    if path.exists():
        with contextlib.suppress(OSError):
            if path.stat().st_mode & 0o077:
                log.warning(
                    "the key file %s is readable by other users; run: chmod 600 %s", path, path
                )
        return _check_key(_read_key_file(path), f"key file {path}")
    if not create:
        raise SecretKeyError(
            f"no secret key: set {SECRET_KEY_ENV} or restore the key file {path} "
            "that was used when the secrets were stored"
        )
    return _check_key(_create_key_file(path), f"key file {path}")


def encrypt(settings: Settings, secret: Secret) -> str:
    """Encrypt ``secret`` for storage.

    Args:
        settings: Resolved settings (where the key lives).
        secret: The secret to encrypt.

    Returns:
        The Fernet token as text.
    """
    return load_fernet(settings).encrypt(secret.reveal().encode("utf-8")).decode("ascii")


def decrypt(settings: Settings, token: str, *, what: str = "the stored secret") -> Secret:
    """Decrypt a stored secret.

    Args:
        settings: Resolved settings (where the key lives).
        token: The stored Fernet token.
        what: Names the secret in the error message (e.g. the integration).

    Returns:
        The secret.

    Raises:
        SecretKeyError: The key cannot decrypt the token (it changed since the secret
            was stored) or there is no key.
    """
    fernet = load_fernet(settings, create=False)
    try:
        plain = fernet.decrypt(token.encode("ascii"))
    except (InvalidToken, UnicodeEncodeError):
        source = (
            SECRET_KEY_ENV
            if os.environ.get(SECRET_KEY_ENV, "").strip()
            else str(settings.secret_key_file)
        )
        raise SecretKeyError(
            f"cannot decrypt {what}: the secret key changed since it was stored (key from "
            f"{source}); restore the original key or set the secret again with "
            "`cckit integrations update NAME --client-secret-env VAR`"
        ) from None
    return Secret(plain.decode("utf-8"))


__all__ = ["Secret", "decrypt", "encrypt", "load_fernet"]
