"""The projector: keeps the experience read model current from the ledger in PostgreSQL.

``python -m revbridge_experience.projector``. A separate process rather than a task inside the API:
folding a burst of facts (a backfill, a rebuild) never takes the event loop that answers reports,
and the API stays stateless. The fold runs inside the database (``readmodel.fold``): each call folds
a batch past the watermark and commits fold and watermark together, so a projector killed at any
point loses nothing and folds nothing twice; several projectors may run, they take turns. Redis is
not involved: flushing it changes no report.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os

from revbridge_db.engine import is_unavailable, open_database

from revbridge_experience.readmodel.fold import Folder, FoldResult
from revbridge_experience.settings import Settings

log = logging.getLogger(__name__)


class Projector:
    def __init__(self, folder: Folder, settings: Settings) -> None:
        self.folder, self._settings = folder, settings

    async def step(self) -> FoldResult:
        return await self.folder.fold_pending(self._settings.batch_size)

    async def run(self, stop: asyncio.Event) -> None:
        log.info("projector.started")
        while not stop.is_set():
            wait = 0.0
            try:
                if not (await self.step()).folded:
                    wait = self._settings.idle_poll_ms / 1000
            except Exception as exc:  # the database away, or a bug: never kill the projector
                if is_unavailable(exc):
                    log.warning("projector.database_unavailable", extra={"error": type(exc).__name__})
                else:
                    log.exception("projector.error")
                wait = 1.0
            if wait:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=wait)
        log.info("projector.stopped")


async def _main(settings: Settings) -> None:
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with open_database() as engine:
        await Projector(Folder(engine), settings).run(stop)


def main() -> None:
    logging.basicConfig(level=os.environ.get("LOG_LEVEL", "INFO"), format="%(asctime)s %(name)s %(message)s")
    asyncio.run(_main(Settings()))


if __name__ == "__main__":
    main()
