"""Reading a COCO file's JSON as a stream: the top-level sections item by item, in bounded memory.

ijson's prefix-free events (``basic_parse``) feed our own builder, which keeps one path step
per open level and stops at ``max_depth`` levels: memory stays flat whatever the nesting.
(ijson's prefixed events carry the whole path on every event: memory grew with depth times
the lexer's buffer, and 400 KB of brackets took a worker to 17.6 GB.) The file's size is
capped while it is read. Every refusal is a ``CocoFormatError`` naming where it happened.
"""

from __future__ import annotations

import io
from typing import BinaryIO

import ijson
from ijson.backends import python as ijson_python

_RESCAN_LIMIT = 64 << 20  # re-read at most this much with the slow lexer to locate a JSON error

class CocoFormatError(ValueError):
    """A refused COCO file; ``path`` names the element (``$`` is the whole document)."""

    def __init__(self, path: str, detail: str, problems: list[tuple[str, str]] | None = None):
        self.problems = problems or [(path, detail)]
        more = len(self.problems) - 1
        super().__init__(f"{path}: {detail}" + (f" (and {more} more refused element{'s' * (more > 1)})" if more else ""))
        self.path = path
        self.detail = detail

    @classmethod
    def of(cls, problems: list[tuple[str, str]]) -> "CocoFormatError":
        """One error for every refused element found (the first names ``path`` and ``detail``)."""
        return cls(problems[0][0], problems[0][1], problems)


class _Limited:
    """Counts bytes as ijson reads them and refuses the file past ``max_bytes``."""

    def __init__(self, fp: BinaryIO, max_bytes: int):
        self.fp, self.max_bytes, self.count = fp, max_bytes, 0

    def read(self, n: int = -1) -> bytes:
        data = self.fp.read(n if n is not None and n >= 0 else self.max_bytes + 1)
        if isinstance(data, str):
            raise CocoFormatError("$", "the file must be opened in binary mode")
        self.count += len(data)
        if self.count > self.max_bytes:
            raise CocoFormatError("$", f"the file is larger than the limit of {self.max_bytes} bytes")
        return data


_OPEN = {"start_map": dict, "start_array": list}
_CLOSE = {"end_map", "end_array"}
_BUF_SIZE = 16 << 10  # bytes lexed per step: bounds the events held at once


def _too_deep(path: str, max_depth: int) -> CocoFormatError:
    return CocoFormatError(path, f"nested deeper than {max_depth} levels")


def _value(events, event: str, value, where: list, depth: int, max_depth: int):
    """Build the JSON value whose first event has just been read, at nesting ``depth`` (the document is 1).

    Our own builder over ijson's prefix-free events: it keeps one path step per open level
    and stops at ``max_depth`` levels, so a file of nested brackets costs neither time nor
    memory (ijson's prefixed events grow with depth times the lexer's buffer).
    """
    if event not in _OPEN:
        return value
    if depth > max_depth:
        raise _too_deep(where[0], max_depth)
    root = _OPEN[event]()
    stack, steps, key = [root], [""], None
    try:
        for event, value in events:
            if event == "map_key":
                key = value
                continue
            if event in _CLOSE:
                stack.pop()
                steps.pop()
                if not stack:
                    return root
                continue
            top = stack[-1]
            if event in _OPEN:
                child = _OPEN[event]()
                if type(top) is dict:
                    top[key] = child
                    steps.append(f".{key}")
                else:
                    steps.append(f"[{len(top)}]")
                    top.append(child)
                stack.append(child)
                if depth + len(stack) - 1 > max_depth:
                    raise _too_deep(where[0] + "".join(steps), max_depth)
            elif type(top) is dict:
                top[key] = value
            else:
                top.append(value)
    except ijson.JSONError:
        # Name where the text broke, e.g. annotations[7].bbox.
        where[0] += "".join(steps) + (f".{key}" if stack and type(stack[-1]) is dict and key is not None else "")
        raise
    raise ijson.IncompleteJSONError("the file ends too early")


def _walk(events, handlers: dict, seen: dict, where: list, max_depth: int) -> dict:
    """Dispatch the top-level keys; each list item goes to its handler as it is completed."""
    event, _ = next(events)
    if event != "start_map":
        raise CocoFormatError("$", "must be a JSON object with images, annotations and categories")
    info: dict = {}
    for event, key in events:
        if event == "end_map":
            break
        event, value = next(events)
        where[0] = key
        if key in handlers:
            if event != "start_array":
                raise CocoFormatError(key, "must be a list")
            handle, index = handlers[key], 0
            for event, value in events:
                if event == "end_array":
                    break
                where[0] = f"{key}[{index}]"
                handle(_value(events, event, value, where, 3, max_depth), where[0])
                index += 1
            seen[key] = True
        else:
            value = _value(events, event, value, where, 2, max_depth)
            if key == "info":
                if not isinstance(value, dict):
                    raise CocoFormatError("info", "must be an object")
                info = value
            elif key == "licenses" and not isinstance(value, list):
                raise CocoFormatError("licenses", "must be a list")
    return info


def _json_position(fp: BinaryIO, start: int, read: int) -> str:
    """Locate a JSON error exactly by re-reading (up to a limit) with ijson's pure-Python lexer."""
    try:
        fp.seek(start)
        data = fp.read(min(read, _RESCAN_LIMIT))
        for _ in ijson_python.basic_parse(io.BytesIO(data)):  # no prefixes: memory stays flat
            pass
    except ijson.IncompleteJSONError:
        return f" at byte {len(data)} (the file ends too early)"
    except ijson.JSONError as exc:
        return f" at byte {str(exc).rsplit(' at ', 1)[-1]}"
    except Exception:  # not seekable or unreadable: the path still names the element
        return ""
    return f" near byte {read}"


def read_document(fp: BinaryIO, *, handlers: dict, seen: dict, max_bytes: int, max_depth: int) -> dict:
    """Read a COCO document: each item of a section in ``handlers`` goes to its handler (obj, path)
    as soon as it is complete; sections read are marked in ``seen``; returns ``info``."""
    where = ["$"]
    start = fp.tell() if fp.seekable() else 0
    reader = _Limited(fp, max_bytes)
    try:
        return _walk(ijson.basic_parse(reader, use_float=True, buf_size=_BUF_SIZE), handlers, seen, where, max_depth)
    except ijson.JSONError as exc:
        reason = str(exc).splitlines()[0] if str(exc) else "incomplete JSON"
        raise CocoFormatError(where[0], f"invalid JSON{_json_position(fp, start, reader.count)}: {reason}") from None
    except StopIteration:
        raise CocoFormatError("$", "the file is empty") from None
