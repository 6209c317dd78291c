"""What third-party libraries print that no one running labelops needs (imports nothing heavy)."""

from __future__ import annotations

import logging

LIGHTNING_RANK_ZERO_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")


class _NoTips(logging.Filter):
    """Drops Lightning's advertisements ("💡 Tip: For seamless cloud ... try installing litlogger")."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("💡 Tip")


_NO_TIPS = _NoTips()


def drop_lightning_tips() -> None:
    """Keep Lightning's tips out of this process's logs (the CLI and every training subprocess)."""
    for name in LIGHTNING_RANK_ZERO_LOGGERS:
        logger = logging.getLogger(name)
        if _NO_TIPS not in logger.filters:
            logger.addFilter(_NO_TIPS)
