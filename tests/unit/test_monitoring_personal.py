"""Personal data of households: ID number checks, masking, sealing under a household key, wrapping."""

from __future__ import annotations

import uuid

import pytest
from pydantic import ValidationError

from services.monitoring import personal
from services.monitoring.commands import MemberIn, RegisterHousehold, sealed_members
from services.monitoring.personal import MasterKeys, Unreadable
from tests.support.monitoring import citizen_id, household_body

KNOWN_VALID = "11010519491231002X"  # the GB 11643 standard's own example
SECRET = "a-deployment-secret-of-32-characters-at-least"
HOUSEHOLD = uuid.UUID("0193f7c2-0000-7000-8000-000000000001")
OTHER = uuid.UUID("0193f7c2-0000-7000-8000-000000000002")


# -- citizen ID numbers (GB 11643) -------------------------------------------------------------------


@pytest.mark.parametrize("value", [KNOWN_VALID, "440524188001010014", citizen_id(5)])
def test_valid_numbers(value: str) -> None:
    assert personal.citizen_id_problem(value) is None


@pytest.mark.parametrize("wrong", "0123456789")
def test_a_wrong_check_character_is_named(wrong: str) -> None:
    problem = personal.citizen_id_problem(KNOWN_VALID[:17] + wrong)
    assert problem == "the check character should be X (GB 11643)"


def test_a_changed_digit_breaks_the_check() -> None:
    changed = KNOWN_VALID[:5] + "6" + KNOWN_VALID[6:]
    assert personal.citizen_id_problem(changed) is not None


@pytest.mark.parametrize(
    "value",
    [
        "",
        KNOWN_VALID[:17],  # 17 characters
        KNOWN_VALID + "0",  # 19
        "11010519491231002x",  # lower-case x: the command upper-cases first
        "1101051949123100AX",
        "11010519491231002Y",
        "１１０１０５１９４９１２３１００２Ｘ",  # full-width digits
        "１１０１０５１９４９１２３１００２X",  # full-width digits, an ASCII X: the same person twice
        "²" * 17 + "X",  # digits to str.isdigit, not to int
        "١١٠١٠٥١٩٤٩١٢٣١٠٠٢X",  # Arabic-Indic digits
    ],
)
def test_malformed_numbers(value: str) -> None:
    assert personal.citizen_id_problem(value) == (
        "a citizen ID number has 17 digits and a check character (0-9 or X)"
    )


@pytest.mark.parametrize(
    "birth", ["19491331", "19490031", "19491200", "19491232", "19490231", "19490431", "19000229", "20230229"]
)
def test_a_birth_date_that_is_not_a_date(birth: str) -> None:
    first17 = "110105" + birth + "002"
    value = first17 + personal.check_character(first17)
    assert personal.citizen_id_problem(value) == "the birth date in the ID number is not a date"


@pytest.mark.parametrize("birth", ["20000229", "19960229", "19491231", "19490101"])
def test_a_birth_date_that_is_a_date(birth: str) -> None:
    first17 = "110105" + birth + "002"
    assert personal.citizen_id_problem(first17 + personal.check_character(first17)) is None


def test_generated_test_numbers_are_valid_and_distinct() -> None:
    numbers = [citizen_id(n) for n in (0, 1, 999, 1000, 27_999, 28_000, 335_999, 336_000, 999_999)]
    assert all(personal.citizen_id_problem(n) is None for n in numbers)
    assert len(set(numbers)) == len(numbers)


def test_the_command_upper_cases_and_checks_the_number() -> None:
    fields = {"name": "张三", "relation": "head", "age": 70, "labour": "lost", "schooling": "primary"}
    assert MemberIn.model_validate({**fields, "id_number": KNOWN_VALID.lower()}).id_number == KNOWN_VALID
    with pytest.raises(ValidationError) as refused:
        MemberIn.model_validate({**fields, "id_number": KNOWN_VALID[:17] + "1"})
    assert "check character should be X" in str(refused.value)


def test_a_household_gives_each_number_once() -> None:
    body = household_body(1)
    body["members"][1]["id_number"] = body["members"][0]["id_number"]
    with pytest.raises(ValidationError) as refused:
        RegisterHousehold.model_validate(body)
    assert "id_number is given once" in str(refused.value)


def test_mask() -> None:
    assert personal.mask_id(KNOWN_VALID) == "1101**********002X"
    assert personal.mask_id("150602197001011234") == "1506**********1234"


# -- sealing under the household's key ---------------------------------------------------------------


def test_seal_and_unseal_round_trip() -> None:
    key = personal.new_household_key()
    fields = {"name": "王小明", "id_number": KNOWN_VALID, "phone": None}
    sealed = personal.seal(key, HOUSEHOLD, fields)
    assert sealed.startswith("v1.") and KNOWN_VALID not in sealed and "王小明" not in sealed
    assert personal.unseal(key, HOUSEHOLD, sealed) == fields
    assert personal.seal(key, HOUSEHOLD, fields) != sealed  # a fresh nonce each time


def test_a_sealed_value_is_bound_to_its_household() -> None:
    key = personal.new_household_key()
    sealed = personal.seal(key, HOUSEHOLD, {"name": "王小明"})
    with pytest.raises(Unreadable):
        personal.unseal(key, OTHER, sealed)


def test_another_key_or_no_key_reads_nothing() -> None:
    sealed = personal.seal(personal.new_household_key(), HOUSEHOLD, {"name": "王小明"})
    with pytest.raises(Unreadable):
        personal.unseal(personal.new_household_key(), HOUSEHOLD, sealed)
    with pytest.raises(Unreadable, match="erased"):
        personal.unseal(None, HOUSEHOLD, sealed)


def test_a_changed_or_unknown_sealed_value_reads_nothing() -> None:
    key = personal.new_household_key()
    sealed = personal.seal(key, HOUSEHOLD, {"name": "王小明"})
    body = sealed[3:]
    flipped = body[:10] + ("A" if body[10] != "A" else "B") + body[11:]
    with pytest.raises(Unreadable):
        personal.unseal(key, HOUSEHOLD, "v1." + flipped)
    with pytest.raises(Unreadable, match="version"):
        personal.unseal(key, HOUSEHOLD, "v2." + body)


def test_members_are_sealed_and_numbered() -> None:
    key = personal.new_household_key()
    body = RegisterHousehold.model_validate(household_body(7))
    members = sealed_members(key, HOUSEHOLD, body.members)
    assert [m.member_no for m in members] == [1, 2, 3]
    for member, given in zip(members, body.members, strict=True):
        assert given.id_number not in member.model_dump_json() and given.name not in member.model_dump_json()
        assert personal.unseal(key, HOUSEHOLD, member.sealed) == {
            "name": given.name,
            "id_number": given.id_number,
        }


# -- the deployment's master keys --------------------------------------------------------------------


def test_master_keys_need_a_long_secret() -> None:
    with pytest.raises(RuntimeError):
        MasterKeys.derive("short")
    with pytest.raises(RuntimeError):
        MasterKeys.derive("")


def test_wrap_and_unwrap_a_household_key() -> None:
    masters = MasterKeys.derive(SECRET)
    key = personal.new_household_key()
    wrapped = masters.wrap_key(HOUSEHOLD, key)
    assert key not in wrapped and masters.unwrap_key(HOUSEHOLD, wrapped) == key
    assert MasterKeys.derive(SECRET).unwrap_key(HOUSEHOLD, wrapped) == key  # derived the same each start
    with pytest.raises(Unreadable):
        masters.unwrap_key(OTHER, wrapped)
    with pytest.raises(Unreadable):
        MasterKeys.derive(SECRET + "-other").unwrap_key(HOUSEHOLD, wrapped)


def test_the_wrap_and_index_keys_differ() -> None:
    masters = MasterKeys.derive(SECRET)
    assert masters.wrap != masters.index and len(masters.wrap) == len(masters.index) == 32


def test_an_id_digest_is_keyed_stable_and_case_blind() -> None:
    masters = MasterKeys.derive(SECRET)
    digest = masters.id_digest(KNOWN_VALID)
    assert (
        digest == masters.id_digest(KNOWN_VALID.lower()) == MasterKeys.derive(SECRET).id_digest(KNOWN_VALID)
    )
    assert len(digest) == 32 and KNOWN_VALID.encode() not in digest
    assert digest != masters.id_digest(citizen_id(1))
    assert digest != MasterKeys.derive(SECRET + "-other").id_digest(KNOWN_VALID)


def test_free_text_is_searched_for_valid_id_numbers_only() -> None:
    number = citizen_id(31)
    assert personal.holds_citizen_id(f"户主{number}，住院")
    assert personal.holds_citizen_id(f"id {number.lower()} x") or not number.endswith("X")
    assert not personal.holds_citizen_id("电话13900001234，存折号6217000010012345678")  # 19 digits
    assert not personal.holds_citizen_id(number[:-1] + ("0" if number[-1] != "0" else "1"))  # bad check
    assert not personal.holds_citizen_id("2026年第3季度家庭人均纯收入7000元")


def test_a_malformed_sealed_value_is_unreadable_not_an_error() -> None:
    key, hid = personal.new_household_key(), uuid.uuid4()
    for value in ("v1.***", "v1.", "v1.YWJj"):
        with pytest.raises(Unreadable):
            personal.unseal(key, hid, value)
