"""Sample times, exactly as recorded: numbers (integers kept as integers) and ISO 8601 text
(each line's precision, separator and zone as written), in any order.

:class:`Times` is what a reader hands the writer and what a decoder gives back; its
``seconds`` (float64, seconds since 1970 for ISO times) serve ordering, plots and the HiPPO
steps, while the exact form is what a file stores and what is written back.

An ISO time is parsed against a **template**: its text with every digit of the date, time and
fraction replaced by ``#``, the zone (``Z``, ``+05:30``, ``+0530``, ``+05``) kept as written.
Accepted forms (``docs/format.md``, "ISO times")::

    ####-##-##                                  a date
    ####-##-##<T or space>##:##[:##[<. or ,>#{1,9}]]   a date and time
    either followed by nothing, Z, or +hh, +hhmm, +hh:mm (or -)

Writing back fills the template with the local time (the instant plus the zone's offset).

Times in another layout (``10/03/2004 18.00.00``) are read with a ``time_format`` in
strptime's words (``%d/%m/%Y %H.%M.%S``: zero-padded fields, no zone) and kept in a
**field template**, the text with its digits replaced by the letters of their field
(``DD/MM/YYYY hh.mm.ss``; ``YYYY``, ``MM``, ``DD``, ``hh``, ``mm``, ``ss``, ``f`` per
fraction digit), in local time without a zone. Everything here is pure numpy and integer
arithmetic: no pandas, no time zone database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

#: How a time column is stored in a frame's time part (``docs/format.md``, "Time part").
T_INT, T_DECIMAL, T_RAW, T_ISO, T_TEXT = 0, 1, 2, 3, 4
NANOS = 10**9
#: The template grammar: date, optional time (minutes, seconds, fraction), zone.
_TEMPLATE = re.compile(r"####-##-##(?:([T ])##:##(?::##(?:([.,])(#{1,9}))?)?)?"
                       r"(Z|[+-]\d\d(?::?\d\d)?)?")
_ISO_TEXT = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?)?"
                       r"(?:Z|[+-]\d\d(?::?\d\d)?)?")
_MAX_SECONDS = 253402300800  # 10000-01-01T00:00:00Z: years 0000-9999 only
#: A field template: runs of these letters are the digits of a field, other characters are
#: written as they are (no digit, ``#``, ``%`` or field letter among them).
_FIELD_RUN = re.compile(r"Y+|M+|D+|h+|m+|s+|f+")
_FIELD_ORDER = {"Y": (0, 4), "M": (1, 2), "D": (2, 2), "h": (3, 2), "m": (4, 2), "s": (5, 2),
                "f": (6, 0)}
#: strptime directives a time format may use, and the letters of their digits.
_DIRECTIVES = {"Y": "YYYY", "m": "MM", "d": "DD", "H": "hh", "M": "mm", "S": "ss"}


@dataclass
class Times:
    """The times of n samples.

    ``seconds`` float64 (n,): the value (numbers) or seconds since 1970-01-01 UTC (ISO).
    Numbers: ``ints`` int64 (n,) when every time is an integer (kept exactly, beyond 2^53
    too), else None. ISO: ``ints`` the whole seconds since 1970 (UTC), ``nanos`` int64 (n,)
    the fraction in nanoseconds, ``fmt`` int32 (n,) the index of each time's template in
    ``templates``.
    """

    seconds: np.ndarray
    ints: np.ndarray | None = None
    nanos: np.ndarray | None = None
    fmt: np.ndarray | None = None
    templates: list[str] | None = None

    @property
    def iso(self) -> bool:
        return self.templates is not None

    def __len__(self) -> int:
        return len(self.seconds)

    def __getitem__(self, rows) -> Times:
        """The times of ``rows`` (a slice, indices or a boolean mask)."""
        def pick(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[rows]

        return Times(self.seconds[rows], pick(self.ints), pick(self.nanos), pick(self.fmt),
                     self.templates)

    @classmethod
    def numbers(cls, values: np.ndarray) -> Times:
        """Numeric times: int64 values stay integers, float64 ones are taken as they are."""
        values = np.asarray(values)
        if values.dtype.kind in "iu":
            ints = values.astype(np.int64)
            return cls(ints.astype(np.float64), ints)
        return cls(np.asarray(values, dtype=np.float64))

    @classmethod
    def join(cls, parts: list[Times]) -> Times:
        """One Times of consecutive ``parts`` (ISO templates merged)."""
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls(np.empty(0))
        if len(parts) == 1:
            return parts[0]
        seconds = np.concatenate([p.seconds for p in parts])
        if not parts[0].iso:
            if all(p.ints is not None for p in parts):
                return cls(seconds, np.concatenate([p.ints for p in parts]))
            return cls(seconds)
        templates: list[str] = []
        fmts = []
        for p in parts:
            remap = np.array([_index_of(templates, t) for t in p.templates], np.int32)
            fmts.append(remap[p.fmt])
        return cls(seconds, np.concatenate([p.ints for p in parts]),
                   np.concatenate([p.nanos for p in parts]), np.concatenate(fmts), templates)

    def steps_back(self) -> int:
        """How many times are not after the one before them (repeats and steps back)."""
        return int(np.count_nonzero(np.diff(self.seconds) <= 0)) if len(self) > 1 else 0

    def text(self) -> list[str]:
        """Each time as written: ISO text in its template, integers as integers, other
        numbers as the shortest text that reads back to the same float64."""
        if self.iso:
            return format_iso(self)
        if self.ints is not None:
            return [str(v) for v in self.ints.tolist()]
        return [str(int(v)) if v.is_integer() and abs(v) < 2**53 else repr(v)
                for v in self.seconds.tolist()]


def seconds_of(secs: np.ndarray, nanos: np.ndarray) -> np.ndarray:
    """float64 seconds of whole seconds and nanoseconds: the nanosecond count as a float64,
    divided by 10^9 (what pandas and numpy compute from datetime64[ns]), where it fits in 64
    bits; seconds plus fraction beyond (years outside 1678-2261)."""
    secs = np.asarray(secs, np.int64)
    if len(secs) == 0 or np.abs(secs).max() < 9 * 10**9:
        return (secs * NANOS + nanos).astype(np.float64) / 1e9
    return secs + nanos / NANOS


def _index_of(items: list[str], item: str) -> int:
    try:
        return items.index(item)
    except ValueError:
        items.append(item)
        return len(items) - 1


# --------------------------------------------------------------------------- ISO text
def template_of(text: str) -> str | None:
    """The template of one ISO time (digits of date, time and fraction as ``#``, the zone as
    written), or None if ``text`` is not one of the accepted forms."""
    text = text.strip()
    if not _ISO_TEXT.fullmatch(text):
        return None
    zone = re.search(r"(Z|[+-]\d\d(?::?\d\d)?)$", text) if len(text) > 10 else None
    if zone is not None and zone.start() < 10:  # "-dd" inside the date is not a zone
        zone = None
    body = text[:zone.start()] if zone else text
    return re.sub(r"\d", "#", body) + (zone.group(0) if zone else "")


@dataclass(frozen=True)
class _Layout:
    """Where the fields of a template are: (start, length) of year, month, day, hour,
    minute, second, fraction (length 0: absent), and the zone's offset in seconds."""

    fields: tuple[tuple[int, int], ...]
    offset: int


def _layout(template: str) -> _Layout:
    m = _TEMPLATE.fullmatch(template)
    if m is None:
        return _field_layout(template)
    sep, _, frac = m.group(1), m.group(2), m.group(3)
    fields = [(0, 4), (5, 2), (8, 2)]
    if sep is None:
        fields += [(0, 0)] * 4
    else:
        fields += [(11, 2), (14, 2)]
        has_sec = len(template) > 16 and template[16] == ":"
        fields.append((17, 2) if has_sec else (0, 0))
        fields.append((20, len(frac)) if frac else (0, 0))
    zone = m.group(4) or ""
    offset = 0
    if zone and zone != "Z":
        digits = zone[1:].replace(":", "")
        hours, minutes = int(digits[:2]), int(digits[2:4] or 0)
        if hours > 23 or minutes > 59:
            raise ValueError(f"not a time zone offset: {zone!r}")
        offset = (1 if zone[0] == "+" else -1) * (hours * 3600 + minutes * 60)
    return _Layout(tuple(fields), offset)


def _field_layout(template: str) -> _Layout:
    """The layout of a field template (``DD/MM/YYYY hh.mm.ss``); ValueError if it is not
    one: each field at most once with its width (the fraction 1-9 digits), a year, month
    and day, an hour with any minute, a minute with any second, a second with any
    fraction."""
    if not template.isascii() or len(template) > 64:
        raise ValueError(f"not a time template: {template!r}")
    fields = [(0, 0)] * 7
    pos = 0
    for run in _FIELD_RUN.finditer(template):
        literal = template[pos:run.start()]
        if any(c.isdigit() or c in "#%" for c in literal):
            raise ValueError(f"not a time template: {template!r}")
        index, width = _FIELD_ORDER[run.group(0)[0]]
        length = len(run.group(0))
        if fields[index][1] or (width and length != width) or not (width or 1 <= length <= 9):
            raise ValueError(f"not a time template: {template!r}")
        fields[index] = (run.start(), length)
        pos = run.end()
    if any(c.isdigit() or c in "#%" for c in template[pos:]):
        raise ValueError(f"not a time template: {template!r}")
    have = [length > 0 for _, length in fields]
    if not all(have[:3]) or any(have[i + 1] and not have[i] for i in range(3, 6)):
        raise ValueError(f"not a time template: {template!r}")
    return _Layout(tuple(fields), 0)


def template_of_format(time_format: str, text: str) -> str | None:
    """The field template of ``text`` written in ``time_format`` (strptime's ``%Y %m %d
    %H %M %S`` zero-padded, ``%f`` 1-9 digits, ``%%``), or None when the text does not have
    that form. ValueError when the format has another directive or a field letter
    (``YMDhmsf``) among its literal characters."""
    for d in re.findall(r"%(.?)", time_format.replace("%%", "")):
        if d not in _DIRECTIVES and d != "f":  # said before any line is read against it
            raise ValueError(f"time format {time_format!r}: %{d} is not supported (%Y %m "
                             "%d %H %M %S %f)")
    out = []
    i = 0
    text = text.strip()
    k = 0
    while k < len(time_format):
        c = time_format[k]
        if c == "%":
            d = time_format[k + 1:k + 2]
            k += 2
            if d == "%":
                c = "%"
            elif d == "f":
                j = i
                while j < len(text) and j - i < 9 and text[j].isdigit():
                    j += 1
                if j == i:
                    return None
                out.append("f" * (j - i))
                i = j
                continue
            elif d in _DIRECTIVES:
                letters = _DIRECTIVES[d]
                piece = text[i:i + len(letters)]
                if len(piece) != len(letters) or not piece.isdigit():
                    return None
                out.append(letters)
                i += len(letters)
                continue
            else:
                raise ValueError(f"time format {time_format!r}: %{d} is not supported (%Y %m "
                                 "%d %H %M %S %f)")
        else:
            k += 1
        if c in "YMDhmsf#" or c.isdigit():
            raise ValueError(f"time format {time_format!r}: a literal {c!r} (one of the "
                             "field letters YMDhmsf, a digit or #)")
        if text[i:i + 1] != c:
            return None
        out.append(c)
        i += 1
    return "".join(out) if i == len(text) else None


def zone_of_template(template: str) -> tuple[str, int]:
    """(the zone as written, its offset from UTC in seconds) of a template (a field template
    has none: local time)."""
    m = _TEMPLATE.fullmatch(template)
    if m is None:
        _field_layout(template)
        return "", 0
    return m.group(4) or "", _layout(template).offset


def _days_from_civil(y: np.ndarray, m: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Days since 1970-01-01 of proleptic Gregorian dates (H. Hinnant's algorithm)."""
    y = y - (m <= 2)
    era = np.floor_divide(y, 400)
    yoe = y - era * 400
    doy = (153 * (m + np.where(m > 2, -3, 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def _civil_from_days(z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(year, month, day) of days since 1970-01-01 (the inverse of :func:`_days_from_civil`)."""
    z = z + 719468
    era = np.floor_divide(z, 146097)
    doe = z - era * 146097
    yoe = (doe - doe // 1460 + doe // 36524 - doe // 146096) // 365
    y = yoe + era * 400
    doy = doe - (365 * yoe + yoe // 4 - yoe // 100)
    mp = (5 * doy + 2) // 153
    d = doy - (153 * mp + 2) // 5 + 1
    m = mp + np.where(mp < 10, 3, -9)
    return y + (m <= 2), m, d


def _digits(matrix: np.ndarray, start: int, length: int) -> np.ndarray:
    """The integer of the ASCII digits at [start, start + length) of every row."""
    out = np.zeros(len(matrix), np.int64)
    for j in range(start, start + length):
        out = out * 10 + (matrix[:, j].astype(np.int64) - 48)
    return out


_DAYS_IN_MONTH = np.array([31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])


def parse_iso(texts: list[str], time_format: str | None = None
              ) -> tuple[Times | None, int | None]:
    """ISO times of ``texts`` (or, with ``time_format``, times in that layout:
    :func:`template_of_format`): (Times, None), or (None, index of the first text that is
    not an accepted time or names an impossible date or time)."""
    n = len(texts)
    stripped = [t.strip() for t in texts]
    templates: list[str] = []
    fmt = np.zeros(n, np.int32)
    todo = range(n)
    if time_format is None:
        template_for = template_of
    else:
        def template_for(text: str) -> str | None:
            return template_of_format(time_format, text)
    first = template_for(stripped[0]) if n else None
    if first is not None:  # most columns have one form: check every row at once
        same = _matches(stripped, first)
        templates.append(first)
        todo = np.flatnonzero(~same).tolist()
    # the previous row's template (with its field letters as #), its index, its zone's length
    last = ("", "", -1, 0)
    for i in todo:
        text = stripped[i]
        template, hashed, index, zone = last
        body = len(template) - zone
        if len(text) == len(template) and text[body:] == template[body:] and \
                text[:body].translate(_HASH_DIGITS) == hashed[:body]:
            fmt[i] = index  # the same form as the row before
            continue
        template = template_for(text)
        if template is None:
            return None, i
        iso = template.startswith("#")
        zone = len(template) - len(template.rstrip("Z+-:0123456789")) if iso else 0
        last = (template, template if iso else template.translate(_LETTERS_HASH),
                _index_of(templates, template), zone)
        fmt[i] = last[2]
    seconds = np.empty(n, np.int64)
    nanos = np.zeros(n, np.int64)
    for k, template in enumerate(templates):
        rows = np.flatnonzero(fmt == k)
        try:
            layout = _layout(template)
        except ValueError:
            return None, int(rows[0])
        width = len(template)
        matrix = np.frombuffer("".join(stripped[i] for i in rows).encode("ascii"),
                               np.uint8).reshape(len(rows), width)
        (ys, yl), (ms, ml), (ds, dl), (hs, hl), (mis, mil), (ss, sl), (fs, fl) = layout.fields
        year, month, day = (_digits(matrix, ys, yl), _digits(matrix, ms, ml),
                            _digits(matrix, ds, dl))
        hour, minute = _digits(matrix, hs, hl), _digits(matrix, mis, mil)
        second, frac = _digits(matrix, ss, sl), _digits(matrix, fs, fl)
        leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
        month_ok = (month >= 1) & (month <= 12)
        longest = _DAYS_IN_MONTH[np.clip(month - 1, 0, 11)] - ((month == 2) & ~leap)
        bad = ~month_ok | (day < 1) | (day > longest) | (hour > 23) | (minute > 59) | \
            (second > 59)
        if bad.any():
            return None, int(rows[int(np.argmax(bad))])
        days = _days_from_civil(year, month, day)
        seconds[rows] = days * 86400 + hour * 3600 + minute * 60 + second - layout.offset
        nanos[rows] = frac * 10 ** (9 - fl)
    return Times(seconds_of(seconds, nanos), seconds, nanos, fmt, templates), None


_HASH_DIGITS = str.maketrans("0123456789", "##########")
_LETTERS_HASH = str.maketrans("YMDhmsf", "#######")


def _matches(texts: list[str], template: str) -> np.ndarray:
    """Which of ``texts`` have exactly the form of ``template`` (digits where it has ``#`` or
    a field letter, its other characters elsewhere), all rows at once."""
    width = len(template)
    lengths = np.fromiter(map(len, texts), np.int64, len(texts))
    same = lengths == width
    if not same.any():
        return same
    rows = np.flatnonzero(same)
    try:
        blob = "".join(texts[i] for i in rows.tolist()).encode("ascii")
    except UnicodeEncodeError:
        return np.zeros(len(texts), bool)
    matrix = np.frombuffer(blob, np.uint8).reshape(len(rows), width)
    want = np.frombuffer(template.encode("ascii"), np.uint8)
    digit = (matrix >= 48) & (matrix <= 57)
    places = np.isin(want, np.frombuffer(b"#" if template.startswith("#") else b"YMDhmsf",
                                         np.uint8))
    ok = np.where(places, digit, matrix == want).all(axis=1)
    same[rows[~ok]] = False
    return same


def format_iso(times: Times) -> list[str]:
    """The ISO text of every time, in its template (the inverse of :func:`parse_iso`)."""
    out = [""] * len(times)
    for k, template in enumerate(times.templates):
        rows = np.flatnonzero(times.fmt == k)
        if not len(rows):
            continue
        layout = _layout(template)
        local = times.ints[rows] + layout.offset
        days, rest = np.divmod(local, 86400)
        year, month, day = _civil_from_days(days)
        values = [year, month, day, rest // 3600, rest // 60 % 60, rest % 60,
                  times.nanos[rows]]
        cols = []
        for field, ((start, length), v) in enumerate(zip(layout.fields, values)):
            if not length:
                continue
            if field == 6:  # the fraction: its leading digits
                v = v // 10 ** (9 - length)
            cols.append((start, length, v))
        chars = np.frombuffer(template.encode("ascii"), np.uint8)
        matrix = np.tile(chars, (len(rows), 1))
        for start, length, v in cols:
            for j in range(length - 1, -1, -1):
                matrix[:, start + j] = 48 + v % 10
                v = v // 10
        text = matrix.tobytes().decode("ascii")
        width = len(template)
        for i, r in enumerate(rows.tolist()):
            out[r] = text[i * width:(i + 1) * width]
    return out


# --------------------------------------------------------------------------- v1 patterns
def template_of_pattern(pattern: str) -> str:
    """The template of a version-1 header's ISO pattern (``<sep><unit><zone>``: separator
    ``T``, ``_`` or ``D``; unit ``m``, ``s``, ``3``, ``6``; zone as written)."""
    sep = pattern[:1]
    if sep == "D":
        return "####-##-##" + pattern[1:]
    unit, zone = pattern[1:2], pattern[2:]
    body = "####-##-##" + ("T" if sep == "T" else " ") + "##:##"
    body += {"m": "", "s": ":##", "3": ":##.###", "6": ":##.######"}.get(unit, ":##")
    return body + zone


# --------------------------------------------------------------------------- arrays
def from_array(times: object) -> Times:
    """A user's times: a :class:`Times`, integers (kept exact), floats, or numpy
    ``datetime64`` (ISO times without a zone, as many fraction digits as their unit)."""
    if isinstance(times, Times):
        return times
    a = np.asarray(times)
    if a.dtype.kind == "M":
        unit = np.datetime_data(a.dtype)[0]
        ns = a.astype("datetime64[ns]").astype(np.int64) if unit in ("ns", "ps", "fs", "as") \
            else None
        if ns is not None and unit != "ns" and not np.array_equal(
                a.astype("datetime64[ns]").astype(a.dtype), a):
            from ..errors import DataError

            raise DataError(f"times in {unit} that nanoseconds cannot hold exactly")
        if ns is None:
            us = a.astype("datetime64[us]").astype(np.int64)
            secs, frac = np.divmod(us, 10**6)
            nanos = frac * 1000
        else:
            secs, nanos = np.divmod(ns, NANOS)
        digits = {"s": 0, "ms": 3, "us": 6}.get(unit, 9 if unit not in ("m", "h", "D") else 0)
        template = "####-##-##T##:##:##" + ("." + "#" * digits if digits else "")
        if unit == "D":
            template = "####-##-##"
        elif unit in ("m", "h"):
            template = "####-##-##T##:##"
        return Times(seconds_of(secs, nanos), secs, nanos, np.zeros(len(a), np.int32),
                     [template])
    if a.dtype.kind in "iub":
        return Times.numbers(a.astype(np.int64))
    return Times.numbers(a.astype(np.float64))


def to_array(times: Times) -> np.ndarray:
    """numpy times: datetime64 (ISO: nanoseconds where they fit, else microseconds or
    seconds), int64 (integer numbers) or float64."""
    if not times.iso:
        return times.ints.copy() if times.ints is not None else times.seconds.copy()
    secs, nanos = times.ints, times.nanos
    if len(secs) == 0 or np.abs(secs).max() < 9 * 10**9:
        return (secs * NANOS + nanos).astype("datetime64[ns]")
    if not np.any(nanos % 1000):
        return (secs * 10**6 + nanos // 1000).astype("datetime64[us]")
    return secs.astype("datetime64[s]")


# --------------------------------------------------------------------------- time parts
def encode_part(times: Times, cadence: bool = False) -> bytes:
    """The time part of a frame (``docs/format.md``, "Time part"): integers, decimals or raw
    float64 for numbers; ticks and templates for ISO times (text if the ticks would not fit
    in 62 bits). ``cadence``: the time codec may use its mode 2 (format version 3)."""
    return encode_part_state(times, cadence)[0]


#: What the time part of a chained frame continues (format version 3, "Chained frames"): the
#: scale of the integers the time codec held (the part's kind and digits or unit) and the last
#: two of them in the stream, or None.
TimeChain = tuple


def _next_chain(scale: tuple, ints: np.ndarray, before: TimeChain | None) -> TimeChain | None:
    """The time chain after a part of integers ``ints`` (int64 (n,)) at ``scale``."""
    if len(ints) >= 2:
        return (scale, int(ints[-2]), int(ints[-1]))
    if len(ints) == 1 and before is not None and before[0] == scale:
        return (scale, before[2], int(ints[0]))
    return None


def encode_part_state(times: Times, cadence: bool = False, chain: TimeChain | None = None
                      ) -> tuple[bytes, TimeChain | None]:
    """:func:`encode_part`, continuing ``chain`` (a chained frame: the time codec may use its
    mode 3 when the part holds integers at the chain's scale), and the time chain after it."""
    from .channel import encode_times
    from .parts import varint

    def coded(head: bytes, scale: tuple, ints: np.ndarray) -> tuple[bytes, TimeChain | None]:
        before = chain[1:] if chain is not None and chain[0] == scale else None
        return head + encode_times(ints, cadence, before), _next_chain(scale, ints, chain)

    if times.iso:
        try:
            _check_printable(times)  # what the reader would refuse is never written
        except ValueError as err:
            from ..errors import DataError

            raise DataError(f"{err}: such times cannot be written as ISO text") from None
        used = np.unique(times.fmt)
        templates = [times.templates[i] for i in used.tolist()]
        fmt = np.searchsorted(used, times.fmt)
        k = max(_layout(t).fields[6][1] for t in templates)
        secs = times.ints
        if len(secs) and int(np.abs(secs).max()) * 10**k >= 2**62:
            import zlib

            field = next((t for t in templates if not t.startswith("#")), None)
            if field is not None:  # text without its template could not be read again
                from ..errors import DataError

                raise DataError(f"times written {field!r} with {k} fraction digits are stored "
                                f"as ticks of 10^-{k} s, which reach only years "
                                f"{1970 - int(2**62 // 10**k // 31556952)}-"
                                f"{1970 + int(2**62 // 10**k // 31556952)}: keep fewer "
                                "fraction digits, or write these times in ISO 8601")

            text = "".join(f"{t}\n" for t in format_iso(times)).encode("ascii")
            return bytes([T_TEXT]) + zlib.compress(text, 6), None
        ticks = secs * 10**k + times.nanos // 10 ** (9 - k)
        out = bytearray([T_ISO, k]) + varint(len(templates))
        for t in templates:
            raw = t.encode("ascii")
            out += varint(len(raw)) + raw
        cuts = np.flatnonzero(np.diff(fmt)) + 1
        starts, ends = np.r_[0, cuts], np.r_[cuts, len(fmt)]
        out += varint(len(starts))
        for s, e in zip(starts.tolist(), ends.tolist()):
            out += varint(e - s) + varint(int(fmt[s]))
        return coded(bytes(out), (T_ISO, k), ticks)
    if times.ints is not None:
        return coded(bytes([T_INT]), (T_INT, 0), times.ints)
    t = times.seconds
    with np.errstate(invalid="ignore", over="ignore"):
        for k in range(0, 10):
            scaled = np.round(t * 10.0**k)
            if np.all(np.abs(scaled) < 2.0**62):
                ints = scaled.astype(np.int64)
                if np.array_equal(ints / 10.0**k, t) if k else np.array_equal(ints, t):
                    head = bytes([T_INT]) if k == 0 else bytes([T_DECIMAL, k])
                    return coded(head, (T_INT, 0) if k == 0 else (T_DECIMAL, k), ints)
    return bytes([T_RAW]) + t.astype("<f8").tobytes(), None


def decode_part(part: bytes, n: int, iso_template: str | None = None,
                cadence: bool = False) -> Times:
    """The inverse of :func:`encode_part`; ``ValueError`` when the part is malformed.
    ``iso_template``: a version-1 file's ISO times (stored as seconds, kinds 0-2);
    ``cadence``: the time codec's mode 2 is allowed (format version 3), else it is damage."""
    return decode_part_state(part, n, iso_template, cadence)[0]


def decode_part_state(part: bytes, n: int, iso_template: str | None = None,
                      cadence: bool = False, chain: TimeChain | None = None,
                      chained: bool = False) -> tuple[Times, TimeChain | None]:
    """:func:`decode_part` of a part in a chained frame (``chained``: the time codec's mode 3
    continues ``chain`` if its scale is the part's, else it is damage), and the time chain
    after the part."""
    from .channel import decode_times
    from .parts import Cursor

    def ints_of(body: bytes, scale: tuple) -> np.ndarray:
        nonlocal after
        before = chain[1:] if chained and chain is not None and chain[0] == scale else None
        ints = decode_times(body, n, cadence, before, chained)
        after = _next_chain(scale, ints, chain)
        return ints

    after = None

    if not part:
        raise ValueError("empty time part")
    kind = part[0]
    if kind == T_ISO:
        cur = Cursor(part, 1)
        k = cur.take(1)[0]
        if k > 9:
            raise ValueError("ISO ticks finer than a nanosecond")
        count = cur.varint(max(n, 1))
        templates = [cur.text(64) for _ in range(count)]
        if count < 1 or len(set(templates)) != count:
            raise ValueError("no (or repeated) time templates")
        for t in templates:
            if _layout(t).fields[6][1] > k:
                raise ValueError("a time template finer than its ticks")
        fmt = np.empty(n, np.int32)
        pos = 0
        for _ in range(cur.varint(n)):
            length, index = cur.varint(n), cur.varint(count - 1)
            if length < 1 or pos + length > n:
                raise ValueError("template runs that do not cover the samples")
            fmt[pos:pos + length] = index
            pos += length
        if pos != n:
            raise ValueError("template runs that do not cover the samples")
        ticks = ints_of(part[cur.pos:], (T_ISO, k))
        secs, rest = np.divmod(ticks, 10**k)
        nanos = rest * 10 ** (9 - k)
        times = Times(seconds_of(secs, nanos), secs, nanos, fmt, templates)
        _check_printable(times)
        return times, after
    if kind == T_TEXT:
        import zlib

        d = zlib.decompressobj()
        try:
            text = d.decompress(part[1:], 65 * n + 1)
        except zlib.error as err:
            raise ValueError(f"text times do not decompress ({err})") from None
        lines = text.decode("ascii", "replace").split("\n")
        if not d.eof or d.unconsumed_tail or d.unused_data or len(lines) != n + 1 or lines[-1]:
            raise ValueError("text times that are not one line per sample")
        times, bad = parse_iso(lines[:-1])
        if times is None:
            raise ValueError(f"text time {lines[bad][:40]!r} is not an ISO time")
        return times, None
    if kind == T_INT:
        values = Times.numbers(ints_of(part[1:], (T_INT, 0)))
    elif kind == T_DECIMAL:
        if len(part) < 2 or not 1 <= part[1] <= 9:
            raise ValueError("bad decimal time scale")
        values = Times.numbers(ints_of(part[2:], (T_DECIMAL, part[1])) / 10.0 ** part[1])
    elif kind == T_RAW:
        if len(part) != 1 + 8 * n:
            raise ValueError("raw time part of the wrong size")
        t = np.frombuffer(part, "<f8", n, 1).astype(np.float64)
        if not np.all(np.isfinite(t)):
            raise ValueError("a raw time that is not finite")
        values = Times.numbers(t)
    else:
        raise ValueError(f"unknown time kind {kind}")
    if iso_template is None:
        return values, after
    if len(values) and not (np.abs(values.seconds) < 2.6e11).all():  # beyond years 0-9999
        raise ValueError("an ISO time outside the years 0000-9999")
    us = np.round(values.seconds * 1e6).astype(np.int64)  # version 1: ISO at microseconds
    secs, frac = np.divmod(us, 10**6)
    times = Times(values.seconds, secs, frac * 1000, np.zeros(n, np.int32), [iso_template])
    _check_printable(times)
    return times, None


def _check_printable(times: Times) -> None:
    """ISO times a decoder can write back: local dates in years 0000-9999."""
    for k, template in enumerate(times.templates):
        rows = times.fmt == k
        if rows.any():
            local = times.ints[rows] + _layout(template).offset
            if local.min() < _MIN_LOCAL or local.max() >= _MAX_SECONDS:
                raise ValueError("an ISO time outside the years 0000-9999")


_MIN_LOCAL = -62167219200  # 0000-01-01T00:00:00
