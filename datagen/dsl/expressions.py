"""The small formula language of the `expression` generator, checked by a whitelist and run on numpy arrays.

Code is parsed with `ast` and every node is checked against a whitelist; the checked tree is then
interpreted node by node over whole columns. Nothing is ever handed to eval, exec or compile, so the
only things an expression can reach are the row's columns, literals and the functions in `FUNCTIONS`.

Evaluation semantics (all vectorised; a literal stands for the same value in every row):

- Arithmetic follows numpy. True/False count as 1/0. `/` always gives floats; `**`/`pow`, and `//`/`%` on
  two integers, are computed in float64 so a zero divisor or a huge power gives inf/nan, never a crash
  or a silently wrapped integer. All floating-point errors are ignored: `x / 0` is ±inf, `0 / 0`,
  `log(-1)` and `sqrt(-1)` are nan, `log(0)` is -inf. The engine's final cast rounds floats for `int`
  columns and refuses what a column cannot hold (inf anywhere, nan in a non-nullable column, a value
  outside the int64 or date range); a divisor that is the constant 0 is refused at check time.
- A column of Python objects (e.g. numbers with None for null) is read as float64 in arithmetic, None
  becoming NaN; text in arithmetic is an error.
- NaN propagates through arithmetic and `min`/`max`, and compares unequal to everything.
- `and`, `or`, `not` and the conditions of `if`/`where` are element-wise truth values (Python truth:
  0, empty text and null text are false; NaN is true). Both branches of an if-else are computed for
  every row and the condition picks one per row.
- Text columns are compared element-wise. `+` joins text: when either side is text (a literal, a text
  column, a text result) both must be, and a null on either side gives null; a number joins only
  through `str(x)` (whole numbers without a decimal point, so an `int` column reads "28" even while
  nulls carry it as floats; NaN is null). `lower`, `upper` and `zfill` (Python's, sign first) work on
  text. A text literal may otherwise only be compared or be a result of an if-else / `where`. Text
  runs through Arrow's string kernels; results come back as object arrays with None for null.
- Datetime columns (datetime64) compare with each other and with ISO text literals
  (`created_at >= "2024-06-01"`, read as UTC). `start + hours(duration)` adds a duration; `minutes`,
  `hours` and `days` turn numbers into timedelta64[us] (NaN → NaT). `end - start` is a timedelta64;
  `hours_between(start, end)` is `end - start` in float hours (NaT → NaN). `hour`, `dow` (0 = Monday),
  `day`, `month` and `year` read the calendar fields of a datetime (UTC) as integers, or as floats
  with NaN where a time is NaT; given anything but a datetime they raise, and the check step refuses
  a column of another type by name.
"""

from __future__ import annotations

import ast
import difflib
import operator
import warnings
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import reduce
from typing import Any, NamedTuple, cast

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from datagen.errors import GenerationError, InputError

MAX_LENGTH = 2000
MAX_DEPTH = 50
MAX_EXPONENT = 100
_INT64_LIMIT = 2**63
_US_PER = {"minutes": 60_000_000, "hours": 3_600_000_000, "days": 86_400_000_000}
_TIME_TYPES = ("datetime", "date")  # column types the calendar functions read
_MAX_DURATION_US = 2**64 // 1000  # about 584 years: longer moves leave the datetime64[ns] calendar
MAX_WIDTH = 100  # zfill's width: every row's text is at least this long


class ExpressionProblem(NamedTuple):
    """One problem found in an expression, worded so a person or a model can fix it from the text alone."""

    message: str


class ExpressionSyntaxError(InputError):
    """An expression that cannot be used; `problems` lists every reason at once."""

    def __init__(self, code: str, problems: list[ExpressionProblem]) -> None:
        self.code = code
        self.problems = list(problems)
        lines = [f"expression {_shorten(code, 80)!r} cannot be used:"]
        lines += [f"  - {p.message}" for p in self.problems]
        super().__init__("\n".join(lines))


# ---------------------------------------------------------------- values and the function whitelist


def _is_integer(x: Any) -> bool:
    return np.asarray(x).dtype.kind in "biu"


def _arith(x: Any) -> Any:
    """An operand ready for arithmetic: booleans as 0/1 (numpy would treat `+` on them as `or`), and
    object or text arrays as float64 (None → NaN), so text fails loudly instead of being repeated by `*`."""
    arr = np.asarray(x)
    if arr.dtype.kind == "b":
        return arr.astype(np.int64)
    return arr.astype(np.float64) if arr.dtype.kind in "OUT" else arr


def _float(x: Any) -> np.ndarray:
    return np.asarray(x, dtype=np.float64)


def _truth(x: Any) -> np.ndarray:
    arr = np.asarray(x)
    if arr.dtype.kind == "b":
        return arr
    if arr.dtype.kind in "UT":
        arr = arr.astype(object)
    return arr.astype(bool)


def _is_text(x: Any) -> bool:
    return isinstance(x, str) or np.asarray(x).dtype.kind in "OUT"


def _select(cond: Any, a: Any, b: Any) -> np.ndarray:
    """np.where, except that a text branch makes the result an object array instead of a promotion error."""
    if _is_text(a) or _is_text(b):
        a, b = (v if isinstance(v, str) else np.asarray(v).astype(object) for v in (a, b))
    return np.asarray(np.where(_truth(cond), a, b))


def _power(base: Any, exponent: Any) -> np.ndarray:
    return np.asarray(np.power(_float(base), _float(exponent)))


def _integer_safe(ufunc: np.ufunc) -> Callable[[Any, Any], Any]:
    """`//` and `%` on two integers run in float64 so that a zero divisor gives inf/nan, not numpy's 0."""

    def apply(a: Any, b: Any) -> Any:
        if _is_integer(a) and _is_integer(b):
            return ufunc(_float(a), _float(b))
        return ufunc(_arith(a), _arith(b))

    return apply


def _duration(microseconds_per_unit: int) -> Callable[[Any], np.ndarray]:
    def to_timedelta(x: Any) -> np.ndarray:
        us = np.round(_float(x) * microseconds_per_unit)
        representable = np.isfinite(us) & (np.abs(us) < 2**63 - 2**10)
        ticks = np.where(representable, us, 0).astype(np.int64).astype("m8[us]")
        return np.where(representable, ticks, np.timedelta64("NaT", "us"))

    return to_timedelta


def _hours_between(start: Any, end: Any) -> np.ndarray:
    return np.asarray((np.asarray(end) - np.asarray(start)) / np.timedelta64(1, "h"))


def _hour(us: np.ndarray) -> np.ndarray:
    return (us // _US_PER["hours"]) % 24


def _dow(us: np.ndarray) -> np.ndarray:
    return (us // _US_PER["days"] + 3) % 7  # 1970-01-01 was a Thursday (3 with Monday as 0)


def _day(us: np.ndarray) -> np.ndarray:
    t = us.astype("datetime64[us]")
    return np.asarray(t.astype("datetime64[D]") - t.astype("datetime64[M]")).astype(np.int64) + 1


def _month(us: np.ndarray) -> np.ndarray:
    return us.astype("datetime64[us]").astype("datetime64[M]").astype(np.int64) % 12 + 1


def _year(us: np.ndarray) -> np.ndarray:
    return us.astype("datetime64[us]").astype("datetime64[Y]").astype(np.int64) + 1970


def _calendar(name: str, field: Callable[[np.ndarray], np.ndarray]) -> Callable[[Any], np.ndarray]:
    """A calendar field of a datetime array, vectorised on its microseconds since the epoch (UTC)."""

    def read(t: Any) -> np.ndarray:
        arr = np.asarray(t)
        if arr.dtype.kind != "M":
            raise TypeError(f"{name}() reads a datetime or date column, not {arr.dtype.name} values")
        missing = np.isnat(arr)
        values = field(
            np.where(missing, np.datetime64(0, "us"), arr).astype("datetime64[us]").astype(np.int64)
        )
        return np.where(missing, np.nan, values) if missing.any() else values

    return read


def _round(x: Any, digits: Any = 0) -> np.ndarray:
    return np.asarray(np.round(_arith(x), int(digits)))


def _as_datetime(text: str) -> np.datetime64:
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return np.datetime64(moment, "us")


def _compare(op: Callable[[Any, Any], Any]) -> Callable[[Any, Any], Any]:
    """Element-wise comparison; ISO text compared with a datetime column is read as a UTC timestamp."""

    def apply(a: Any, b: Any) -> Any:
        if isinstance(b, str) and np.asarray(a).dtype.kind == "M":
            b = _as_datetime(b)
        if isinstance(a, str) and np.asarray(b).dtype.kind == "M":
            a = _as_datetime(a)
        return op(a, b)

    return apply


def _as_text(x: Any) -> pa.Array | pa.Scalar | None:
    """`x` as Arrow text if it holds text: a str, a numpy string array, or an object array of text and
    nulls (None or NaN); None for anything else. An object array of nulls alone is text of nulls only
    when the other side decides (`_add`), so it comes back as None here."""
    if isinstance(x, str):
        return pa.scalar(x, pa.string())
    arr = np.asarray(x)
    if arr.dtype.kind in "UT":
        return pa.array(arr.ravel(), pa.string()) if arr.ndim else pa.scalar(str(arr), pa.string())
    if arr.dtype.kind != "O" or arr.ndim != 1:
        return None
    try:
        values = pa.array(arr, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as error:
        raise TypeError(f"a column mixes text with other values ({error})") from None
    return values if pa.types.is_string(values.type) else None


def _nulls_only(x: Any) -> bool:
    arr = np.asarray(x)
    return arr.dtype.kind == "O" and arr.ndim == 1 and pa.array(arr, from_pandas=True).null_count == len(arr)


def _from_arrow(text: pa.Array | pa.Scalar) -> Any:
    """Arrow text back in the evaluator's form: a str (or None) for a scalar, else an object array."""
    if isinstance(text, pa.Scalar):
        return text.as_py()
    return np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)


def _text_of(x: Any) -> pa.Array | pa.Scalar:
    """str(x) as Arrow text: text stays text; whole numbers in digits, floats too ("28", so an `int`
    column carried as floats reads as written), other numbers in their shortest exact form ("2.5",
    "1e+20" past the 64-bit range); NaN is null."""
    text = _as_text(x)
    if text is not None:
        return text
    arr = np.asarray(x)
    if _nulls_only(arr):
        return pa.nulls(len(arr), pa.string())
    if arr.dtype.kind == "O":
        arr = arr.astype(np.float64)
    if arr.dtype.kind not in "iuf":
        raise TypeError(f"str() writes numbers or text as text, not {arr.dtype.name} values")
    values = np.atleast_1d(arr)
    written = pc.cast(pa.array(values, from_pandas=True), pa.string())
    if values.dtype.kind == "f":  # whole numbers in digits, not Arrow's 1e+10
        whole = np.isfinite(values) & (values == np.round(values)) & (np.abs(values) < _INT64_LIMIT)
        digits = pc.cast(pa.array(np.where(whole, values, 0).astype(np.int64)), pa.string())
        written = pc.if_else(pa.array(whole), digits, written)
    return written[0] if arr.ndim == 0 else written


def _add(a: Any, b: Any) -> Any:
    """`+`: numbers add; text joins text (null when either side is null). Text and a number refuse, as
    in Python: the number must be written as text on purpose, with str()."""
    left, right = _as_text(a), _as_text(b)
    if left is None and right is None:
        return np.add(_arith(a), _arith(b))
    if left is None:
        left = _text_of(a) if _nulls_only(a) else None
    if right is None:
        right = _text_of(b) if _nulls_only(b) else None
    if left is None or right is None:
        raise TypeError("'+' joins text only with text; write str(x) to join a number to text")
    return _from_arrow(pc.binary_join_element_wise(left, right, ""))


def _text_function(
    name: str, kernel: Callable[[pa.Array | pa.Scalar], pa.Array | pa.Scalar]
) -> Callable[[Any], Any]:
    def apply(x: Any) -> Any:
        text = _as_text(x)
        if text is None and _nulls_only(x):
            text = _text_of(x)
        if text is None:
            raise TypeError(f"{name}() changes text, not numbers or times")
        return _from_arrow(kernel(text))

    return apply


def _zfill(x: Any, width: Any) -> Any:
    """Python's str.zfill: the text of x padded with zeros on the left to `width` characters, a leading
    sign kept first ("-0042")."""
    text, width = _text_of(x), int(width)
    first, rest = pc.utf8_slice_codeunits(text, 0, 1), pc.utf8_slice_codeunits(text, 1)
    signed = pc.is_in(first, value_set=pa.array(["-", "+"]))
    sign_first = pc.binary_join_element_wise(first, pc.utf8_lpad(rest, max(width - 1, 0), "0"), "")
    return _from_arrow(pc.if_else(signed, sign_first, pc.utf8_lpad(text, width, "0")))


@dataclass(frozen=True)
class _Function:
    usage: str
    min_args: int
    max_args: int | None
    impl: Callable[..., Any]
    text_args: frozenset[int] = frozenset()  # argument positions that may be text (where's branches)
    gives_text: bool = False  # the result is text whatever the arguments

    def arity(self) -> str:
        if self.max_args is None:
            return f"{self.min_args} or more arguments"
        if self.min_args == self.max_args:
            return f"{self.min_args} argument{'s' if self.min_args != 1 else ''}"
        return f"{self.min_args} to {self.max_args} arguments"


# The functions an expression may call, by the name it calls them with.
FUNCTIONS: dict[str, _Function] = {
    "abs": _Function("abs(x)", 1, 1, lambda x: np.abs(_arith(x))),
    "min": _Function("min(a, b, ...)", 2, None, lambda *xs: reduce(np.minimum, map(_arith, xs))),
    "max": _Function("max(a, b, ...)", 2, None, lambda *xs: reduce(np.maximum, map(_arith, xs))),
    "round": _Function("round(x) or round(x, digits)", 1, 2, _round),
    "floor": _Function("floor(x)", 1, 1, lambda x: np.floor(_arith(x))),
    "ceil": _Function("ceil(x)", 1, 1, lambda x: np.ceil(_arith(x))),
    "sqrt": _Function("sqrt(x)", 1, 1, lambda x: np.sqrt(_float(x))),
    "exp": _Function("exp(x)", 1, 1, lambda x: np.exp(_float(x))),
    "log": _Function("log(x)", 1, 1, lambda x: np.log(_float(x))),
    "log10": _Function("log10(x)", 1, 1, lambda x: np.log10(_float(x))),
    "log1p": _Function("log1p(x)", 1, 1, lambda x: np.log1p(_float(x))),
    "clip": _Function("clip(x, lo, hi)", 3, 3, lambda x, lo, hi: np.clip(_arith(x), _arith(lo), _arith(hi))),
    "where": _Function("where(cond, a, b)", 3, 3, _select, frozenset({1, 2})),
    "pow": _Function("pow(x, y)", 2, 2, _power),
    "minutes": _Function("minutes(x)", 1, 1, _duration(_US_PER["minutes"])),
    "hours": _Function("hours(x)", 1, 1, _duration(_US_PER["hours"])),
    "days": _Function("days(x)", 1, 1, _duration(_US_PER["days"])),
    "hours_between": _Function("hours_between(start, end)", 2, 2, _hours_between),
    "hour": _Function("hour(t)", 1, 1, _calendar("hour", _hour)),
    "dow": _Function("dow(t)", 1, 1, _calendar("dow", _dow)),
    "day": _Function("day(t)", 1, 1, _calendar("day", _day)),
    "month": _Function("month(t)", 1, 1, _calendar("month", _month)),
    "year": _Function("year(t)", 1, 1, _calendar("year", _year)),
    "str": _Function("str(x)", 1, 1, lambda x: _from_arrow(_text_of(x)), frozenset({0}), gives_text=True),
    "lower": _Function("lower(text)", 1, 1, _text_function("lower", pc.utf8_lower), frozenset({0}), True),
    "upper": _Function("upper(text)", 1, 1, _text_function("upper", pc.utf8_upper), frozenset({0}), True),
    "zfill": _Function("zfill(x, width)", 2, 2, _zfill, frozenset({0}), gives_text=True),
}
TEXT_FUNCTIONS = ("lower", "upper")  # each reads text
CALENDAR_FUNCTIONS = ("hour", "dow", "day", "month", "year")  # each reads one datetime

_BINARY: dict[type[ast.operator], tuple[str, Callable[[Any, Any], Any]]] = {
    ast.Add: ("+", _add),
    ast.Sub: ("-", lambda a, b: np.subtract(_arith(a), _arith(b))),
    ast.Mult: ("*", lambda a, b: np.multiply(_arith(a), _arith(b))),
    ast.Div: ("/", lambda a, b: np.true_divide(_arith(a), _arith(b))),
    ast.FloorDiv: ("//", _integer_safe(np.floor_divide)),
    ast.Mod: ("%", _integer_safe(np.remainder)),
    ast.Pow: ("**", _power),
}
_UNARY: dict[type[ast.unaryop], tuple[str, Callable[[Any], Any]]] = {
    ast.USub: ("-", lambda x: np.negative(_arith(x))),
    ast.UAdd: ("+", lambda x: np.positive(_arith(x))),
    ast.Not: ("not", lambda x: np.logical_not(_truth(x))),
}
_COMPARE: dict[type[ast.cmpop], Callable[[Any, Any], Any]] = {
    ast.Lt: _compare(operator.lt),
    ast.LtE: _compare(operator.le),
    ast.Gt: _compare(operator.gt),
    ast.GtE: _compare(operator.ge),
    ast.Eq: _compare(operator.eq),
    ast.NotEq: _compare(operator.ne),
}
_BOOL: dict[type[ast.boolop], Callable[[Any, Any], Any]] = {ast.And: np.logical_and, ast.Or: np.logical_or}

_REFUSED_OPERATORS: dict[type[ast.AST], tuple[str, str]] = {
    ast.MatMult: ("operator '@' (matrix multiplication)", "use '*' for products"),
    ast.BitAnd: ("operator '&' (bitwise and)", "use 'and'"),
    ast.BitOr: ("operator '|' (bitwise or)", "use 'or'"),
    ast.BitXor: ("operator '^' (bitwise xor)", "for a power use '**'"),
    ast.LShift: ("operator '<<' (bit shift)", "multiply by a power of 2 instead"),
    ast.RShift: ("operator '>>' (bit shift)", "use '//' by a power of 2 instead"),
    ast.Invert: ("operator '~' (bitwise not)", "use 'not'"),
    ast.Is: ("comparison 'is'", "use '=='"),
    ast.IsNot: ("comparison 'is not'", "use '!='"),
    ast.In: ("comparison 'in'", "compare with '==' and join the tests with 'or'"),
    ast.NotIn: ("comparison 'not in'", "compare with '!=' and join the tests with 'and'"),
}

_ONE_FORMULA = (
    "an expression is a single formula over this row's columns, numbers, operators, comparisons, "
    "and/or/not, if-else and the allowed functions"
)
_TEXT_RULE = (
    'text may be joined to text with + ("Hotel " + city; a number through str(): "Room " + str(room_no)), '
    'compared (segment == "vip") or be a result of an if-else ("high" if amount > 100 else "low")'
)

# ---------------------------------------------------------------- checking


def _shorten(text: str, limit: int = 40) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _suggest(name: str, candidates: Collection[str]) -> str:
    close = difflib.get_close_matches(name, sorted(candidates), n=3, cutoff=0.6)
    if not close:
        return ""
    quoted = [f"'{c}'" for c in close]
    joined = quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " or " + quoted[-1]
    return f" — did you mean {joined}?"


def _number(node: ast.expr) -> float | None:
    """The value of a literal number, optionally signed; None for anything else."""
    sign = 1
    while isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -sign if isinstance(node.op, ast.USub) else sign
        node = node.operand
    value = node.value if isinstance(node, ast.Constant) else None
    return sign * value if isinstance(value, int | float) and not isinstance(value, bool) else None


def _is_constant(node: ast.AST) -> bool:
    return not any(isinstance(n, ast.Name | ast.Call) for n in ast.walk(node))


def _depth(tree: ast.Expression) -> int:
    """Nesting depth of the expression nodes, measured without recursion so hostile input cannot crash it."""
    deepest, stack = 0, [(tree.body, 1)]
    while stack and deepest <= MAX_DEPTH:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend(
            (child, depth + 1) for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)
        )
    return deepest


def _syntax_problem(error: SyntaxError, indent: int) -> ExpressionProblem:
    """Python's own message, with the position counted in the code as written (`indent` was trimmed)."""
    line = (error.text or "").rstrip("\r\n")
    offset = error.offset or len(line) + 1  # Python reports 0 when the code ends too early
    if (error.lineno or 1) == 1:
        line, offset = " " * indent + line, offset + indent
    where = f"column {offset}" if (error.lineno or 1) == 1 else f"line {error.lineno}, column {offset}"
    message = f"syntax error at {where}: {error.msg}"
    if line[offset - 1 : offset] == "=" and line[offset - 2 : offset + 1].count("=") == 1:
        message += " — to compare use '=='"
    if 0 < offset <= len(line) + 1:
        message += f"\n      {line}\n      {' ' * (offset - 1)}^"
    return ExpressionProblem(message)


def _parse(code: str) -> tuple[ast.Expression | None, list[ExpressionProblem]]:
    """Parse with the size guards; a tree comes back only when it is safe to walk."""
    if len(code) > MAX_LENGTH:
        return None, [
            ExpressionProblem(
                f"expression is {len(code)} characters long; the limit is {MAX_LENGTH} — split it into "
                "several columns that build on each other"
            )
        ]
    if not code.strip():
        return None, [ExpressionProblem("expression is empty — write a formula such as 'price * quantity'")]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(code.strip(), mode="eval")
    except SyntaxError as error:
        return None, [_syntax_problem(error, len(code) - len(code.lstrip(" \t")))]
    except (ValueError, RecursionError, MemoryError) as error:
        return None, [ExpressionProblem(f"expression cannot be parsed: {error}")]
    if _depth(tree) > MAX_DEPTH:
        return None, [
            ExpressionProblem(
                f"expression nests more than {MAX_DEPTH} levels deep — split it into several columns "
                "that build on each other"
            )
        ]
    return tree, []


class _Checker:
    """Walks a parsed tree against the whitelist, collecting every problem instead of stopping at the first.

    `visit` returns whether the node yields text, so the parent can refuse text where it makes no sense.
    With `columns=None` any name counts as a column (the names are checked when the table is known);
    given as a mapping of name to column type, a `string` column counts as text and the calendar and
    text functions' columns are checked too. A column of unknown type may be text (`maybe_text`): `+`
    decides at run time.
    """

    def __init__(self, code: str, columns: Collection[str] | None) -> None:
        self.code = code
        self.columns = None if columns is None else frozenset(columns)
        self.types: dict[str, str] = dict(columns) if isinstance(columns, Mapping) else {}
        self.problems: list[ExpressionProblem] = []
        self._reported_names: set[str] = set()

    def problem(self, message: str) -> None:
        self.problems.append(ExpressionProblem(message))

    def source(self, node: ast.AST) -> str:
        """The code of `node`, quoted for a message."""
        return f"`{_shorten(ast.get_source_segment(self.code, node) or type(node).__name__)}`"

    def refuse(self, what: str, fix: str = _ONE_FORMULA) -> None:
        self.problem(f"{what} is not allowed — {fix}")

    def check(self, tree: ast.Expression) -> list[ExpressionProblem]:
        body = tree.body
        if isinstance(body, ast.Constant) and isinstance(body.value, str):
            self.problem(
                f"the whole expression is the text {body.value!r}; {_TEXT_RULE} — for a constant text "
                "column use a 'choice' generator with one value"
            )
        else:
            self.visit(body)
        return self.problems

    def value(self, node: ast.expr, where: str, *, condition: bool = False) -> None:
        """Visit a node used where only numbers, booleans, datetimes or columns make sense; as a
        `condition` a text column is also fine (Python truth: empty or null text is false)."""
        if self.visit(node) and not (condition and isinstance(node, ast.Name)):
            self.text_problem(node, where)

    def text_problem(self, node: ast.expr, where: str) -> None:
        if isinstance(node, ast.Constant):
            self.problem(f"text literal {self.source(node)} cannot be used {where}; {_TEXT_RULE}")
        elif isinstance(node, ast.Name):
            self.problem(f"text column '{node.id}' cannot be used {where}; {_TEXT_RULE}")
        else:
            self.problem(f"text result of {self.source(node)} cannot be used {where}; {_TEXT_RULE}")

    def maybe_text(self, node: ast.expr) -> bool:
        """Whether a node the checker could not call text may still be text at run time: a column of
        unknown type, or an if-else, where() or `+` built from such columns."""
        match node:
            case ast.Name(id=name):
                return name not in self.types
            case (
                ast.IfExp(body=body, orelse=orelse)
                | ast.Call(func=ast.Name(id="where"), args=[_, body, orelse])
            ):
                return self.maybe_text(body) or self.maybe_text(orelse)
            case ast.BinOp(op=ast.Add(), left=left, right=right):
                return self.maybe_text(left) and self.maybe_text(right)
        return False

    def visit(self, node: ast.expr) -> bool:
        match node:
            case ast.Constant():
                return self.constant(node)
            case ast.Name():
                self.name(node)
                return self.types.get(node.id) == "string"
            case ast.BinOp():
                return self.binop(node)
            case ast.UnaryOp():
                if type(node.op) in _REFUSED_OPERATORS:
                    self.refuse(*_REFUSED_OPERATORS[type(node.op)])
                else:
                    negation = isinstance(node.op, ast.Not)
                    self.value(node.operand, f"with unary '{_UNARY[type(node.op)][0]}'", condition=negation)
                return False
            case ast.BoolOp():
                word = "and" if isinstance(node.op, ast.And) else "or"
                for operand in node.values:
                    self.value(operand, f"with '{word}'", condition=True)
                return False
            case ast.Compare():
                for op in node.ops:
                    if type(op) in _REFUSED_OPERATORS:
                        self.refuse(*_REFUSED_OPERATORS[type(op)])
                for operand in (node.left, *node.comparators):
                    self.visit(operand)
                return False
            case ast.IfExp():
                self.value(node.test, "as an if-else condition", condition=True)
                return self.visit(node.body) | self.visit(node.orelse)
            case ast.Call():
                return self.call(node)
        self.refuse(*self.describe(node))
        return False

    def describe(self, node: ast.expr) -> tuple[str, str]:
        """What a refused construct is called, and the fix, in the user's own terms."""
        by_name = "refer to a column by its bare name; a column holds one value per row"
        code = self.source(node)
        match node:
            case ast.Attribute():
                return f"attribute access '.{node.attr}' (in {code})", by_name
            case ast.Subscript():
                return f"subscript {code} (indexing or slicing)", by_name
            case ast.Lambda():
                return f"lambda {code}", _ONE_FORMULA
            case ast.ListComp() | ast.SetComp() | ast.DictComp() | ast.GeneratorExp():
                return f"comprehension {code}", _ONE_FORMULA
            case ast.List() | ast.Tuple() | ast.Set() | ast.Dict():
                return f"{type(node).__name__.lower()} {code}", _ONE_FORMULA
            case ast.JoinedStr():
                return f"f-string {code}", _TEXT_RULE
            case ast.NamedExpr():
                return f"assignment expression ':=' in {code}", "compute the value in another column instead"
            case ast.Starred():
                return f"'*' unpacking in {code}", "pass the arguments one by one"
            case ast.Await() | ast.Yield() | ast.YieldFrom():
                return f"'{type(node).__name__.lower()}' in {code}", _ONE_FORMULA
        return f"{type(node).__name__} {code}", _ONE_FORMULA

    def constant(self, node: ast.Constant) -> bool:
        value = node.value
        if isinstance(value, str):
            return True
        if isinstance(value, bool):
            return False
        if isinstance(value, float):
            if not np.isfinite(value):
                self.problem(
                    f"number {self.source(node)} is too large for a float (it reads as inf) — "
                    "use a number below 1e308"
                )
            return False
        if isinstance(value, int):
            if abs(value) >= _INT64_LIMIT:
                self.problem(
                    f"integer {_shorten(str(value))} does not fit in 64 bits — "
                    "write it as a float (e.g. 1e30)"
                )
            return False
        if value is None:
            self.refuse("None", "nulls come from the column's 'nullable' and 'null_rate'")
        elif isinstance(value, complex):
            self.refuse(f"complex number {self.source(node)}", "use real numbers")
        else:
            self.refuse(f"literal {self.source(node)}", "use numbers, True/False, or text in comparisons")
        return False

    def name(self, node: ast.Name) -> None:
        name = node.id
        if self.columns is None or name in self.columns or name in self._reported_names:
            return
        self._reported_names.add(name)
        if name in FUNCTIONS:
            self.problem(f"'{name}' is a function, not a column — call it: {FUNCTIONS[name].usage}")
            return
        message = f"unknown column '{name}'{_suggest(name, self.columns)}"
        if not self.columns:
            message += " (this expression has no columns it can read)"
        elif len(self.columns) <= 20:
            message += f" (columns you can use: {', '.join(sorted(self.columns))})"
        else:
            message += f" ({len(self.columns)} columns available; check the spelling)"
        self.problem(message)

    def binop(self, node: ast.BinOp) -> bool:
        """Arithmetic, or text joined with `+` (then True: the result is text)."""
        if type(node.op) in _REFUSED_OPERATORS:
            what, fix = _REFUSED_OPERATORS[type(node.op)]
            self.refuse(f"{what} in {self.source(node)}", fix)
            return False
        symbol = _BINARY[type(node.op)][0]
        before = len(self.problems)
        operands = ((node.left, self.visit(node.left)), (node.right, self.visit(node.right)))
        if isinstance(node.op, ast.Add) and (operands[0][1] or operands[1][1]):
            for operand, is_text in operands:
                if not is_text and not self.maybe_text(operand):
                    self.not_text(operand)
            return True
        for operand, is_text in operands:
            if is_text:
                self.text_problem(operand, f"in arithmetic ('{symbol}')")
        if isinstance(node.op, ast.Pow) and len(self.problems) == before:
            self.exponent(node.right)
        if isinstance(node.op, ast.Div | ast.FloorDiv | ast.Mod) and len(self.problems) == before:
            self.divisor(node.right, symbol)
        return False

    def not_text(self, node: ast.expr, where: str = "'+' joins text only with text") -> None:
        """A number, time or truth value where text is needed: say how to write it as text."""
        code = self.source(node)[1:-1]
        kind = self.types.get(node.id) if isinstance(node, ast.Name) else None
        what = (
            f"'{code}' is {'an' if kind == 'int' else 'a'} {kind} column" if kind else f"`{code}` is not text"
        )
        if kind in _TIME_TYPES:
            fix = f"write a part of it as text, e.g. str(year({code}))"
        elif kind == "bool":
            fix = f'choose the text with if-else, e.g. ("yes" if {code} else "no")'
        else:
            fix = f"write it as text with str({code})"
        self.problem(f"{what}, and {where} — {fix}")

    def divisor(self, node: ast.expr, symbol: str) -> None:
        """Refuse a divisor that is the constant 0 (`x % 0`): every row would be inf or nan."""
        if not _is_constant(node):
            return
        with np.errstate(all="ignore"):
            value = float(np.asarray(_evaluate(node, {}), dtype=np.float64))
        if value == 0:
            self.problem(
                f"'{symbol}' by {self.source(node)}, which is always 0 — every row would be inf or nan; "
                "divide by a column or a non-zero number"
            )

    def duration(self, name: str, node: ast.expr) -> None:
        """Refuse a constant duration no timestamp can be moved by (`hours(1e300)`)."""
        if not _is_constant(node):
            return
        with np.errstate(all="ignore"):
            value = float(np.asarray(_evaluate(node, {}), dtype=np.float64))
        if not np.isfinite(value) or abs(value) * _US_PER[name] > _MAX_DURATION_US:
            self.problem(
                f"{name}({self.source(node)[1:-1]}) is longer than the supported date range "
                "(about 580 years) — use a smaller number"
            )

    def exponent(self, node: ast.expr) -> None:
        """Refuse a constant exponent above the limit (`10 ** 10 ** 10`), computed as evaluation would."""
        if not _is_constant(node):
            return
        with np.errstate(all="ignore"):
            value = float(np.asarray(_evaluate(node, {}), dtype=np.float64))
        if value > MAX_EXPONENT:
            self.problem(
                f"exponent {self.source(node)} (= {value:g}) is above the limit of {MAX_EXPONENT} — "
                "such a power only gives inf"
            )

    def call(self, node: ast.Call) -> bool:
        if not isinstance(node.func, ast.Name):
            method = node.func.attr if isinstance(node.func, ast.Attribute) else None
            if method in FUNCTIONS and method not in ("min", "max"):
                fix = f"call it as a function of the value: {FUNCTIONS[method].usage}"
            else:
                fix = f"only these functions can be called: {', '.join(FUNCTIONS)}"
            self.refuse(f"calling {self.source(node.func)}", fix)
            return False
        name = node.func.id
        function = FUNCTIONS.get(name)
        if function is None:
            if self.columns is not None and name in self.columns:
                self.problem(f"'{name}' is a column, not a function — it cannot be called")
            else:
                self.problem(
                    f"function '{name}' is not allowed{_suggest(name, FUNCTIONS)} "
                    f"(allowed functions: {', '.join(FUNCTIONS)})"
                )
        for keyword in node.keywords:
            spelled = f"'{keyword.arg}='" if keyword.arg else "'**' unpacking"
            self.problem(
                f"keyword argument {spelled} in {name}() is not allowed — pass arguments by position"
                + (f": {function.usage}" if function else "")
            )
        if function is None:
            for arg in node.args:
                self.visit(arg)
            return False
        before = len(self.problems)
        is_text = False
        for index, arg in enumerate(node.args):
            if index in function.text_args:
                text = self.visit(arg)
                is_text |= text
                if name in TEXT_FUNCTIONS and not text and not self.maybe_text(arg):
                    self.problem(f"{name}() changes text; {self.source(arg)} is not text — {function.usage}")
            else:
                self.value(arg, f"as an argument of {name}()", condition=name == "where")
        positional = [a for a in node.args if not isinstance(a, ast.Starred)]
        count = len(positional)
        if count < function.min_args or (function.max_args is not None and count > function.max_args):
            self.problem(f"{name}() takes {function.arity()}, got {count} — use {function.usage}")
        elif name == "round" and count == 2:
            digits = _number(positional[1])
            if digits is None or digits != int(digits):
                self.problem(
                    "round()'s digits must be a whole-number literal such as 2, "
                    f"got {self.source(positional[1])}"
                )
        elif name == "zfill":
            width = _number(positional[1])
            if width is None or width != int(width) or not 1 <= width <= MAX_WIDTH:
                self.problem(
                    f"zfill()'s width must be a whole-number literal from 1 to {MAX_WIDTH}, such as 4, "
                    f"got {self.source(positional[1])}"
                )
        elif name == "str" and isinstance(positional[0], ast.Name):
            kind = self.types.get(positional[0].id)
            if kind == "bool" or kind in _TIME_TYPES:
                self.not_text(positional[0], "str() writes numbers or text")
        elif name == "pow" and len(self.problems) == before:
            self.exponent(positional[1])
        elif name in _US_PER and len(self.problems) == before:
            self.duration(name, positional[0])
        elif name in CALENDAR_FUNCTIONS and isinstance(positional[0], ast.Name):
            kind = self.types.get(positional[0].id)
            if kind is not None and kind not in _TIME_TYPES:
                self.problem(
                    f"{name}() reads a datetime or date column; '{positional[0].id}' is {kind} — "
                    f"pass a time column, e.g. {function.usage.replace('t)', 'ordered_at)')}"
                )
        return is_text or function.gives_text


def expression_problems(code: str, columns: Collection[str] | None) -> list[ExpressionProblem]:
    """Every reason `code` cannot be an expression over `columns` (the names it may read, or a mapping
    of those names to their column types; None: any name, checked once the table is known); empty if
    usable."""
    tree, problems = _parse(code)
    if tree is None:
        return problems
    return _Checker(code.strip(), columns).check(tree)


def referenced_columns(code: str) -> set[str]:
    """Column names the expression reads, so a table can order its columns; raises if it does not parse."""
    tree, problems = _parse(code)
    if tree is None:
        raise ExpressionSyntaxError(code, problems)
    callees = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    return {
        n.id
        for n in ast.walk(tree)
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load) and id(n) not in callees
    }


def gives_text(code: str, types: Mapping[str, str] | None = None) -> bool:
    """Whether a usable expression can give text: a text literal or (given the columns' `types`) a
    `string` column as an if-else or where() result, text joined with `+`, or a text function."""
    tree, _ = _parse(code)
    if tree is None:
        return False
    checker = _Checker(code.strip(), types)
    return checker.visit(tree.body) and not checker.problems


def parse_expression(code: str) -> Expression:
    """Check `code` against the language (all but the column names, which need the table) and prepare it."""
    tree, problems = _parse(code)
    if tree is not None:
        problems = _Checker(code.strip(), None).check(tree)
    if problems or tree is None:
        raise ExpressionSyntaxError(code, problems)
    return Expression(code, frozenset(referenced_columns(code)), tree)


# ---------------------------------------------------------------- evaluation


def _literal(value: bool | int | float | str) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return np.bool_(value)
    return np.int64(value) if isinstance(value, int) else np.float64(value)


def _evaluate(node: ast.expr, columns: Mapping[str, np.ndarray]) -> Any:
    """Interpret a checked node over whole columns; the recursion is bounded by MAX_DEPTH, not by rows."""
    match node:
        case ast.Constant(value=value):
            return _literal(cast("bool | int | float | str", value))  # the checker allows no other
        case ast.Name(id=name):
            return columns[name]
        case ast.BinOp(left=left, op=op, right=right):
            return _BINARY[type(op)][1](_evaluate(left, columns), _evaluate(right, columns))
        case ast.UnaryOp(op=op, operand=operand):
            return _UNARY[type(op)][1](_evaluate(operand, columns))
        case ast.BoolOp(op=op, values=values):
            return reduce(_BOOL[type(op)], (_truth(_evaluate(v, columns)) for v in values))
        case ast.Compare(left=left, ops=ops, comparators=comparators):
            operands = [_evaluate(left, columns), *(_evaluate(c, columns) for c in comparators)]
            results = (
                _COMPARE[type(op)](a, b) for op, a, b in zip(ops, operands, operands[1:], strict=False)
            )
            return reduce(np.logical_and, results)
        case ast.IfExp(test=test, body=body, orelse=orelse):
            return _select(_evaluate(test, columns), _evaluate(body, columns), _evaluate(orelse, columns))
        case ast.Call(func=ast.Name(id=name), args=args):
            return FUNCTIONS[name].impl(*(_evaluate(a, columns) for a in args))
    raise AssertionError(f"unchecked node {type(node).__name__} reached evaluation")


@dataclass(frozen=True)
class Expression:
    """A checked expression; build it with `parse_expression`. `columns` are the names it reads."""

    code: str
    columns: frozenset[str]
    _tree: ast.Expression = field(repr=False, compare=False)

    def evaluate(self, columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """One value per row for `n` rows; `columns` must hold every name in `self.columns`, each of length n.

        Bad values never raise (see the module docstring); values that cannot be combined at all, such
        as text plus a number, raise GenerationError naming the expression.
        """
        missing = sorted(self.columns - columns.keys())
        if missing:
            raise GenerationError(
                f"expression {self.code!r} needs column(s) {', '.join(missing)}, "
                "which were not generated before it"
            )
        arrays = {name: np.asarray(columns[name]) for name in self.columns}
        wrong = sorted(name for name, a in arrays.items() if a.shape != (n,))
        if wrong:
            raise GenerationError(
                f"expression {self.code!r}: column(s) {', '.join(wrong)} do not have {n} rows"
            )
        try:
            with np.errstate(all="ignore"):
                result = np.asarray(_evaluate(self._tree.body, arrays))
        except (TypeError, ValueError, OverflowError) as error:
            raise GenerationError(
                f"expression {self.code!r} could not be computed: {error}",
                hint="check that the columns it combines have compatible types (numbers with numbers, "
                "datetimes with hours()/days()/minutes(), text joined with text by '+' (str(x) for a "
                "number), compared or chosen with if-else)",
            ) from error
        if result.dtype.kind in "UT":
            result = result.astype(object)
        if result.shape != (n,):
            return np.broadcast_to(result, (n,)).copy()
        if any(result is a for a in arrays.values()):
            return result.copy()
        return result

    def holds(self, columns: Mapping[str, np.ndarray], n: int) -> np.ndarray:
        """Whether the expression is true in each of `n` rows, with the truth of `and`/`or` (a null
        comparison is false): a condition such as a fanout's `where`."""
        return np.asarray(_truth(self.evaluate(columns, n)), dtype=bool)
