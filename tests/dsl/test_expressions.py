"""The expression language: what it computes, what it refuses, and how it explains itself."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from datagen.dsl.expressions import (
    FUNCTIONS,
    MAX_DEPTH,
    MAX_LENGTH,
    Expression,
    ExpressionProblem,
    ExpressionSyntaxError,
    expression_problems,
    gives_text,
    parse_expression,
    referenced_columns,
)
from datagen.errors import GenerationError, InputError

N = 5


@pytest.fixture
def table() -> dict[str, np.ndarray]:
    """A small table with one column of every kind an expression meets."""
    return {
        "price": np.array([10.0, 20.0, 30.0, np.nan, 2.5]),
        "quantity": np.array([1, 2, 0, 3, 4]),
        "discount": np.array([0.0, 0.1, 0.5, 0.0, 0.25]),
        "amount": np.array([50.0, 150.0, 100.0, 101.0, -3.0]),
        "segment": np.array(["vip", "std", None, "vip", "new"], dtype=object),
        "flag": np.array([True, False, True, False, True]),
        "start": np.array(
            ["2024-01-01T00:00", "2024-01-02T12:00", "NaT", "2024-03-01T08:30", "2024-12-31T23:00"],
            dtype="datetime64[us]",
        ),
        "duration": np.array([1.5, 2.0, 3.0, np.nan, 0.25]),
    }


def run(code: str, table: dict[str, np.ndarray]) -> np.ndarray:
    return parse_expression(code).evaluate(table, N)


def messages(code: str, columns: list[str] | None = None) -> str:
    problems = expression_problems(code, columns if columns is not None else ["price", "quantity", "x"])
    assert all(isinstance(p, ExpressionProblem) for p in problems)
    return "\n".join(p.message for p in problems)


# ---------------------------------------------------------------- arithmetic


def test_arithmetic_matches_numpy(table):
    price, quantity, discount = table["price"], table["quantity"], table["discount"]
    np.testing.assert_array_equal(
        run("price * quantity * (1 - discount)", table), price * quantity * (1 - discount)
    )
    np.testing.assert_array_equal(run("price / 4 + quantity - 1.5", table), price / 4 + quantity - 1.5)
    np.testing.assert_array_equal(run("price // 3", table), np.floor_divide(price, 3))
    np.testing.assert_array_equal(run("price % 7", table), np.remainder(price, 7))
    np.testing.assert_array_equal(run("-price + +discount", table), -price + discount)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("2 + 3 * 4", 14),
        ("(2 + 3) * 4", 20),
        ("10 - 4 - 3", 3),
        ("2 ** 3 ** 2", 512),
        ("-2 ** 2", -4),
        ("2 * 3 ** 2", 18),
        ("7 - 8 / 4 * 2", 3),
        ("1 + 2 > 2 and 3 < 2 * 2", True),
        ("not 1 > 2 or False", True),
    ],
)
def test_precedence_follows_python(code, expected, table):
    np.testing.assert_array_equal(run(code, table), np.full(N, expected))


def test_integer_results_stay_integer_and_booleans_count_as_one(table):
    result = run("quantity * 2 + 1", table)
    assert result.dtype.kind == "i"
    np.testing.assert_array_equal(result, table["quantity"] * 2 + 1)
    np.testing.assert_array_equal(run("flag + flag", table), [2, 0, 2, 0, 2])
    np.testing.assert_array_equal(run("-flag", table), [-1, 0, -1, 0, -1])


def test_division_by_a_zero_column_gives_inf_and_nan_not_an_exception(table):
    table["zero"] = np.zeros(N, dtype=np.int64)
    np.testing.assert_array_equal(run("price / zero", table), [np.inf, np.inf, np.inf, np.nan, np.inf])
    np.testing.assert_array_equal(run("quantity / zero", table), [np.inf, np.inf, np.nan, np.inf, np.inf])
    np.testing.assert_array_equal(run("quantity // zero", table), [np.inf, np.inf, np.nan, np.inf, np.inf])
    assert np.isnan(run("quantity % zero", table)).all()
    np.testing.assert_array_equal(run("price / quantity", table)[2], np.inf)


@pytest.mark.parametrize("code", ["quantity % 0", "price / 0", "quantity // (2 - 2)", "price / -0.0"])
def test_a_divisor_that_is_always_zero_is_refused(code):
    assert "always 0" in messages(code)


@pytest.mark.parametrize("code", ["start + hours(1e300)", "start + days(-1e6)", "minutes(1e20) > start"])
def test_a_constant_duration_past_the_date_range_is_refused(code):
    assert "longer than the supported date range" in messages(code, ["start"])


def test_a_float_literal_too_large_for_a_float_is_refused():
    assert "too large for a float" in messages("price * 1e309")


def test_only_expressions_with_text_branches_give_text():
    assert gives_text('"high" if price > 3 else "low"')
    assert gives_text('where(flag, "a", segment)')
    assert not gives_text("price * 2")
    assert not gives_text('segment == "vip"')


def test_bad_math_gives_nan_or_inf(table):
    assert np.isnan(run("log(amount)", table)[4])
    assert np.isnan(run("sqrt(amount)", table)[4])
    assert run("log(quantity)", table)[2] == -np.inf
    assert np.isinf(run("exp(amount * 100)", table)[1])
    np.testing.assert_array_equal(run("2 ** -1", table), np.full(N, 0.5))


def test_nan_propagates(table):
    assert np.isnan(run("price * 2 + 1", table)[3])
    assert np.isnan(run("max(price, 0)", table)[3])
    assert not run("price > 0", table)[3]
    assert run("price != price", table)[3]


def test_literal_is_broadcast_to_every_row(table):
    np.testing.assert_array_equal(run("7", table), np.full(N, 7))
    np.testing.assert_array_equal(run("2.5 * 2", table), np.full(N, 5.0))
    np.testing.assert_array_equal(run("True", table), np.full(N, True))
    assert parse_expression("1 + 1").evaluate({}, 0).shape == (0,)


def test_result_never_aliases_an_input_column(table):
    result = run("price", table)
    result[0] = -1.0
    assert table["price"][0] == 10.0


# ---------------------------------------------------------------- comparisons and logic


def test_chained_comparison_is_a_conjunction(table):
    quantity = table["quantity"]
    np.testing.assert_array_equal(run("1 <= quantity < 3", table), (quantity >= 1) & (quantity < 3))
    np.testing.assert_array_equal(
        run("0 < quantity <= price / 10 != 2", table),
        (quantity > 0) & (quantity <= table["price"] / 10) & (table["price"] / 10 != 2),
    )


def test_every_comparison_operator(table):
    amount = table["amount"]
    for code, expected in [
        ("amount < 100", amount < 100),
        ("amount <= 100", amount <= 100),
        ("amount > 100", amount > 100),
        ("amount >= 100", amount >= 100),
        ("amount == 100", amount == 100),
        ("amount != 100", amount != 100),
    ]:
        np.testing.assert_array_equal(run(code, table), expected, err_msg=code)


def test_and_or_not_are_element_wise(table):
    flag, amount = table["flag"], table["amount"]
    np.testing.assert_array_equal(run("flag and amount > 60", table), flag & (amount > 60))
    np.testing.assert_array_equal(run("flag or amount > 120", table), flag | (amount > 120))
    np.testing.assert_array_equal(run("not flag", table), ~flag)
    np.testing.assert_array_equal(
        run("amount > 0 and amount < 120 or segment == 'new'", table),
        ((amount > 0) & (amount < 120)) | (table["segment"] == "new"),
    )


def test_if_else_with_text_results(table):
    result = run('"high" if amount > 100 else "low"', table)
    assert result.dtype == object
    assert result.tolist() == ["low", "high", "low", "high", "low"]
    nested = run('"big" if amount > 120 else ("mid" if amount > 60 else "small")', table)
    assert nested.tolist() == ["small", "big", "mid", "mid", "small"]


def test_if_else_with_numbers_picks_per_row(table):
    np.testing.assert_array_equal(
        run("price * 2 if flag else price / 2", table),
        np.where(table["flag"], table["price"] * 2, table["price"] / 2),
    )


def test_text_column_compares_element_wise_with_nulls(table):
    np.testing.assert_array_equal(run('segment == "vip"', table), [True, False, False, True, False])
    np.testing.assert_array_equal(run("segment != 'vip'", table), [False, True, True, False, True])


# ---------------------------------------------------------------- functions


FUNCTION_CASES = {
    "abs": ("abs(amount)", lambda t: np.abs(t["amount"])),
    "min": ("min(price, amount, 25)", lambda t: np.minimum(np.minimum(t["price"], t["amount"]), 25)),
    "max": ("max(price, amount)", lambda t: np.maximum(t["price"], t["amount"])),
    "round": ("round(price / 3, 2)", lambda t: np.round(t["price"] / 3, 2)),
    "floor": ("floor(amount / 7)", lambda t: np.floor(t["amount"] / 7)),
    "ceil": ("ceil(amount / 7)", lambda t: np.ceil(t["amount"] / 7)),
    "sqrt": ("sqrt(price)", lambda t: np.sqrt(t["price"])),
    "exp": ("exp(discount)", lambda t: np.exp(t["discount"])),
    "log": ("log(price)", lambda t: np.log(t["price"])),
    "log10": ("log10(price)", lambda t: np.log10(t["price"])),
    "log1p": ("log1p(discount)", lambda t: np.log1p(t["discount"])),
    "clip": ("clip(amount, 0, 120)", lambda t: np.clip(t["amount"], 0, 120)),
    "where": ("where(flag, price, -1)", lambda t: np.where(t["flag"], t["price"], -1)),
    "pow": ("pow(price, 2)", lambda t: t["price"] ** 2.0),
    "minutes": ("minutes(duration)", lambda t: (t["duration"] * 60e6).round().astype("m8[us]")),
    "hours": ("hours(duration)", lambda t: (t["duration"] * 3600e6).round().astype("m8[us]")),
    "days": ("days(duration)", lambda t: (t["duration"] * 86400e6).round().astype("m8[us]")),
    "hours_between": (
        "hours_between(start, start + hours(duration))",
        lambda t: np.where(np.isnat(t["start"]), np.nan, t["duration"]),
    ),
    "hour": ("hour(start)", lambda t: _calendar_field(t["start"], lambda d: d.hour)),
    "dow": ("dow(start)", lambda t: _calendar_field(t["start"], lambda d: d.weekday())),
    "day": ("day(start)", lambda t: _calendar_field(t["start"], lambda d: d.day)),
    "month": ("month(start)", lambda t: _calendar_field(t["start"], lambda d: d.month)),
    "year": ("year(start)", lambda t: _calendar_field(t["start"], lambda d: d.year)),
    "str": ("str(price)", lambda t: np.array([_written(v) for v in t["price"]], dtype=object)),
    "lower": ("lower(segment)", lambda t: _each(t["segment"], str.lower)),
    "upper": ("upper(segment)", lambda t: _each(t["segment"], str.upper)),
    "zfill": (
        "zfill(quantity - 2, 3)",
        lambda t: _each((t["quantity"] - 2).astype(object), lambda v: str(v).zfill(3)),
    ),
}


def _written(value: float) -> str | None:
    """The reference of str(): a whole number without its '.0', others in Python's shortest form."""
    if np.isnan(value):
        return None
    return str(int(value)) if value == int(value) else repr(float(value))


def _each(values: np.ndarray, fn) -> np.ndarray:
    return np.array([None if v is None else fn(v) for v in values], dtype=object)


def _calendar_field(times: np.ndarray, field) -> np.ndarray:
    """The reference: Python's own calendar, one value at a time (NaT → NaN)."""
    return np.array([np.nan if np.isnat(t) else field(t.astype(object)) for t in times])


def test_function_cases_cover_the_whole_whitelist():
    assert set(FUNCTION_CASES) == set(FUNCTIONS)


@pytest.mark.parametrize("name", sorted(FUNCTION_CASES))
def test_whitelisted_function_matches_numpy(name, table):
    code, reference = FUNCTION_CASES[name]
    with np.errstate(all="ignore"):
        expected = reference(table)
    np.testing.assert_array_equal(run(code, table), expected)


def test_round_without_digits_rounds_half_to_even(table):
    np.testing.assert_array_equal(run("round(amount / 20)", table), [2.0, 8.0, 5.0, 5.0, -0.0])


def test_where_mixing_text_and_numbers_gives_objects(table):
    assert run("where(flag, 'yes', quantity)", table).tolist() == ["yes", 2, "yes", 3, "yes"]


# ---------------------------------------------------------------- datetimes


def test_datetime_plus_hours_gives_an_end_time(table):
    end = run("start + hours(duration)", table)
    assert end.dtype == np.dtype("datetime64[us]")
    assert end[0] == np.datetime64("2024-01-01T01:30")
    assert end[4] == np.datetime64("2024-12-31T23:15")
    assert np.isnat(end[2]) and np.isnat(end[3])  # NaT start, NaN duration


def test_datetime_days_minutes_difference_and_comparison(table):
    assert run("start + days(1) - minutes(30)", table)[1] == np.datetime64("2024-01-03T11:30")
    difference = run("(start + days(2)) - start", table)
    assert difference.dtype.kind == "m" and difference[0] == np.timedelta64(2, "D")
    np.testing.assert_array_equal(run("start + hours(1) > start", table), [True, True, False, True, True])
    np.testing.assert_array_equal(run('start >= "2024-03-01"', table), [False, False, False, True, True])
    np.testing.assert_array_equal(
        run('start < "2024-01-02T11:30-01:00"', table), [True, True, False, False, False]
    )


def test_calendar_fields_are_integers_and_read_times_before_1970():
    times = np.array(["1969-12-31T23:59:59", "1900-03-05T05:00", "2024-02-29T12:00"], dtype="datetime64[us]")
    code = "year(t) * 1000000 + month(t) * 10000 + day(t) * 100 + hour(t) + dow(t) / 10"
    values = parse_expression(code).evaluate({"t": times}, 3)
    np.testing.assert_allclose(values, [1969123123.2, 1900030505.0, 2024022912.3])
    assert parse_expression("hour(t)").evaluate({"t": times}, 3).dtype == np.int64


def test_calendar_fields_of_a_date_column_and_monday_mornings():
    days = np.array(["2024-06-03", "2024-06-09"], dtype="datetime64[D]")  # a Monday, a Sunday
    assert run_on({"d": days}, "dow(d)").tolist() == [0, 6]
    visits = np.array(["2024-06-03T09:15", "2024-06-03T14:00", "2024-06-10T07:00"], dtype="datetime64[us]")
    code = "1.5 if dow(at) == 0 and hour(at) < 12 else 1.0"
    assert run_on({"at": visits}, code).tolist() == [1.5, 1.0, 1.5]


def run_on(columns: dict[str, np.ndarray], code: str) -> np.ndarray:
    return parse_expression(code).evaluate(columns, len(next(iter(columns.values()))))


def test_a_calendar_field_of_a_number_is_refused_by_type_and_fails_loudly_at_run_time(table):
    problems = expression_problems("month(amount) + hour(start)", {"amount": "float", "start": "datetime"})
    assert [p.message for p in problems] == [
        "month() reads a datetime or date column; 'amount' is float — pass a time column, "
        "e.g. month(ordered_at)"
    ]
    with pytest.raises(GenerationError, match=r"hour\(\) reads a datetime or date column"):
        run("hour(amount)", table)


def test_hours_of_a_non_finite_number_is_nat(table):
    table["zero"] = np.zeros(N)
    assert np.isnat(run("hours(price / zero)", table)).all()


# ---------------------------------------------------------------- refused constructs


@pytest.mark.parametrize(
    ("code", "named"),
    [
        ("__import__('os')", "function '__import__' is not allowed"),
        ("().__class__", "attribute access '.__class__'"),
        ("x[0]", "subscript `x[0]`"),
        ("x[1:2]", "subscript"),
        ("lambda: 1", "lambda"),
        ("[c for c in x]", "comprehension"),
        ("open('f')", "function 'open' is not allowed"),
        ("price.real", "attribute access '.real'"),
        ("f'{price}'", "f-string"),
        ("(x := 1)", "assignment expression ':='"),
        ("x.conjugate()", "calling `x.conjugate`"),
        ("[1, 2]", "list"),
        ("{'a': 1}", "dict"),
        ("x & 1", "operator '&'"),
        ("~x", "operator '~'"),
        ("x is None", "comparison 'is'"),
        ("x in price", "comparison 'in'"),
        ("None", "None is not allowed"),
        ("1j", "complex number"),
        ("b'x'", "literal `b'x'`"),
        ("round(x, ndigits=2)", "keyword argument 'ndigits='"),
        ("max(*x)", "'*' unpacking"),
        ("max(x, **price)", "'**' unpacking"),
        ("'a' - x", "text literal `'a'` cannot be used in arithmetic ('-')"),
        ("'a' + 1", "`1` is not text, and '+' joins text only with text — write it as text with str(1)"),
        ("'a' + price * 2", "`price * 2` is not text"),
        ("x.upper()", "calling `x.upper` is not allowed — call it as a function of the value: upper(text)"),
        ("lower(price * 2)", "lower() changes text; `price * 2` is not text"),
        ("zfill(x, 0)", "zfill()'s width must be a whole-number literal from 1 to 100"),
        ("zfill(x, price)", "zfill()'s width must be a whole-number literal"),
        ("sqrt('4')", "cannot be used as an argument of sqrt()"),
        ("('a' if x else 'b') * 2", "text result of"),
        ("'constant'", "the whole expression is the text"),
        ("min(x)", "min() takes 2 or more arguments, got 1"),
        ("clip(x, 1)", "clip() takes 3 arguments, got 2"),
        ("round(x, price)", "whole-number literal"),
        ("99999999999999999999", "does not fit in 64 bits"),
        ("price(2)", "'price' is a column, not a function"),
    ],
)
def test_refused_constructs_are_named(code, named):
    assert named in messages(code)
    with pytest.raises(ExpressionSyntaxError, match="cannot be used"):
        parse_expression(code)


def test_function_name_used_as_a_column_is_explained():
    assert "'sqrt' is a function, not a column — call it: sqrt(x)" in messages("sqrt + 1")
    assert parse_expression("exp * 2").columns == {"exp"}  # a table may have a column named like a function


def test_unknown_function_suggests_the_close_name():
    text = messages("sqr(price)")
    assert "function 'sqr' is not allowed — did you mean 'sqrt' or 'str'?" in text
    assert "allowed functions: abs, min, max" in text


def test_unknown_column_suggests_the_close_name_and_lists_columns():
    text = messages("quantty * 2", ["price", "quantity", "discount"])
    assert "unknown column 'quantty' — did you mean 'quantity'?" in text
    assert "columns you can use: discount, price, quantity" in text


def test_unknown_column_in_a_wide_table_is_not_listed():
    columns = [f"col_{i}" for i in range(40)]
    text = messages("colum_3 + 1", columns)
    assert "unknown column 'colum_3'" in text and "40 columns available" in text
    assert "columns you can use" not in text


def test_an_unknown_name_is_reported_once():
    assert len(expression_problems("y + y * y", ["x"])) == 1


def test_all_problems_are_reported_together():
    problems = expression_problems("sqr(quantty) + x[0] + price.real", ["price", "quantity", "x"])
    text = "\n".join(p.message for p in problems)
    assert len(problems) == 4
    for fragment in ("'sqr'", "'quantty'", "subscript", "'.real'"):
        assert fragment in text


def test_valid_expressions_have_no_problems():
    columns = ["price", "quantity", "segment", "start", "duration"]
    for code in [
        "price * quantity",
        '"high" if price > 100 else "low"',
        'segment == "vip" and not quantity > 3',
        "start + hours(duration)",
        "where(price > 1, 'a', 'b')",
        "round(price, -1) + pow(quantity, 2) + price ** -3",
    ]:
        assert expression_problems(code, columns) == [], code


def test_syntax_error_gives_the_position():
    text = messages("price * * 2")
    assert "syntax error at column 9" in text
    assert "price * * 2\n              ^" in text
    assert "column 8" in messages("price +")
    assert "syntax error at column 1: '(' was never closed" in messages("(price")
    assert "to compare use '=='" in messages("price = 2")


def test_syntax_error_position_counts_leading_spaces():
    assert "column 11" in messages("  price * * 2")


def test_parse_error_is_an_input_error_listing_every_problem():
    with pytest.raises(ExpressionSyntaxError) as caught:
        parse_expression("open('f') + x[0]")
    error = caught.value
    assert isinstance(error, InputError)
    assert len(error.problems) == 2
    assert "function 'open'" in str(error) and "subscript" in str(error)


def test_parse_does_not_check_column_names():
    assert parse_expression("anything * 2").columns == frozenset({"anything"})


# ---------------------------------------------------------------- resource guards


def test_too_long_expression_is_refused():
    code = " + ".join(["x"] * (MAX_LENGTH // 4 + 1))
    assert len(code) > MAX_LENGTH
    assert f"the limit is {MAX_LENGTH}" in messages(code)


def test_too_deep_expression_is_refused():
    assert f"more than {MAX_DEPTH} levels" in messages("(" * 60 + "x" + ")" * 60 + " + -" * 60 + "x")
    assert f"more than {MAX_DEPTH} levels" in messages("-" * 1990 + "x")
    assert messages("-" * 40 + "x") == ""


def test_huge_constant_exponent_is_refused():
    assert "above the limit of 100" in messages("10 ** 10 ** 10")
    assert "above the limit of 100" in messages("x ** 101")
    assert "above the limit of 100" in messages("pow(x, 1000)")
    assert messages("x ** 100") == ""
    assert messages("x ** price") == ""  # not a constant: evaluated in float, so at worst inf


# ---------------------------------------------------------------- referenced columns and evaluation errors


def test_referenced_columns_are_the_names_read_not_the_functions():
    assert referenced_columns("sqrt(a) + b * max(c, d) if e > hours(f) else g") == {
        "a",
        "b",
        "c",
        "d",
        "e",
        "f",
        "g",
    }
    assert referenced_columns("1 + 2") == set()
    assert parse_expression("price * (1 - discount)").columns == frozenset({"price", "discount"})


def test_referenced_columns_raises_on_syntax_error():
    with pytest.raises(ExpressionSyntaxError, match="syntax error"):
        referenced_columns("a +")


def test_missing_input_column_is_a_generation_error(table):
    with pytest.raises(GenerationError, match="needs column"):
        parse_expression("price + nope").evaluate(table, N)


def test_wrong_length_column_is_a_generation_error(table):
    with pytest.raises(GenerationError, match="do not have 3 rows"):
        parse_expression("price + 1").evaluate(table, 3)


def test_incompatible_types_are_a_generation_error_naming_the_expression(table):
    with pytest.raises(GenerationError, match="expression 'segment \\* 2 - 1' could not be computed"):
        run("segment * 2 - 1", table)


def test_text_column_in_arithmetic_is_an_error_not_repetition(table):
    with pytest.raises(GenerationError, match="could not convert string to float: 'vip'"):
        run("segment * 2", table)


def test_object_column_with_none_reads_as_float_with_nan():
    column = np.array([1, None, 3], dtype=object)
    result = parse_expression("x * 2").evaluate({"x": column}, 3)
    np.testing.assert_array_equal(result, [2.0, np.nan, 6.0])


def test_expression_is_a_plain_value_object():
    parsed = parse_expression("a + 1")
    assert isinstance(parsed, Expression)
    assert parsed == parse_expression("a + 1") and parsed.code == "a + 1"


# ---------------------------------------------------------------- property


def _trees():
    """(code, reference) pairs: random arithmetic over float columns a and b, with the numpy equivalent."""
    leaves = st.one_of(
        st.just(("a", lambda a, b: a)),
        st.just(("b", lambda a, b: b)),
        st.floats(-50, 50, allow_nan=False).map(lambda v: (f"({v!r})", lambda a, b, v=v: np.float64(v))),
    )
    binary = {
        "+": np.add,
        "-": np.subtract,
        "*": np.multiply,
        "/": np.true_divide,
        "//": np.floor_divide,
        "%": np.remainder,
    }

    def extend(children):
        pairs = st.tuples(children, st.sampled_from(sorted(binary)), children)
        return st.one_of(
            pairs.map(
                lambda t: (
                    f"({t[0][0]} {t[1]} {t[2][0]})",
                    lambda a, b, t=t: binary[t[1]](t[0][1](a, b), t[2][1](a, b)),
                )
            ),
            children.map(lambda c: (f"(-{c[0]})", lambda a, b, c=c: np.negative(c[1](a, b)))),
            st.tuples(children, children).map(
                lambda t: (
                    f"max({t[0][0]}, {t[1][0]})",
                    lambda a, b, t=t: np.maximum(t[0][1](a, b), t[1][1](a, b)),
                )
            ),
            children.map(lambda c: (f"abs({c[0]})", lambda a, b, c=c: np.abs(c[1](a, b)))),
            st.tuples(children, st.sampled_from([0.5, 2, 3])).map(
                lambda t: (f"({t[0][0]} ** {t[1]})", lambda a, b, t=t: np.power(t[0][1](a, b), float(t[1])))
            ),
        )

    return st.recursive(leaves, extend, max_leaves=12)


@settings(max_examples=150, deadline=None)
@given(
    tree=_trees(),
    a=arrays(np.float64, 6, elements=st.floats(allow_nan=True, allow_infinity=True, width=64)),
    b=arrays(np.float64, 6, elements=st.floats(-1e6, 1e6)),
)
def test_random_arithmetic_matches_numpy(tree, a, b):
    code, reference = tree
    assume(not expression_problems(code, ["a", "b"]))  # e.g. a constant 0 divisor, refused at check
    with np.errstate(all="ignore"):
        expected = np.broadcast_to(reference(a, b), (6,))
    np.testing.assert_array_equal(parse_expression(code).evaluate({"a": a, "b": b}, 6), expected)


# ---------------------------------------------------------------- text


def test_plus_joins_text_and_a_null_side_gives_null(table):
    assert run('"Hotel " + segment', table).tolist() == [
        "Hotel vip",
        "Hotel std",
        None,
        "Hotel vip",
        "Hotel new",
    ]
    assert run('segment + "-" + segment', table).tolist()[:3] == ["vip-vip", "std-std", None]
    assert run("'a' + 'b'", table).tolist() == ["ab"] * N  # a constant broadcast to every row


def test_plus_joins_numpy_string_columns_and_gives_an_object_array():
    result = parse_expression("code + '/' + name").evaluate(
        {"code": np.array(["A", "B"]), "name": np.array(["x", "yy"])}, 2
    )
    assert result.dtype == object and result.tolist() == ["A/x", "B/yy"]


def test_a_column_of_nulls_is_null_text_beside_text_and_nan_beside_numbers():
    nulls = np.array([None, None], dtype=object)
    assert parse_expression("'a' + x").evaluate({"x": nulls}, 2).tolist() == [None, None]
    assert np.isnan(parse_expression("x + 1").evaluate({"x": nulls}, 2)).all()


def test_text_plus_a_number_fails_at_run_time_asking_for_str(table):
    with pytest.raises(GenerationError, match="write str\\(x\\) to join a number to text"):
        run("segment + quantity", table)  # the check did not know the types here


def test_str_writes_an_int_column_carried_as_floats_as_written():
    """Nulls make the engine carry an `int` column as floats; its text is still the whole number."""
    written = parse_expression("'#' + str(n)").evaluate({"n": np.array([28.0, np.nan, -0.0, 2.5, 1e20])}, 5)
    assert written.tolist() == ["#28", None, "#0", "#2.5", "#1e+20"]
    integers = parse_expression("str(n)").evaluate({"n": np.array([28, -3], dtype=np.int64)}, 2)
    assert integers.tolist() == ["28", "-3"]


def test_str_of_text_keeps_it_and_str_of_a_time_or_truth_value_fails(table):
    assert run("str(segment)", table).tolist() == table["segment"].tolist()
    for code in ("str(start)", "str(flag)"):
        with pytest.raises(GenerationError, match="str\\(\\) writes numbers or text"):
            run(code, table)


def test_zfill_keeps_the_sign_first_and_longer_text_whole():
    values = np.array([7, -42, 12345, 0], dtype=np.int64)
    assert parse_expression("zfill(n, 4)").evaluate({"n": values}, 4).tolist() == [
        "0007",
        "-042",
        "12345",
        "0000",
    ]
    assert parse_expression("zfill(t, 3)").evaluate(
        {"t": np.array(["-", "ab", None], dtype=object)}, 3
    ).tolist() == [
        "-00",
        "0ab",
        None,
    ]


def test_lower_and_upper_fail_on_numbers_at_run_time(table):
    with pytest.raises(GenerationError, match="upper\\(\\) changes text"):
        run("upper(quantity)", table)


TYPES = {"city": "string", "rooms": "int", "rate": "float", "open": "bool", "built_at": "date"}


@pytest.mark.parametrize(
    ("code", "named"),
    [
        (
            "'Hotel ' + rooms",
            "'rooms' is an int column, and '+' joins text only with text — write it as text with str(rooms)",
        ),
        (
            "city + rate",
            "'rate' is a float column, and '+' joins text only with text — write it as text with str(rate)",
        ),
        ("city + built_at", "write a part of it as text, e.g. str(year(built_at))"),
        ("'open: ' + open", 'choose the text with if-else, e.g. ("yes" if open else "no")'),
        ("str(open)", "'open' is a bool column, and str() writes numbers or text"),
        ("str(built_at)", "'built_at' is a date column, and str() writes numbers or text"),
        ("upper(rooms)", "upper() changes text; `rooms` is not text"),
        ("city * 2", "text column 'city' cannot be used in arithmetic ('*')"),
        ("round(city)", "text column 'city' cannot be used as an argument of round()"),
    ],
)
def test_the_check_knows_text_columns_by_their_type(code, named):
    assert named in "\n".join(p.message for p in expression_problems(code, TYPES))


@pytest.mark.parametrize(
    "code",
    [
        "'Hotel ' + city",
        "city + ' (' + str(rooms) + ' rooms)'",
        "upper(city) + '-' + zfill(rooms, 4)",
        "lower(city + 'X')",
        "str(round(rate, 1)) + ' EUR'",
        "(city if open else 'closed') + '!'",
        "'closed' if not city else city",  # a text column is still a condition: empty or null is false
        "where(city, 1, 0) + rooms",
    ],
)
def test_text_joined_with_text_checks_clean(code):
    assert expression_problems(code, TYPES) == []


def test_a_column_of_unknown_type_may_join_text_until_the_table_is_known():
    assert expression_problems("'Hotel ' + city", ["city"]) == []
    assert parse_expression("'Hotel ' + city").columns == {"city"}


def test_joined_text_and_text_functions_give_text():
    assert gives_text("'Hotel ' + city") and gives_text("str(rooms)") and gives_text("zfill(rooms, 3)")
    assert gives_text("city if open else city", TYPES)
    assert not gives_text("city if open else city")  # the types are not known
    assert not gives_text("rooms + 1", TYPES)


@settings(max_examples=100, deadline=None)
@given(
    values=arrays(np.int64, 8, elements=st.integers(-(10**12), 10**12)),
    width=st.integers(1, 20),
)
def test_str_and_zfill_agree_with_python_on_whole_numbers(values, width):
    floats = values.astype(np.float64)  # an int column with nulls travels as floats
    got = parse_expression("str(n) + '|' + zfill(f, w)".replace("w", str(width))).evaluate(
        {"n": values, "f": floats}, 8
    )
    assert got.tolist() == [f"{v}|{str(v).zfill(width)}" for v in values.tolist()]


def test_upper_maps_each_character_so_the_text_keeps_its_length():
    upper = parse_expression("upper(t)").evaluate({"t": np.array(["straße", "Oslo"], dtype=object)}, 2)
    assert upper.tolist() == ["STRAẞE", "OSLO"]
