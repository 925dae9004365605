"""PCRE patterns for the ``regex`` module: the translation behind ``ngx.re``.

OpenResty compiles ``ngx.re`` patterns with PCRE2; Moongate runs them with the ``regex``
package, which already speaks most of PCRE (possessive quantifiers, atomic groups,
``(?<name>...)``, POSIX classes, ``\\K``, recursion, branch reset).  :func:`translate`
rewrites what differs, walking the pattern once:

* ``\\z`` / ``\\Z`` (Python's ``\\Z`` is PCRE's ``\\z``), ``\\Q...\\E``, ``\\x{...}``,
  ``\\o{...}``, ``\\e``, ``\\cX``, ``\\N``, ``\\v`` / ``\\V`` (vertical space in PCRE);
* named groups become unique internal names (``_<k>_<name>``) so that duplicate names
  (flag ``D``) keep their own numbers as in PCRE, and references to them are renamed;
* quantifiers above 65535 are refused as PCRE does (``regex`` would try to allocate them);
* in UTF-8 mode (flag ``u``) ``\\w \\d \\s \\b`` and POSIX classes stay ASCII-only, as
  PCRE without ``UCP`` keeps them.

Bytes patterns are translated as latin-1 text (one character per byte) so one walker
serves both modes; :func:`compile_pattern` reports failures with PCRE2's wording.
"""

from __future__ import annotations

import regex

__all__ = ["Compiled", "CompileError", "compile_pattern", "error_text", "translate"]

#: ngx.re option bits (set by the Lua side from the option string)
CASELESS, MULTILINE, DOTALL, EXTENDED, ANCHORED, UTF8 = 1, 2, 4, 8, 16, 32
DUPNAMES, DFA, JAVASCRIPT, NO_UTF8_CHECK = 64, 128, 256, 512

MAX_QUANTIFIER = 65535

# PCRE's default character tables are ASCII: in UTF-8 mode (where ``regex`` would use
# Unicode) classes are spelled out as ASCII code point sets
def _codes(*spans: str) -> frozenset[int]:
    out: set[int] = set()
    for span in spans:
        lo, _, hi = span.partition("-") if len(span) == 3 else (span, "", span)
        out.update(range(ord(lo), ord(hi) + 1))
    return frozenset(out)


_POSIX = {
    "alpha": _codes("a-z", "A-Z"), "digit": _codes("0-9"), "alnum": _codes("a-z", "A-Z", "0-9"),
    "upper": _codes("A-Z"), "lower": _codes("a-z"), "space": _codes("\t-\r", " "),
    "blank": _codes(" ", "\t"), "xdigit": _codes("0-9", "a-f", "A-F"),
    "word": _codes("a-z", "A-Z", "0-9", "_"), "cntrl": _codes("\x00-\x1f", "\x7f"),
    "punct": _codes("!-/", ":-@", "[-`", "{-~"), "graph": _codes("!-~"), "print": _codes(" -~"),
    "ascii": _codes("\x00-\x7f"),
}
_SHORT = {"d": "digit", "w": "word", "s": "space"}


def _render(codes: frozenset[int], negated: bool) -> str:
    """Code points as class ranges (the complement up to U+10FFFF when negated)."""
    if negated:
        codes = frozenset(set(range(0x80)) - codes)
    spans: list[tuple[int, int]] = []
    for cp in sorted(codes):
        if spans and spans[-1][1] == cp - 1:
            spans[-1] = (spans[-1][0], cp)
        else:
            spans.append((cp, cp))
    text = "".join(f"\\x{a:02x}" if a == b else f"\\x{a:02x}-\\x{b:02x}" for a, b in spans)
    return text + ("\\x80-\\U0010ffff" if negated else "")


_ERRORS = {  # regex's message -> PCRE2's
    "missing )": "missing closing parenthesis",
    "unbalanced parenthesis": "unmatched closing parenthesis",
    "nothing to repeat": "quantifier does not follow a repeatable item",
    "multiple repeat": "quantifier does not follow a repeatable item",
    "unterminated character set": "missing terminating ] for character class",
    "min repeat greater than max repeat": "numbers out of order in {} quantifier",
    "bad escape (end of pattern)": "\\ at end of pattern",
    "bad character range": "range out of order in character class",
    "unknown group": "reference to non-existent subpattern",
    "invalid group reference": "reference to non-existent subpattern",
    "unknown extension": "unrecognized character after (? or (?-",
    "unknown property": "unknown property after \\P or \\p",
    "missing >": "syntax error in subpattern name (missing terminator?)",
    "missing group name": "subpattern name expected",
    "bad character in group name": "syntax error in subpattern name (missing terminator?)",
}
_AT_END = {"missing closing parenthesis", "missing terminating ] for character class", "\\ at end of pattern"}


class CompileError(Exception):
    """A pattern PCRE would refuse: ``msg`` in PCRE2's words, ``pos`` in the pattern."""

    def __init__(self, msg: str, pos: int) -> None:
        super().__init__(msg)
        self.msg = msg
        self.pos = pos


class Compiled:
    """One compiled ``ngx.re`` pattern and what the Lua side needs to know about it."""

    __slots__ = ("regex", "ncap", "names", "utf8", "strict_utf8", "anchored", "dfa")

    def __init__(self, rx: regex.Pattern, names: dict[str, list[int]], flags: int) -> None:
        self.regex = rx
        self.dfa = bool(flags & DFA)
        self.ncap = 0 if self.dfa else rx.groups
        self.names = {} if self.dfa else names
        self.utf8 = bool(flags & UTF8)
        self.strict_utf8 = self.utf8 and not flags & NO_UTF8_CHECK
        self.anchored = bool(flags & ANCHORED)


class _Walker:
    """One pass over a PCRE pattern (as text), producing the ``regex`` pattern."""

    def __init__(self, src: str, utf8: bool, extended: bool, dupnames: bool) -> None:
        self.src, self.utf8, self.extended, self.dupnames = src, utf8, extended, dupnames
        self.out: list[str] = []
        self.origin: list[int] = []      # output index -> source index (error offsets)
        self.groups = 0                  # capture groups opened so far
        self.names: dict[str, list[str]] = {}  # PCRE name -> internal names, in order
        self.forward: dict[str, str] = {}      # names referenced before their group
        self.counter = 0

    def emit(self, text: str, at: int) -> None:
        self.out.append(text)
        self.origin.extend([at] * len(text))

    def internal_name(self, name: str) -> str:
        self.counter += 1
        return f"_{self.counter}_{name}"

    # -- the walk --------------------------------------------------------------------
    def run(self) -> str:
        src, n, i = self.src, len(self.src), 0
        while i < n:
            c = src[i]
            if c == "\\":
                i = self.escape(i)
            elif c == "[":
                i = self.char_class(i)
            elif c == "(":
                i = self.group(i)
            elif c == "{":
                i = self.quantifier(i)
            elif c == "#" and self.extended:
                end = src.find("\n", i)
                end = n if end < 0 else end + 1
                self.emit(src[i:end], i)
                i = end
            else:
                self.emit(c, i)
                i += 1
        if self.forward:
            raise CompileError("reference to non-existent subpattern", n)
        return "".join(self.out)

    # -- escapes ---------------------------------------------------------------------
    def char_escape(self, i: int) -> tuple[str | None, int]:
        """A ``\\`` escape standing for one character: (regex text, next index) or None."""
        src = self.src
        c = src[i + 1]
        if c in "xo" and src[i + 2:i + 3] == "{":
            end = src.find("}", i + 3)
            try:
                value = int(src[i + 3:end] if end > 0 else "", 16 if c == "x" else 8)
            except ValueError:
                kind = "non-hex character in \\x{}" if c == "x" else "non-octal character in \\o{}"
                raise CompileError(kind + " (closing brace missing?)", i) from None
            if value > (0x10FFFF if self.utf8 else 0xFF):
                raise CompileError("character code point value in \\x{} or \\o{} is too large", i)
            return (f"\\x{value:02x}" if value <= 0xFF else f"\\U{value:08x}"), end + 1
        if c == "e":
            return "\\x1b", i + 2
        if c == "c":
            if i + 2 >= len(src):
                raise CompileError("\\c at end of pattern", i)
            ch = src[i + 2]
            if not " " <= ch <= "~":
                raise CompileError("\\c must be followed by a printable ASCII character", i)
            return f"\\x{ord(ch.upper()) ^ 0x40:02x}", i + 3
        return None, i

    def quoted(self, i: int, in_class: bool) -> int:
        """``\\Q...\\E``: everything up to ``\\E`` is literal."""
        end = self.src.find("\\E", i + 2)
        stop = len(self.src) if end < 0 else end
        text = self.src[i + 2:stop]
        if in_class:
            self.emit("".join(ch if ch.isalnum() else "\\" + ch for ch in text), i)
        else:
            self.emit(regex.escape(text, special_only=False), i)
        return stop if end < 0 else end + 2

    def escape(self, i: int) -> int:
        src = self.src
        if i + 1 >= len(src):
            raise CompileError("\\ at end of pattern", len(src))
        c = src[i + 1]
        text, nxt = self.char_escape(i)
        if text is not None:
            self.emit(text, i)
            return nxt
        if c == "Q":
            return self.quoted(i, False)
        if c == "E":
            return i + 2
        simple = {"z": "\\Z", "Z": "(?=\\n?\\Z)", "N": "[^\\n]"}
        if c in simple and not (c == "N" and src[i + 2:i + 3] == "{"):
            self.emit(simple[c], i)
            return i + 2
        if c in "vV":
            vert = "\\n\\x0b\\f\\r\\x85" + ("\\u2028\\u2029" if self.utf8 else "")
            self.emit(f"[{'^' if c == 'V' else ''}{vert}]", i)
            return i + 2
        if self.utf8 and c in "wWdDsSbB":
            self.emit(f"(?a:\\{c})", i)
            return i + 2
        if c in "kg":
            return self.reference(i)
        self.emit(src[i:i + 2], i)
        return i + 2

    def reference(self, i: int) -> int:
        """``\\k<n>``, ``\\k'n'``, ``\\k{n}``, ``\\g{n}``, ``\\gN``, ``\\g{-N}``, ``\\g<n>``."""
        kind = self.src[i + 1]
        m = _REFERENCE.match(self.src, i + 2)
        if not m or (kind == "k" and m.group(4)):
            if kind == "k":
                raise CompileError("\\k is not followed by a braced, angle-bracketed, or quoted name", i + 2)
            raise CompileError("\\g is not followed by a braced, angle-bracketed, or quoted name/number "
                               "or by a plain number", i + 2)
        ref = next(g for g in m.groups() if g is not None)
        subroutine = kind == "g" and m.group(0)[0] in "<'"
        if ref.lstrip("-+").isdigit():
            num = int(ref)
            if ref[0] in "-+":
                num = self.groups + 1 + num if ref[0] == "-" else self.groups + num
            if num <= 0:
                raise CompileError("reference to non-existent subpattern", i)
            text = f"(?{num})" if subroutine else f"(?:\\{num})"
        else:
            name = self.lookup(ref)
            text = f"(?&{name})" if subroutine else f"(?P={name})"
        self.emit(text, i)
        return m.end()

    def lookup(self, name: str) -> str:
        """The internal name a reference to ``name`` uses (its first group's)."""
        defined = self.names.get(name)
        if defined:
            return defined[0]
        if name not in self.forward:
            self.forward[name] = self.internal_name(name)
        return self.forward[name]

    # -- character classes -----------------------------------------------------------
    def char_class(self, i: int) -> int:
        src, n = self.src, len(self.src)
        self.emit("[", i)
        j = i + 1
        if src[j:j + 1] == "^":
            self.emit("^", j)
            j += 1
        first = True
        while True:
            if j >= n:
                raise CompileError("missing terminating ] for character class", n)
            c = src[j]
            if c == "]" and not first:
                self.emit("]", j)
                return j + 1
            first = False
            if c == "[":
                m = _POSIX_CLASS.match(src, j)
                if m:
                    self.posix(m.group(2), bool(m.group(1)), j)
                    j = m.end()
                    continue
                self.emit("\\[", j)
                j += 1
            elif c == "\\":
                j = self.class_escape(j)
            elif c in "&|~":
                self.emit("\\" + c, j)
                j += 1
            else:
                self.emit(c, j)
                j += 1

    def class_escape(self, j: int) -> int:
        src = self.src
        if j + 1 >= len(src):
            raise CompileError("\\ at end of pattern", len(src))
        c = src[j + 1]
        text, nxt = self.char_escape(j)
        if text is not None:
            self.emit(text, j)
            return nxt
        if c == "Q":
            return self.quoted(j, True)
        if c == "E":
            return j + 2
        if c == "N":
            raise CompileError("\\N is not supported in a class", j)
        if c == "v":
            self.emit("\\n\\x0b\\f\\r\\x85", j)
            return j + 2
        if self.utf8 and c.lower() in _SHORT:
            self.emit(_render(_POSIX[_SHORT[c.lower()]], c.isupper()), j)
            return j + 2
        self.emit(src[j:j + 2], j)
        return j + 2

    def posix(self, name: str, negated: bool, at: int) -> None:
        if name not in _POSIX:
            raise CompileError("unknown POSIX class name", at)
        if self.utf8:
            self.emit(_render(_POSIX[name], negated), at)
        else:
            self.emit(f"[:{'^' if negated else ''}{name}:]", at)

    # -- groups and quantifiers ------------------------------------------------------
    def group(self, i: int) -> int:
        src = self.src
        nxt = src[i + 1:i + 2]
        if nxt not in ("?", "*"):
            self.groups += 1
            self.emit("(", i)
            return i + 1
        m = _NAMED_GROUP.match(src, i)
        if m:
            return self.named_group(m.group(1), i, m.end())
        m = _NAMED_CALL.match(src, i)
        if m:
            op = "(?P=" if m.group(1) == "P=" else "(?&"
            self.emit(f"{op}{self.lookup(m.group(2))})", i)
            return m.end()
        m = _NAMED_CONDITION.match(src, i)
        if m:
            name = m.group(1) or m.group(2) or m.group(3)
            if m.group(3) is None or name in self.names:
                self.emit(f"(?({self.lookup(name)})", i)
                return m.end()
        if src.startswith("(?#", i):
            end = src.find(")", i)
            if end < 0:
                raise CompileError("missing ) after (?# comment", len(src))
            return end + 1
        self.emit("(", i)
        return i + 1

    def named_group(self, name: str, start: int, after: int) -> int:
        if not name:
            raise CompileError("subpattern name expected", after - 1)
        if name[0].isdigit():
            raise CompileError("subpattern name must start with a non-digit", start + 3)
        if len(name) > 128:
            raise CompileError("subpattern name is too long (maximum 128 code units)", after - 1)
        self.groups += 1
        defined = self.names.get(name)
        if defined and not self.dupnames:
            raise CompileError("two named subpatterns have the same name (PCRE2_DUPNAMES not set)", after - 1)
        chosen = self.forward.pop(name, None) or self.internal_name(name)
        self.names.setdefault(name, []).append(chosen)
        self.emit(f"(?P<{chosen}>", start)
        return after

    def quantifier(self, i: int) -> int:
        m = _QUANTIFIER.match(self.src, i)
        if m and (m.group(1) or m.group(2)):
            for num in m.groups():
                if num and int(num) > MAX_QUANTIFIER:
                    raise CompileError("number too big in {} quantifier", m.end() - 1)
            self.emit(m.group(0), i)
            return m.end()
        self.emit("\\{", i)
        return i + 1


_REFERENCE = regex.compile(r"\{([-+]?\d+|\w+)\}|<([-+]?\d+|\w+)>|'([-+]?\d+|\w+)'|([-+]?\d+)")
_POSIX_CLASS = regex.compile(r"\[:(\^?)([a-z]+):\]")
_NAMED_GROUP = regex.compile(r"\(\?(?:P?<(?![=!])|')(\w*)[>']")
_NAMED_CALL = regex.compile(r"\(\?(P=|P>|&)(\w+)\)")
_NAMED_CONDITION = regex.compile(r"\(\?\((?:<(\w+)>|'(\w+)'|([A-Za-z_]\w*))\)")
_QUANTIFIER = regex.compile(r"\{(\d*)(?:,(\d*))?\}")


def translate(pattern: str, utf8: bool, extended: bool, dupnames: bool) -> tuple[str, dict[str, list[str]], list[int]]:
    """The ``regex`` text for a PCRE pattern, its names (PCRE name -> internal names)
    and the output -> source offset map."""
    walker = _Walker(pattern, utf8, extended, dupnames)
    text = walker.run()
    return text, walker.names, walker.origin


def compile_pattern(pattern: bytes, flags: int) -> Compiled:
    """Compile an ``ngx.re`` pattern; :class:`CompileError` when PCRE would refuse it."""
    utf8 = bool(flags & UTF8)
    if utf8:
        try:
            src = pattern.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise CompileError("UTF-8 error: isolated byte with 0x80 bit set", exc.start) from None
    else:
        src = pattern.decode("latin-1")
    text, names, origin = translate(src, utf8, bool(flags & EXTENDED), bool(flags & DUPNAMES))
    rflags = 0
    if flags & CASELESS:
        rflags |= regex.IGNORECASE
    if flags & MULTILINE:
        rflags |= regex.MULTILINE
    if flags & DOTALL:
        rflags |= regex.DOTALL
    if flags & EXTENDED:
        rflags |= regex.VERBOSE
    if flags & DFA:
        rflags |= regex.POSIX   # leftmost-longest, as PCRE's DFA matcher answers
    try:
        rx = regex.compile(text if utf8 else text.encode("latin-1"), rflags)
    except regex.error as exc:
        msg = _ERRORS.get(exc.msg, exc.msg)
        if exc.msg.startswith("bad escape \\"):
            msg = "unrecognized character follows \\"
        pos = len(src) if msg in _AT_END or exc.pos is None or exc.pos >= len(origin) else origin[exc.pos]
        raise CompileError(msg, pos) from None
    except (OverflowError, RecursionError, ValueError, MemoryError) as exc:
        raise CompileError(f"regular expression is too large ({exc})", len(src)) from None
    index = rx.groupindex
    numbered = {name: sorted(index[n] for n in internal) for name, internal in names.items()}
    return Compiled(rx, numbered, flags)


def error_text(pattern: bytes, err: CompileError, utf8: bool) -> bytes:
    """OpenResty's message for a pattern that failed to compile."""
    pos = err.pos
    if utf8:
        text = pattern.decode("utf-8", "surrogateescape")
        pos = len(text[:pos].encode("utf-8", "surrogateescape"))
    head = b'pcre2_compile() failed: ' + err.msg.encode() + b' in "' + pattern + b'"'
    if pos >= len(pattern):
        return head
    return head + b' at "' + pattern[pos:] + b'"'
