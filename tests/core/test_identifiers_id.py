from datetime import date

import pytest

from core.identifiers import ID_NUMBER_PROVINCES, id_number_check_char, is_valid_id_number


def make_id(division: str = "110105", birth: str = "19900101", sequence: str = "123") -> str:
    """A valid identity number: the check character comes from the function under test."""
    body = division + birth + sequence
    return body + id_number_check_char(body)


def full_width(text: str) -> str:
    """`text` in full-width digits and letters, as typed with a Chinese input method."""
    return "".join(chr(ord(ch) + 0xFEE0) for ch in text)


def test_reference_identity_number_is_valid():
    assert is_valid_id_number("11010519491231002X")
    assert id_number_check_char("11010519491231002") == "X"


@pytest.mark.parametrize(
    "province", ["11", "15", "21", "23", "31", "37", "41", "46", "50", "54", "61", "65", "71", "81", "82", "91"]
)
def test_every_listed_province_code_is_accepted(province):
    assert province in ID_NUMBER_PROVINCES
    assert is_valid_id_number(make_id(division=province + "0101"))


@pytest.mark.parametrize(
    "province",
    [
        "00",
        "10",
        "16",
        "20",
        "24",
        "30",
        "38",
        "40",
        "47",
        "49",
        "55",
        "60",
        "66",
        "70",
        "72",
        "80",
        "83",
        "90",
        "92",
        "99",
    ],
)
def test_unlisted_province_codes_are_rejected(province):
    assert not is_valid_id_number(make_id(division=province + "0101"))


@pytest.mark.parametrize("birth", ["19000101", "19491231", "20000229", "19840615"])
def test_real_birth_dates_are_accepted(birth):
    assert is_valid_id_number(make_id(birth=birth))


@pytest.mark.parametrize(
    "birth",
    [
        "19990230",  # 30 February
        "19990229",  # 1999 is not a leap year
        "19001301",  # month 13
        "19990001",  # month 0
        "19990100",  # day 0
        "19990431",  # 31 April
        "18991231",  # before 1900
        "00000000",
    ],
)
def test_impossible_birth_dates_are_rejected(birth):
    assert not is_valid_id_number(make_id(birth=birth))


def test_birth_date_may_be_today_but_not_later():
    today = date(2024, 5, 20)
    assert is_valid_id_number(make_id(birth="20240520"), today=today)
    assert not is_valid_id_number(make_id(birth="20240521"), today=today)


def test_future_birth_date_is_rejected_against_the_real_date():
    assert not is_valid_id_number(make_id(birth=f"{date.today().year + 1}0101"))


def test_every_check_character_is_reachable_and_verified():
    numbers = [make_id(sequence=f"{n:03d}") for n in range(60)]
    assert {number[-1] for number in numbers} == set("0123456789X")
    for number in numbers:
        assert is_valid_id_number(number)
        wrong = next(ch for ch in "0123456789X" if ch != number[-1])
        assert not is_valid_id_number(number[:17] + wrong)


@pytest.mark.parametrize(
    "value",
    [
        "11010519491231002",  # 17 characters
        "11010519491231002X0",  # 19 characters
        "11010519491231002x",  # the canonical form has an upper-case X
        "1101051949123100X2",  # X only as the check character
        "11010519491231 02X",
        full_width("11010519491231002") + "X",
        "",
    ],
)
def test_malformed_identity_numbers_are_rejected(value):
    assert not is_valid_id_number(value)


@pytest.mark.parametrize(
    "first17", ["1101051949123100", "110105194912310021", "1101051949123100A", full_width("11010519491231002")]
)
def test_check_char_needs_17_ascii_digits(first17):
    with pytest.raises(ValueError, match="17 digits"):
        id_number_check_char(first17)
