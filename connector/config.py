"""Where the connector keeps its state, resolved from arguments and the environment.

Precedence (highest first):

* home directory: the ``home`` argument, then ``CCKIT_HOME``, then the platform's user
  data directory (``platformdirs.user_data_dir("cckit")``);
* database URL: the ``db_url`` argument (``--db URL``), then ``CCKIT_DATABASE_URL``, then
  an SQLite file ``<home>/catalog.sqlite3``;
* content store: ``CCKIT_CONTENT_DIR`` (a folder shared by every worker machine, e.g. an
  NFS mount) when set, else ``<home>/content``;
* secret key: ``CCKIT_SECRET_KEY`` when set, else the key file ``<home>/secret.key``
  (created with mode 0600 on first use; see :mod:`connector.secrets`).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import platformdirs
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from connector.errors import ConfigError

#: Environment variable naming the connector's home directory.
HOME_ENV = "CCKIT_HOME"
#: Environment variable holding a database URL (SQLAlchemy form).
DATABASE_URL_ENV = "CCKIT_DATABASE_URL"
#: Environment variable holding a Fernet key (urlsafe base64, 32 bytes).
SECRET_KEY_ENV = "CCKIT_SECRET_KEY"  # noqa: S105 - a variable name, not a secret
#: Environment variable naming the content store (shared by workers on several machines).
CONTENT_DIR_ENV = "CCKIT_CONTENT_DIR"

#: Mode of a new home directory: the group (a web server serving ``content/``) may pass
#: through it; the database and key file inside are owner-only by their own modes.
HOME_MODE = 0o750

SecretKeySource = Literal["env", "file"]


@dataclass(frozen=True)
class Settings:
    """Resolved connector settings.

    Attributes:
        home: The connector's home directory (database, key file, content).
        database_url: SQLAlchemy URL of the catalog database.
        secret_key_source: ``"env"`` when the key comes from ``CCKIT_SECRET_KEY``,
            ``"file"`` when it comes from :attr:`secret_key_file`. The key itself is never
            held here, so a ``repr`` of the settings cannot leak it.
    """

    home: Path
    database_url: str
    secret_key_source: SecretKeySource = "file"  # noqa: S105 - where, not what
    content_override: Path | None = None

    @classmethod
    def resolve(
        cls,
        home: str | os.PathLike[str] | None = None,
        db_url: str | None = None,
        *,
        environ: Mapping[str, str] | None = None,
    ) -> Settings:
        """Resolve the settings from explicit arguments, then the environment.

        Args:
            home: Home directory; overrides ``CCKIT_HOME``.
            db_url: Database URL (``--db``); overrides ``CCKIT_DATABASE_URL``.
            environ: Environment to read (defaults to ``os.environ``; for tests).

        Returns:
            The resolved settings. Nothing is created on disk.

        Raises:
            ConfigError: The home directory exists but is not a directory, or the database
                URL cannot be parsed.
        """
        env = os.environ if environ is None else environ
        if home is not None and str(home) != "":
            home_path = Path(home)
        elif env.get(HOME_ENV):
            home_path = Path(env[HOME_ENV])
        else:
            home_path = Path(platformdirs.user_data_dir("cckit", appauthor=False))
        home_path = home_path.expanduser().absolute()
        if home_path.exists() and not home_path.is_dir():
            raise ConfigError(f"{HOME_ENV}: {home_path} exists and is not a directory")

        if db_url:
            url, origin = db_url, "--db"
        elif env.get(DATABASE_URL_ENV):
            url, origin = env[DATABASE_URL_ENV], DATABASE_URL_ENV
        else:
            url, origin = f"sqlite:///{home_path / 'catalog.sqlite3'}", "default"
        try:
            make_url(url)
        except ArgumentError:
            # Never echo the URL: it may carry a database password.
            raise ConfigError(
                f"{origin}: not a database URL (expected e.g. sqlite:///path/catalog.sqlite3 "
                "or postgresql+psycopg://user@host/dbname)"
            ) from None

        source: SecretKeySource = "env" if env.get(SECRET_KEY_ENV) else "file"
        content = env.get(CONTENT_DIR_ENV)
        content_path = Path(content).expanduser().absolute() if content else None
        if content_path is not None and content_path.exists() and not content_path.is_dir():
            raise ConfigError(f"{CONTENT_DIR_ENV}: {content_path} exists and is not a directory")
        return cls(
            home=home_path,
            database_url=url,
            secret_key_source=source,
            content_override=content_path,
        )

    @property
    def content_dir(self) -> Path:
        """Directory under which published course content is extracted.

        ``CCKIT_CONTENT_DIR`` when set (one store shared by every worker), else
        ``<home>/content``. Versions are extracted into a temporary folder inside it and
        renamed into place, so a reader never sees half a version on a shared mount.
        """
        return self.content_override or self.home / "content"

    @property
    def secret_key_file(self) -> Path:
        """Path of the key file used when ``CCKIT_SECRET_KEY`` is not set."""
        return self.home / "secret.key"

    @property
    def safe_database_url(self) -> str:
        """The database URL with any password masked, for messages and logs."""
        return make_url(self.database_url).render_as_string(hide_password=True)

    def ensure_home(self) -> Path:
        """Create the home directory (mode :data:`HOME_MODE`) when missing and return it.

        An existing home keeps the mode its administrator gave it.

        Raises:
            ConfigError: The directory cannot be created.
        """
        if self.home.is_dir():
            return self.home
        try:
            self.home.mkdir(mode=HOME_MODE, parents=True, exist_ok=True)
            os.chmod(self.home, HOME_MODE)  # whatever the umask
        except OSError as exc:
            raise ConfigError(f"{HOME_ENV}: cannot create {self.home}: {exc.strerror}") from None
        return self.home

    def __repr__(self) -> str:
        return (
            f"Settings(home={str(self.home)!r}, database_url={self.safe_database_url!r}, "
            f"secret_key_source={self.secret_key_source!r})"
        )
