"""Faker pools: the method catalogue, locale codes, deterministic pools, unique columns, per-row locales."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import numpy as np
import pytest

from datagen.errors import GenerationError
from datagen.faker_pool import (
    REFERENCE_NOW,
    FakerPool,
    known_methods,
    method_problem,
    normalise_locale,
    pool_for,
    sample_by_locale,
    unique_values,
)

EMAIL = re.compile(r"[A-Za-z0-9._+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+")


# --- catalogue and checks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "method",
    [
        "name",
        "email",
        "city",
        "company",
        "first_name",
        "date_of_birth",
        "pyint",
        "pydecimal",
        "boolean",
        "date_time",
    ],
)
def test_known_methods_include_value_methods(method):
    assert method in known_methods()


@pytest.mark.parametrize(
    "method",
    [
        "seed",
        "seed_instance",
        "zip",
        "tar",
        "csv",
        "json",
        "xml",
        "pydict",
        "pylist",
        "pystr_format",
        "random_int",
        "random_element",
        "binary",
        "image",
        "words",
        "profile",
        "latlng",
        "add_provider",
        "format",
    ],
)
def test_known_methods_exclude_non_data(method):
    assert method not in known_methods()


@pytest.mark.parametrize(
    ("typo", "expected"),
    [
        ("fist_name", "first_name"),
        ("email_address", "email"),
        ("phone", "phone_number"),
        ("surname", "last_name"),
        ("zip_code", "zipcode"),
    ],
)
def test_unknown_method_suggests(typo, expected):
    problem = method_problem(typo, None)
    assert problem is not None and f"'{typo}'" in problem
    assert f"'{expected}'" in problem.split("did you mean", 1)[1]


def test_typo_suggestion_comes_first():
    assert method_problem("fist_name", None).split("did you mean ", 1)[1].startswith("'first_name'")


def test_unknown_method_without_close_match_still_gives_examples():
    problem = method_problem("qqqqqqqq", None)
    assert "unknown faker method 'qqqqqqqq'" in problem and "'email'" in problem


def test_good_method_and_args_pass():
    assert method_problem("name", None) is None
    assert method_problem("pyint", {"min_value": 1, "max_value": 5}) is None


def test_unaccepted_arg_lists_the_accepted_ones():
    problem = method_problem("pyint", {"minimum": 1})
    assert "'minimum'" in problem and "min_value, max_value, step" in problem
    assert "did you mean 'min_value'" in problem


def test_args_on_a_method_without_parameters():
    assert "takes no arguments" in method_problem("city", {"style": "x"})


def test_bad_arg_values_are_caught_by_a_trial_call():
    assert "failed" in method_problem("pyint", {"min_value": 5, "max_value": 1})


def test_args_that_make_a_non_scalar_are_rejected():
    assert "returns UUID" in method_problem("uuid4", {"cast_to": None})


def test_fixed_locale_is_checked():
    assert "de_DE has no method 'state_abbr'" in method_problem("state_abbr", None, locale="DE")
    assert "unknown locale 'XX'" in method_problem("name", None, locale="XX")
    assert method_problem("name", None, locale="de-de") is None


# --- locales ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("US", "en_US"),
        ("us", "en_US"),
        ("en_US", "en_US"),
        ("en-US", "en_US"),
        ("en-us", "en_US"),
        ("DE", "de_DE"),
        ("de", "de_DE"),
        ("CZ", "cs_CZ"),
        ("GB", "en_GB"),
        ("UK", "en_GB"),
        ("JP", "ja_JP"),
        ("BR", "pt_BR"),
        ("CN", "zh_CN"),
        ("CH", "de_CH"),
        ("CA", "en_CA"),
        ("BE", "nl_BE"),
        ("IN", "en_IN"),
        ("fr-CA", "fr_CA"),
        ("de_AT", "de_AT"),
        (" fr ", "fr_FR"),
        ("en", "en_US"),
        ("ja", "ja_JP"),
        ("en_US.UTF-8", "en_US"),
        ("en_ZA", "en_US"),
        ("fr_QC", "fr_CA"),
    ],
)
def test_normalise_locale(code, expected):
    assert normalise_locale(code) == expected


@pytest.mark.parametrize("code", ["XX", "", "Germany", "zz_ZZ", None])
def test_normalise_locale_unknown(code):
    assert normalise_locale(code) is None


# --- pools --------------------------------------------------------------------------------------------


def test_same_inputs_same_pool_and_different_seed_different_pool():
    a = FakerPool("name", None, "en_US", seed=1, size=256).values
    b = FakerPool("name", None, "en_US", seed=1, size=256).values
    c = FakerPool("name", None, "en_US", seed=2, size=256).values
    assert np.array_equal(a, b)
    assert not np.array_equal(a, c)


def test_pools_differ_by_method_args_and_locale():
    base = FakerPool("pyint", None, "en_US", seed=1, size=64).values
    assert not np.array_equal(base, FakerPool("port_number", None, "en_US", seed=1, size=64).values)
    assert not np.array_equal(base, FakerPool("pyint", {"max_value": 50}, "en_US", seed=1, size=64).values)
    assert not np.array_equal(
        FakerPool("name", None, "en_US", seed=1, size=64).values,
        FakerPool("name", None, "en_GB", seed=1, size=64).values,
    )


@pytest.mark.parametrize(
    ("method", "dtype"),
    [
        ("name", object),
        ("pyint", np.int64),
        ("pydecimal", np.float64),
        ("latitude", np.float64),
        ("boolean", np.bool_),
        ("date_of_birth", np.dtype("datetime64[D]")),
        ("date_time", np.dtype("datetime64[us]")),
    ],
)
def test_pool_dtypes(method, dtype):
    values = FakerPool(method, None, "en_US", seed=3, size=32).values
    assert values.dtype == dtype
    if dtype is object:
        assert all(isinstance(v, str) for v in values)


def test_pool_is_read_only():
    with pytest.raises(ValueError):
        FakerPool("pyint", None, "en_US", seed=3, size=8).values[0] = 1


def test_relative_dates_are_measured_from_the_reference_not_the_wall_clock():
    ref = np.datetime64(REFERENCE_NOW.date(), "D")
    past = FakerPool("past_date", None, "en_US", seed=4, size=200).values
    assert past.min() >= ref - np.timedelta64(30, "D") and past.max() <= ref
    this_year = FakerPool("date_this_year", None, "en_US", seed=4, size=200).values
    assert set(this_year.astype("datetime64[Y]").astype(int) + 1970) == {REFERENCE_NOW.year}


def test_pools_do_not_depend_on_timezone_or_hash_seed():
    """Another process with a far-off TZ and another PYTHONHASHSEED builds the same pools."""
    cases = [
        ("name", "en_US"),
        ("email", "de_DE"),
        ("date_of_birth", "en_US"),
        ("date_time", "en_US"),
        ("ssn", "sv_SE"),
        ("iso8601", "en_US"),
    ]
    script = (
        "import json, sys\n"
        "from datagen.faker_pool import FakerPool\n"
        "cases = json.loads(sys.argv[1])\n"
        "print(json.dumps([FakerPool(m, None, loc, 11, size=50).values.astype(str).tolist()"
        " for m, loc in cases]))\n"
    )
    env = {**os.environ, "TZ": "Pacific/Kiritimati", "PYTHONHASHSEED": "12345"}
    done = subprocess.run(
        [sys.executable, "-c", script, json.dumps(cases)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    here = [FakerPool(m, None, loc, 11, size=50).values.astype(str).tolist() for m, loc in cases]
    assert json.loads(done.stdout) == here


def test_sample_is_deterministic_for_the_same_rng():
    pool = FakerPool("city", None, "en_US", seed=5, size=128)
    a = pool.sample(np.random.default_rng(9), 1000)
    b = pool.sample(np.random.default_rng(9), 1000)
    assert np.array_equal(a, b)
    assert set(a) <= set(pool.values)
    assert np.array_equal(pool.take(np.array([3, 0, 3])), pool.values[[3, 0, 3]])


def test_pool_for_is_cached_and_ignores_arg_order():
    a = pool_for("pyint", {"min_value": 1, "max_value": 9}, "en_US", 6, size=16)
    b = pool_for("pyint", {"max_value": 9, "min_value": 1}, "en_US", 6, size=16)
    assert a is b


def test_unknown_method_or_locale_is_a_generation_error():
    with pytest.raises(GenerationError, match="unknown faker method 'fist_name'") as err:
        FakerPool("fist_name", None, "en_US", seed=1, size=4)
    assert "first_name" in str(err.value)
    with pytest.raises(GenerationError, match="unknown faker locale 'XX'"):
        FakerPool("name", None, "XX", seed=1, size=4)


# --- unique -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["email", "name", "pyint", "date_of_birth", "day_of_week", "latitude"])
def test_unique_values_have_no_duplicates_beyond_the_pool(method):
    total = 1500  # three times the capped pool of 500 (day_of_week has only 7 values: many cycles)
    values = unique_values(method, None, "en_US", 21, np.arange(total), total, pool_cap=500)
    assert values.size == total
    assert np.unique(values.astype(str)).size == total


def test_unique_values_whole_range_equals_blocks():
    total = 1500
    whole = unique_values("name", None, "en_US", 22, np.arange(total), total, pool_cap=500)
    first = unique_values("name", None, "en_US", 22, np.arange(700), total, pool_cap=500)
    second = unique_values("name", None, "en_US", 22, np.arange(700, total), total, pool_cap=500)
    assert np.array_equal(np.concatenate([first, second]), whole)
    picked = np.array([1499, 3, 800, 0])
    scattered = unique_values("name", None, "en_US", 22, picked, total, pool_cap=500)
    assert np.array_equal(scattered, whole[picked])


def test_unique_values_without_suffix_when_pool_is_large_enough():
    total = 300
    values = unique_values("name", None, "en_US", 23, np.arange(total), total, pool_cap=500)
    assert np.unique(values).size == total
    assert not any(re.search(r" \d+$", v) for v in values)


def test_suffixed_names_are_pool_names_with_a_number():
    total = 1500
    values = unique_values("name", None, "en_US", 24, np.arange(total), total, pool_cap=500)
    plain = [v for v in values if not re.search(r" [0-9]+$", v)]
    numbered = [re.match(r"(.*) ([0-9]+)$", v) for v in values if re.search(r" [0-9]+$", v)]
    assert len(plain) == 500 and len(numbered) == 1000
    assert {m.group(2) for m in numbered} == {"2", "3"}
    assert {m.group(1) for m in numbered} <= set(plain)  # every pool name is used once per cycle


def test_suffixed_emails_stay_valid_looking():
    total = 1500
    values = unique_values("email", None, "en_US", 25, np.arange(total), total, pool_cap=500)
    assert all(EMAIL.fullmatch(v) for v in values)
    domains = {v.split("@")[1] for v in values}
    assert domains <= {"example.com", "example.net", "example.org"}


def test_unique_numbers_shift_into_disjoint_ranges():
    total = 1500
    values = unique_values(
        "pyint", {"min_value": 0, "max_value": 9999}, "en_US", 26, np.arange(total), total, pool_cap=500
    )
    assert values.dtype == np.int64 and np.unique(values).size == total
    assert values.min() >= 0


def test_unique_booleans_beyond_two_rows_fail():
    with pytest.raises(GenerationError, match="only 2 distinct values"):
        unique_values("boolean", None, "en_US", 27, np.arange(5), 5)


def test_unique_row_index_out_of_range_fails():
    with pytest.raises(GenerationError, match="outside"):
        unique_values("name", None, "en_US", 28, np.array([10]), 10, pool_cap=50)


# --- per-row locales ----------------------------------------------------------------------------------


def test_sample_by_locale_draws_each_row_from_its_locale():
    codes = np.array(["DE", "US", "de_DE", "XX", None, "DE", "us"] * 50, dtype=object)
    values = sample_by_locale("name", None, codes, 31, np.random.default_rng(1))
    german = set(pool_for("name", None, "de_DE", 31).values)
    american = set(pool_for("name", None, "en_US", 31).values)
    is_de = np.isin(codes.astype(str), ["DE", "de_DE"])
    assert set(values[is_de]) <= german
    assert set(values[~is_de]) <= american  # 'XX' and None fall back to en_US
    assert not set(values[is_de]) & american


def test_sample_by_locale_uses_the_given_default():
    codes = np.array(["XX"] * 40, dtype=object)
    values = sample_by_locale("name", None, codes, 32, np.random.default_rng(2), default_locale="fr_FR")
    assert set(values) <= set(pool_for("name", None, "fr_FR", 32).values)


def test_sample_by_locale_falls_back_when_the_locale_lacks_the_method():
    values = sample_by_locale("state_abbr", None, np.array(["DE"] * 30), 33, np.random.default_rng(3))
    assert set(values) <= set(pool_for("state_abbr", None, "en_US", 33).values)


def test_sample_by_locale_is_deterministic_and_row_local():
    codes = np.array(["DE", "FR", "JP", "US"] * 25, dtype=object)
    a = sample_by_locale("city", None, codes, 34, np.random.default_rng(4))
    b = sample_by_locale("city", None, codes, 34, np.random.default_rng(4))
    assert np.array_equal(a, b)
    changed = codes.copy()
    changed[5] = "JP"
    c = sample_by_locale("city", None, changed, 34, np.random.default_rng(4))
    assert np.array_equal(np.delete(a, 5), np.delete(c, 5))
    assert c[5] in set(pool_for("city", None, "ja_JP", 34).values)


def test_sample_by_locale_keeps_typed_values():
    codes = np.array(["DE", "GB"] * 10, dtype=object)
    values = sample_by_locale("date_of_birth", None, codes, 35, np.random.default_rng(5))
    assert values.dtype == np.dtype("datetime64[D]")
    assert values.max() <= np.datetime64(REFERENCE_NOW.date())
