"""The unified social credit code (统一社会信用代码) check of GB 32100-2015."""

from __future__ import annotations

import pytest

from services.pairing.credit_code import check_character, credit_code_problem
from tests.support.pairing import credit_code

_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"

# Published codes: the standard's own example and a real enterprise's code.
REAL_CODES = ["91350100M000100Y43", "91110000600037341L"]


@pytest.mark.parametrize("code", REAL_CODES)
def test_published_codes_are_valid(code: str) -> None:
    assert credit_code_problem(code) is None
    assert check_character(code[:17]) == code[17]


def test_generated_test_codes_are_valid_and_distinct() -> None:
    codes = [credit_code(n) for n in range(500)]
    assert len(set(codes)) == 500
    assert all(credit_code_problem(c) is None for c in codes)


@pytest.mark.parametrize("code", ["", "91350100M000100Y4", "91350100M000100Y431"])
def test_wrong_length_is_refused(code: str) -> None:
    assert credit_code_problem(code) == "a unified social credit code has 18 characters"


@pytest.mark.parametrize("bad", ["I", "O", "S", "V", "Z", "a", "-", " "])
def test_characters_outside_the_charset_are_named(bad: str) -> None:
    code = "91350100M000100Y4" + bad
    problem = credit_code_problem(code)
    assert problem is not None
    assert problem.startswith("characters not allowed") and bad in problem


def test_lowercase_is_not_silently_accepted() -> None:
    assert credit_code_problem("91350100m000100y43") is not None


def test_registering_division_must_be_digits() -> None:
    first17 = "9135A100M000100Y4"
    code = first17 + check_character(first17)  # a correct check character does not save it
    assert "6-digit code" in (credit_code_problem(code) or "")


def test_wrong_check_character_names_the_expected_one() -> None:
    assert credit_code_problem("91350100M000100Y44") == "the check character should be 3, not 4"


@pytest.mark.parametrize("position", range(17))
def test_every_single_character_substitution_is_detected(position: int) -> None:
    """The weights are non-zero modulo the prime 31, so no one-character typo slips through."""
    code = REAL_CODES[0]
    for replacement in _CHARSET:
        if replacement == code[position]:
            continue
        typo = code[:position] + replacement + code[position + 1 :]
        assert credit_code_problem(typo) is not None, typo


def test_a_swapped_check_character_is_detected() -> None:
    code = REAL_CODES[1]
    for replacement in _CHARSET.replace(code[17], ""):
        assert credit_code_problem(code[:17] + replacement) is not None
