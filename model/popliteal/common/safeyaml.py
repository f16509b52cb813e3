"""The one YAML reader of popliteal: safe, bounded, strict.

Every YAML file the project reads (priors, triage policy, references, scenario
files, vignettes, the Wells calibration file) goes through :func:`load_file`
or :func:`load_text`. On top of ``yaml.SafeLoader`` (no Python objects) it

- refuses anchors and aliases (``&a``, ``*a``): an alias "bomb" of a few
  hundred bytes expands to gigabytes once anything stringifies the value;
- refuses a key given twice in one mapping (YAML would keep the last one,
  silently);
- refuses nesting deeper than :data:`MAX_DEPTH` and integers longer than
  :data:`MAX_DIGITS` digits, before building them;
- reads only regular files (checked on the open file descriptor, so a FIFO,
  a folder or a device never blocks or crashes the reader) of at most
  :data:`MAX_BYTES` bytes, as UTF-8.

Every problem raises :class:`YamlError` with one line ``FILE: WHERE: problem``
(``WHERE`` is ``line N`` or ``file``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import yaml

from .atomic import UnreadableFile, read_regular
from .messages import shorten

#: Largest YAML file read (bytes). The largest priors file is about 15 kB.
MAX_BYTES = 2 * 2**20
#: Deepest nesting of mappings and sequences accepted.
MAX_DEPTH = 64
#: Longest integer accepted (digits).
MAX_DIGITS = 64


class YamlError(ValueError):
    """A YAML file is unreadable, too large, malformed or uses a refused feature."""


class _Refused(yaml.YAMLError):
    def __init__(self, line: int | None, problem: str):
        super().__init__(problem)
        self.line = line
        self.problem = problem


def _line(node_or_event) -> int | None:
    mark = getattr(node_or_event, "start_mark", None)
    return None if mark is None else mark.line + 1


class _Loader(yaml.SafeLoader):
    """SafeLoader without anchors, aliases, duplicate keys, deep nesting or huge integers."""

    _depth = 0

    def compose_node(self, parent, index):
        event = self.peek_event()
        if isinstance(event, yaml.AliasEvent):
            raise _Refused(_line(event), f"aliases (*{shorten(event.anchor, 20)}) are not allowed")
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            raise _Refused(_line(event), f"anchors (&{shorten(anchor, 20)}) are not allowed")
        nested = isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent))
        if nested:
            self._depth += 1
            if self._depth > MAX_DEPTH:
                raise _Refused(_line(event), f"nested more than {MAX_DEPTH} levels deep")
        try:
            return super().compose_node(parent, index)
        finally:
            if nested:
                self._depth -= 1

    def construct_mapping(self, node, deep=False):
        if isinstance(node, yaml.MappingNode):
            seen: dict[Any, int] = {}
            for key_node, _ in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    raise _Refused(_line(key_node), "merge keys (<<) are not allowed")
                key = self.construct_object(key_node, deep=True)
                try:
                    hash(key)
                except TypeError:
                    raise _Refused(_line(key_node), "a key must be a plain value, not a list or mapping") from None
                if key in seen:
                    raise _Refused(_line(key_node), f"{shorten(key, 40)}: duplicate key (first at line {seen[key]})")
                seen[key] = _line(key_node) or 0
        return super().construct_mapping(node, deep=deep)

    def construct_yaml_int(self, node):
        digits = sum(c.isdigit() for c in str(node.value))
        if digits > MAX_DIGITS:
            raise _Refused(_line(node), f"a number with {digits} digits (at most {MAX_DIGITS})")
        return super().construct_yaml_int(node)


_Loader.add_constructor("tag:yaml.org,2002:int", _Loader.construct_yaml_int)


def load_text(text: str | bytes, name: str | os.PathLike[str]) -> Any:
    """Parse one YAML document with the strict loader.

    Raises
    ------
    YamlError
        ``NAME: line N: problem`` (or ``NAME: file: problem``).
    """
    name = os.fspath(name)
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise YamlError(f"{name}: file: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    loader = None
    try:
        loader = _Loader(text)
        return loader.get_single_data()
    except _Refused as exc:
        where = f"line {exc.line}" if exc.line else "file"
        raise YamlError(f"{name}: {where}: {exc.problem}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}" if mark is not None else "file"
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise YamlError(f"{name}: {where}: not valid YAML ({shorten(problem)})") from None
    except RecursionError:  # defence in depth: MAX_DEPTH stops nesting long before this
        raise YamlError(f"{name}: file: nested too deeply") from None
    except (ValueError, OverflowError) as exc:  # a scalar the constructors cannot build
        raise YamlError(f"{name}: file: not valid YAML ({shorten(exc)})") from None
    finally:
        if loader is not None:
            loader.dispose()


def load_file(path: str | os.PathLike[str], max_bytes: int = MAX_BYTES) -> Any:
    """Read (see :func:`popliteal.common.atomic.read_regular`) and parse one YAML file."""
    try:
        raw = read_regular(path, max_bytes)
    except UnreadableFile as exc:
        raise YamlError(str(exc)) from None
    return load_text(raw, Path(path))


class _Dumper(yaml.SafeDumper):
    """SafeDumper that writes a shared object twice rather than as an anchor and alias."""

    def ignore_aliases(self, data):
        return True


def dump(data: Any, **kwargs: Any) -> str:
    """``yaml.safe_dump`` without anchors or aliases, so that :func:`load_text` reads it back."""
    return yaml.dump(data, Dumper=_Dumper, **kwargs)
