"""Python half of ``ngx.re``: compiling PCRE patterns and running them over Lua strings.

The Lua side (``moongate.ngx_re.lua``) keeps its own cache of compiled patterns by
(options, pattern) and refers to a pattern here by a small integer id, so a hot
``ngx.re.find`` / ``ngx.re.match`` is a single crossing carrying the id, the subject and
the start offset.  Results come back as plain values (offsets, capture strings, ``False``
for an unset group) that the Lua side turns into OpenResty's tables.

Offsets crossing the boundary are 0-based byte offsets, as PCRE's ovector; in UTF-8 mode
(flag ``u``) the subject is matched as text and offsets are converted back to bytes.
A call with an id this side no longer knows (after :func:`flush`) answers ``False`` and
the Lua side compiles again.

The match limit (PCRE's ``lua_regex_match_limit``): Python's ``regex`` engine counts no
backtracking steps, but its ``timeout=`` is checked while it backtracks, so every match
runs with one (:func:`match_timeout`: the CPU budget of a sandboxed runtime, 1 s in a
trusted one).  Past it the call answers like PCRE past its match limit: ``nil,
"pcre_exec() failed: -8"``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from host.lua.modules._regex import Compiled, CompileError, compile_pattern, error_text

if TYPE_CHECKING:  # pragma: no cover
    from host.lua.runtime import LuaHost

#: PCRE2 error codes OpenResty reports as "pcre_exec() failed: <code>"
_BADOFFSET = -33
_BADUTFOFFSET = -36
_UTF8_ERRORS = {"unexpected end of data": -3, "invalid continuation byte": -8, "invalid start byte": -22}
#: how many compiled replacement templates are kept
_TEMPLATE_CACHE = 1024


def _exec_error(code: int) -> bytes:
    return b"pcre_exec() failed: " + str(code).encode()


class _Text:
    """A subject in UTF-8 mode: the decoded text and char <-> byte offset conversion."""

    __slots__ = ("text", "ascii", "offsets")

    def __init__(self, text: str) -> None:
        self.text = text
        self.ascii = text.isascii()
        self.offsets: list[int] | None = None

    def byte(self, index: int) -> int:
        if self.ascii:
            return index
        if self.offsets is None:
            acc, offsets = 0, [0]
            for ch in self.text:
                acc += len(ch.encode("utf-8", "surrogateescape"))
                offsets.append(acc)
            self.offsets = offsets
        return self.offsets[index]


def _decode(c: Compiled, subj: bytes, pos: int) -> tuple[_Text, int] | bytes:
    """The text of a subject and the char index of byte offset ``pos`` (or an error)."""
    try:
        text = _Text(subj.decode("utf-8", "strict" if c.strict_utf8 else "surrogateescape"))
    except UnicodeDecodeError as exc:
        return _exec_error(_UTF8_ERRORS.get(exc.reason, -22))
    if pos == 0 or text.ascii:
        return text, pos
    try:
        return text, len(subj[:pos].decode("utf-8", "strict" if c.strict_utf8 else "surrogateescape"))
    except UnicodeDecodeError:
        return _exec_error(_BADUTFOFFSET)


def _captures(c: Compiled, m: Any, text: _Text | None) -> tuple[Any, ...]:
    """Group 0..n of a match as Lua values: bytes, or ``False`` for an unset group."""
    groups = (m.group(0),) if c.dfa else (m.group(0), *m.groups())
    if text is None:
        return tuple(False if g is None else g for g in groups)
    return tuple(False if g is None else g.encode("utf-8", "surrogateescape") for g in groups)


def _parse_template(template: bytes) -> list[bytes | int] | None:
    """OpenResty's replacement template: ``$$``, ``$N``, ``${N}``; anything else after
    ``$`` (names included) makes it invalid (``None``)."""
    parts: list[bytes | int] = []
    i, n = 0, len(template)
    while i < n:
        j = template.find(b"$", i)
        if j < 0:
            parts.append(template[i:])
            break
        if j > i:
            parts.append(template[i:j])
        j += 1
        if j >= n:
            return None
        if template[j : j + 1] == b"$":
            parts.append(b"$")
            i = j + 1
            continue
        braced = template[j : j + 1] == b"{"
        if braced:
            j += 1
        k = j
        while k < n and 48 <= template[k] <= 57:
            k += 1
        if k == j:
            return None  # no number: a name or nothing, both refused
        parts.append(int(template[j:k]))
        if braced:
            if template[k : k + 1] != b"}":
                return None
            k += 1
        i = k
    return parts


#: PCRE's answer when its match limit is reached (``lua_regex_match_limit``)
MATCH_LIMIT_ERROR = b"pcre_exec() failed: -8"
#: wall-clock seconds one match may take in a trusted runtime (PCRE's default match
#: limit, 10 million backtracking steps, is about that much work)
TRUSTED_MATCH_TIMEOUT = 1.0


def match_timeout(host: LuaHost) -> float:
    """The match limit of ``host``'s ``ngx.re``: Python's ``regex`` engine has no step
    counter, so the limit is its ``timeout=`` (checked while it backtracks): a sandboxed
    runtime's CPU budget, else :data:`TRUSTED_MATCH_TIMEOUT`."""
    limits = getattr(host, "limits", None)
    budget = getattr(limits, "budget_ms", None)
    return budget / 1000 if budget else TRUSTED_MATCH_TIMEOUT


def backing(host: LuaHost) -> dict[str, Any]:
    timeout = match_timeout(host)
    compiled: dict[int, Compiled] = {}
    ids: dict[tuple[bytes, int], int] = {}
    templates: dict[bytes, list[bytes | int] | None] = {}
    next_id = [1]
    table_from = host.runtime.table_from

    def compile(pattern: bytes, flags: int) -> tuple[Any, ...]:
        key = (pattern, flags)
        rid = ids.get(key)
        if rid is None:
            try:
                c = compile_pattern(pattern, int(flags))
            except CompileError as err:
                return None, error_text(pattern, err, bool(flags & 32))
            rid = next_id[0]
            next_id[0] += 1
            compiled[rid] = c
            ids[key] = rid
        c = compiled[rid]
        names = None
        if c.names:
            names = table_from(
                {
                    name.encode(): idx[0] if len(idx) == 1 and not flags & 64 else table_from(idx)
                    for name, idx in c.names.items()
                }
            )
        return rid, c.ncap, names

    def flush() -> None:
        compiled.clear()
        ids.clear()
        templates.clear()

    def first(c: Compiled, subj: bytes, pos: int) -> tuple[Any, _Text | None] | bytes:
        """The first match at or after byte offset ``pos`` (None), or an error text."""
        if pos > len(subj):
            return _exec_error(_BADOFFSET)
        try:
            if not c.utf8:
                rx = c.regex
                if c.anchored:
                    return rx.match(subj, pos, timeout=timeout), None
                return rx.search(subj, pos, timeout=timeout), None
            decoded = _decode(c, subj, pos)
            if isinstance(decoded, bytes):
                return decoded
            text, start = decoded
            rx = c.regex
            if c.anchored:
                return rx.match(text.text, start, timeout=timeout), text
            return rx.search(text.text, start, timeout=timeout), text
        except TimeoutError:
            return MATCH_LIMIT_ERROR

    def exec(rid: int, subj: bytes, pos: int) -> Any:
        c = compiled.get(rid)
        if c is None:
            return False
        found = first(c, subj, int(pos))
        if found.__class__ is bytes:
            return found
        m, text = found
        if m is None:
            return None
        if text is None:
            return (m.start(), m.end(), *_captures(c, m, None))
        return (text.byte(m.start()), text.byte(m.end()), *_captures(c, m, text))

    def find(rid: int, subj: bytes, pos: int, nth: int) -> Any:
        c = compiled.get(rid)
        if c is None:
            return False
        found = first(c, subj, int(pos))
        if found.__class__ is bytes:
            return found
        m, text = found
        if m is None:
            return None
        s0, e0 = m.span()
        sn, en = m.span(nth) if nth else (s0, e0)
        if text is not None:
            s0, e0 = text.byte(s0), text.byte(e0)
            if sn >= 0:
                sn, en = text.byte(sn), text.byte(en)
        return s0, e0, sn, en

    def matches(c: Compiled, subj: bytes, global_: bool) -> tuple[list[Any], _Text | None] | bytes:
        """Every match (or the first), as ngx.re.gsub walks them (after an empty match
        the next search starts one character further)."""
        if not c.utf8:
            text, target, end = None, subj, len(subj)
        else:
            decoded = _decode(c, subj, 0)
            if isinstance(decoded, bytes):
                return decoded
            text = decoded[0]
            target, end = text.text, len(text.text)
        rx, out, pos = c.regex, [], 0
        while True:
            try:
                m = (
                    rx.match(target, pos, timeout=timeout)
                    if c.anchored
                    else rx.search(target, pos, timeout=timeout)
                )
            except TimeoutError:
                return MATCH_LIMIT_ERROR
            if m is None:
                break
            out.append(m)
            s, e = m.span()
            pos = e + 1 if s == e else e
            if not global_ or pos > end:
                break
        return out, text

    def sub(rid: int, subj: bytes, template: bytes, global_: bool) -> Any:
        c = compiled.get(rid)
        if c is None:
            return False
        if template in templates:
            parts = templates[template]
        else:
            parts = _parse_template(template)
            if len(templates) >= _TEMPLATE_CACHE:
                templates.clear()
            templates[template] = parts
        if parts is None:
            return None, None, b"failed to compile the replacement template"
        found = matches(c, subj, bool(global_))
        if found.__class__ is bytes:
            return None, None, found
        ms, text = found
        if not ms:
            return subj, 0
        pieces: list[bytes] = []
        cut = 0
        for m in ms:
            groups = _captures(c, m, text)
            s0, e0 = (m.start(), m.end()) if text is None else (text.byte(m.start()), text.byte(m.end()))
            pieces.append(subj[cut:s0])
            for part in parts:
                if part.__class__ is int:
                    value = groups[part] if part < len(groups) else False
                    if value:
                        pieces.append(value)
                else:
                    pieces.append(part)
            cut = e0
        pieces.append(subj[cut:])
        return b"".join(pieces), len(ms)

    def scan(rid: int, subj: bytes, global_: bool) -> Any:
        """All matches flattened for a replacement function: s0, e0, cap0..capN, ..."""
        c = compiled.get(rid)
        if c is None:
            return False
        found = matches(c, subj, bool(global_))
        if found.__class__ is bytes:
            return found
        ms, text = found
        if not ms:
            return None
        flat: list[Any] = []
        for m in ms:
            if text is None:
                flat.extend((m.start(), m.end()))
            else:
                flat.extend((text.byte(m.start()), text.byte(m.end())))
            flat.extend(_captures(c, m, text))
        return table_from(flat)

    return {"compile": compile, "flush": flush, "exec": exec, "find": find, "sub": sub, "scan": scan}
