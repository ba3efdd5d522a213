"""Creating a SQLite trace store so that it is never seen half-made, and MLflow kept quiet.

mlflow is imported on first use, never at import time of this module.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path


def quiet_mlflow() -> None:
    """Keep MLflow's and alembic's INFO chatter (migrations, store creation) off the terminal."""
    for name in ("mlflow", "mlflow.store.db.utils", "alembic", "alembic.runtime.migration"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # it logs every database error with its traceback, then raises it; costar reports it once
    logging.getLogger("mlflow.store.db.utils").setLevel(logging.CRITICAL)


@contextlib.contextmanager
def _exclusive(lock_path: Path) -> Iterator[None]:
    """Hold an exclusive lock on `lock_path` (released when the process dies, too)."""
    try:
        import fcntl
    except ImportError:  # Windows: no advisory locks; the atomic rename still protects readers
        yield
        return
    with lock_path.open("a") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _half_made(db: Path) -> bool:
    """Whether `db` is a store whose migrations never finished (and so holds no data)."""
    try:
        uri = f"{db.resolve().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            tables = {row[0] for row in conn.execute("select name from sqlite_master")}
            for table, most in (("experiments", 1), ("runs", 0), ("trace_info", 0)):
                if (
                    table in tables
                    and conn.execute(f"select count(*) from {table}").fetchone()[0] > most
                ):
                    return False  # it holds data: never touched
            version = conn.execute("select version_num from alembic_version").fetchall()
    except sqlite3.Error:
        return False  # not readable as a store: let MLflow say what is wrong
    from mlflow.store.db.utils import _get_latest_schema_revision

    return version != [(_get_latest_schema_revision(),)]


def ensure_sqlite_store(db: Path) -> None:
    """Create the SQLite store `db` if it does not exist, so that it is never seen half-made.

    MLflow migrates a new SQLite file in place (4 to 7 s, several dozen steps that are not one
    transaction): an interruption, or a second process migrating at the same time, leaves a
    store that fails forever ("table _alembic_tmp_... already exists"). Instead, under a lock
    beside the store, the schema is built in a temporary file and renamed into place only when
    complete; a process that waited on the lock finds the finished store. An interrupted
    creation leaves a temporary file that the next creation removes. A store an older costar
    left half-made (it holds no data) is moved aside as `mlflow.db.interrupted-TIME` and made
    again.
    """
    if db.exists() and not _half_made(db):
        return
    db.parent.mkdir(parents=True, exist_ok=True)
    with _exclusive(db.with_name(f"{db.name}.lock")):
        if db.exists():
            if not _half_made(db):  # made by another process while this one waited
                return
            # left by an interrupted creation of an older costar; it holds no data, but keep it
            db.rename(db.with_name(f"{db.name}.interrupted-{int(time.time())}"))
        for stale in db.parent.glob(f"{db.name}.creating-*"):
            stale.unlink(missing_ok=True)
        tmp = db.with_name(f"{db.name}.creating-{os.getpid()}")
        try:
            from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

            # opening an empty store migrates it and adds MLflow's Default experiment
            made = SqlAlchemyStore(f"sqlite:///{tmp}", (db.parent / "artifacts").resolve().as_uri())
            made.engine.dispose()
            os.replace(tmp, db)
        finally:
            tmp.unlink(missing_ok=True)
