"""Reading what users write: files of bounded size, YAML that must hold a mapping (safely: no objects,
no duplicate keys, no alias bombs), strict scalars, and pydantic validation errors as one line naming
the field. Shared by the grammar (simulation specs), the motif readers and the suite files.
"""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Annotated

import numpy as np
import yaml
from pydantic import BeforeValidator, StrictBool, ValidationError

#: the largest suite, spec or motif file read (a suite is a few kB; this stops /dev/zero and the like)
MAX_FILE_BYTES = 10 * 1024 * 1024


def read_text_file(path, what: str, error=ValueError) -> str:
    """The UTF-8 text of a regular file of at most :data:`MAX_FILE_BYTES`.

    Anything else (missing, a folder, a pipe or device, too large, unreadable, not UTF-8) raises
    ``error`` with one line naming the file: a named pipe is never opened (it would block), and no
    more than the limit is read (``/dev/zero`` never ends).
    """
    path = Path(path)
    name = repr(str(path))
    try:
        st = path.stat()
    except FileNotFoundError:
        raise error(f"{what} file {name} does not exist") from None
    except OSError as exc:
        raise error(f"cannot read {what} file {name}: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise error(f"cannot read {what} file {name}: it is a folder, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise error(f"cannot read {what} file {name}: it is not a regular file (a pipe, socket or device)")
    if st.st_size > MAX_FILE_BYTES:
        raise error(f"cannot read {what} file {name}: it holds {st.st_size} bytes, more than the limit of "
                    f"{MAX_FILE_BYTES} ({MAX_FILE_BYTES // 2**20} MB)")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise error(f"cannot read {what} file {name}: {exc.strerror or exc}") from None
    if len(raw) > MAX_FILE_BYTES:
        raise error(f"cannot read {what} file {name}: it holds more than the limit of {MAX_FILE_BYTES} bytes")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise error(f"cannot read {what} file {name}: it is not UTF-8 text (byte 0x{raw[exc.start]:02x} at "
                    f"position {exc.start}); save it as UTF-8") from None


# --------------------------------------------------------------------------- strict scalars


def _not_bool(v):
    # pydantic's lax mode reads true as 1 and 1.0: a boolean where a number belongs is a mistake
    if isinstance(v, (bool, np.bool_)):
        raise ValueError(f"Input should be a number, not {str(bool(v)).lower()}")
    return v


#: an int / a float that refuses true and false (pydantic would read them as 1 and 0)
Int = Annotated[int, BeforeValidator(_not_bool)]
Float = Annotated[float, BeforeValidator(_not_bool)]
#: true or false only: 'no', 'off', 0 and 1 are refused, not read as booleans
Bool = StrictBool


# --------------------------------------------------------------------------- validation errors and YAML


#: union branch names pydantic puts in an error's location (noise to a user)
_BRANCH_TAGS = {"int", "float", "str", "bool", "list", "Range", "Choice", "Normal", "Rejection", "MotifSource"}


def format_validation_error(exc: ValidationError, what: str) -> str:
    """One line: ``invalid <what>: field.path: message`` (several problems joined by ``; ``), without
    union-branch noise (the errors of one field from several union branches become one message)."""
    by_loc: dict[str, list[str]] = {}
    inputs: dict[str, object] = {}
    for err in exc.errors():
        loc = ""
        for part in err["loc"]:
            # pydantic puts union branch names in the location; they are noise to a user
            if isinstance(part, str) and (part in _BRANCH_TAGS or "[" in part or part.startswith("constrained-")):
                continue
            loc += f"[{part}]" if isinstance(part, int) else (f".{part}" if loc else str(part))
        loc = loc or what
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = f"unknown key (not part of the {what})"
        elif err["type"] not in ("value_error", "missing") and isinstance(err.get("input"), (str, int, float, bool,
                                                                                             type(None))):
            inputs.setdefault(loc, err["input"])  # the offending value, shown once per field
        msgs = by_loc.setdefault(loc, [])
        if msg not in msgs:  # a union reports one error per branch
            msgs.append(msg)
    lines = []
    for loc, msgs in by_loc.items():
        prefix = "Input should be "
        if len(msgs) > 1 and all(m.startswith(prefix) for m in msgs):
            msg = prefix + ", or ".join(m.removeprefix(prefix) for m in msgs)
        else:
            msg = "; ".join(msgs)
        if loc in inputs and "got " not in msg:
            msg += f", got {_short_repr(inputs[loc])}"
        lines.append(f"{loc}: {msg}")
    return f"invalid {what}: " + "; ".join(lines)


def _short_repr(value, limit: int = 60) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


#: how many more values YAML aliases (``*name``) may add when expanded: a handful of aliases that
#: share a block are fine; a few nested ones (an "alias bomb") expand to billions of values
MAX_ALIAS_EXPANSION = 10_000


def _check_node_tree(root, describe) -> None:
    """Refuse what ``yaml.safe_load`` would accept silently or at great cost: a key given twice in one
    mapping (the last would win) and aliases that expand to more than :data:`MAX_ALIAS_EXPANSION`
    extra values (an alias bomb: a 743-byte file can hold 10^8 values). ``describe(msg)`` builds the error."""
    if root is None:
        return
    size: dict[int, int] = {}  # id(node) -> values it expands to
    state: dict[int, int] = {}  # 1 = on the path (a recursive alias), 2 = done
    stack = [(root, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if children_done:
            if isinstance(node, yaml.MappingNode):
                kids = [n for pair in node.value for n in pair]
            elif isinstance(node, yaml.SequenceNode):
                kids = node.value
            else:
                kids = []
            size[key] = 1 + sum(size[id(k)] for k in kids)
            state[key] = 2
            if size[key] > MAX_ALIAS_EXPANSION + len(state) + 1:
                break
            continue
        if state.get(key) == 2:
            continue
        if state.get(key) == 1:
            raise describe(f"a recursive alias at line {node.start_mark.line + 1} (a value that contains "
                           f"itself); write the value out")
        state[key] = 1
        stack.append((node, True))
        if isinstance(node, yaml.MappingNode):
            seen: dict = {}
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode) and k.tag != "tag:yaml.org,2002:merge":
                    if k.value in seen:
                        raise describe(f"key {k.value!r} appears twice in one mapping (lines {seen[k.value]} and "
                                       f"{k.start_mark.line + 1}); only one value can hold")
                    seen[k.value] = k.start_mark.line + 1
                stack.append((v, False))
                stack.append((k, False))
        elif isinstance(node, yaml.SequenceNode):
            for v in reversed(node.value):
                stack.append((v, False))
    total, distinct = size.get(id(root)), len(state)
    if total is None or total > distinct + MAX_ALIAS_EXPANSION:
        raise describe(f"its aliases (*name) expand to more than {distinct + MAX_ALIAS_EXPANSION} values from "
                       f"{distinct} written (an alias bomb?); write the values out or use fewer aliases")


def read_yaml_mapping(path, what: str, error=ValueError, expected: str = "") -> dict:
    """Safely load a YAML file that must hold a mapping (never constructs objects or runs code).

    The file must be a regular UTF-8 file of at most :data:`MAX_FILE_BYTES`; keys given twice and
    aliases expanding to more than :data:`MAX_ALIAS_EXPANSION` values are refused. Every problem raises
    ``error`` with a one-line message naming the file.
    """
    path = Path(path)
    text = read_text_file(path, what, error)
    name = repr(str(path))

    def invalid(msg):
        return error(f"{what} file {name} is not valid YAML: {msg}")

    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        _check_node_tree(node, invalid)
        data = loader.construct_document(node) if node is not None else None
    except yaml.YAMLError as exc:
        raise invalid(" ".join(str(exc).split())) from None
    except RecursionError:
        raise invalid("it is nested too deeply") from None
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise error(f"{what} file {name} must hold a mapping ({expected})")
    return data
