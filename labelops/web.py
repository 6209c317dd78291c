"""What the pages labelops writes share (the labels report, the review page, the demo shop)."""

from __future__ import annotations

import json
from typing import Any

_SCRIPT_UNSAFE = (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029"))


def script_safe_json(data: Any, sort_keys: bool = False) -> str:
    """JSON that cannot end the ``<script>`` element it is written into (the same JSON to a parser)."""
    text = json.dumps(data, ensure_ascii=False, default=str, sort_keys=sort_keys)
    for raw, escaped in _SCRIPT_UNSAFE:
        text = text.replace(raw, escaped)
    return text
