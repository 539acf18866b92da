"""JSON bytes of a result, as FastAPI's JSONResponse would render `to_json(result)`.

Cached answers are the same result object request after request, so their bytes are
memoised by identity (the memo keeps the object alive, so an id is never reused
while its entry lives).
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from typing import Any

from seatwise.services.results import to_json

_MEMO_SIZE = 4096
_memo: OrderedDict[int, tuple[Any, bytes]] = OrderedDict()
_lock = threading.Lock()


def encode_json(result: Any) -> bytes:
    """The bytes of a result (nothing memoised: a write's answer is sent once)."""
    return json.dumps(to_json(result), ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode()


def render_json(result: Any) -> bytes:
    key = id(result)
    with _lock:
        found = _memo.get(key)
        if found is not None and found[0] is result:
            _memo.move_to_end(key)
            return found[1]
    body = encode_json(result)
    with _lock:
        _memo[key] = (result, body)
        while len(_memo) > _MEMO_SIZE:
            _memo.popitem(last=False)
    return body
