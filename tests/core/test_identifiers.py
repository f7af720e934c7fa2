import pytest

from core.identifiers import credit_code_check_char, is_valid_credit_code


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000802100433B", "91440300708461136T"])
def test_reference_credit_codes_are_valid(code):
    assert is_valid_credit_code(code)
    assert credit_code_check_char(code[:17]) == code[17]


@pytest.mark.parametrize(
    "code",
    [
        "91350100M000100Y44",  # wrong check character
        "91350100M000100Y4",  # 17 characters
        "91350100M0001O0Y43",  # letter O is not in the alphabet
        "91350100m000100Y43",  # lower case
        "",
    ],
)
def test_invalid_credit_codes_are_rejected(code):
    assert not is_valid_credit_code(code)


def test_check_value_of_31_maps_to_zero():
    # Find a body whose weighted sum is divisible by 31: the check character must then be "0", not index 31.
    body = next(f"9111000080210{n:04d}" for n in range(10000) if credit_code_check_char(f"9111000080210{n:04d}") == "0")
    assert is_valid_credit_code(body + "0")
