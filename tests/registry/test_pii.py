import dataclasses

import pytest

from core.identifiers import id_number_check_char
from registry.pii import (
    COMPOUND_SURNAMES,
    MAX_VALUE_LENGTH,
    SINGLE_SURNAMES,
    ColumnFinding,
    PiiKind,
    header_hints,
    is_bank_card,
    is_email,
    is_id_number,
    is_luhn_valid,
    is_mobile,
    is_person_name,
    luhn_check_digit,
    scan_column,
    scan_table,
    split_surname,
)


def make_id(division: str = "370202", birth: str = "19850704", sequence: str = "123") -> str:
    body = division + birth + sequence
    return body + id_number_check_char(body)


def make_ids(count: int) -> list[str]:
    return [
        make_id(birth=f"19{50 + n % 50:02d}{1 + n % 12:02d}{1 + n % 28:02d}", sequence=f"{n:03d}") for n in range(count)
    ]


def make_card(body: str) -> str:
    return body + luhn_check_digit(body)


def with_wrong_check_char(number: str) -> str:
    return number[:17] + ("0" if number[17] != "0" else "1")


def full_width(text: str) -> str:
    """`text` in full-width digits and letters, as typed with a Chinese input method."""
    return "".join(chr(ord(ch) + 0xFEE0) for ch in text)


CARD_16 = make_card("622202123456789")
CARD_19 = make_card("621700000012345678")


# --- identity numbers -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "11010519491231002X",
        "11010519491231002x",
        " 11010519491231002X ",
        make_id(),
        make_id(division="820000"),
        full_width("11010519491231002X"),
    ],
)
def test_identity_numbers_are_detected(value):
    assert is_id_number(value)


@pytest.mark.parametrize(
    "value",
    [
        with_wrong_check_char("11010519491231002X"),
        make_id(birth="19990230")[:17] + "X",
        "110105" + "19990230" + "123" + id_number_check_char("11010519990230123"),  # bad date, right check char
        "100105" + "19490101" + "002" + id_number_check_char("10010519490101002"),  # province 10
        "11010519491231002",
        "11010519491231002X1",
        "11010519491231002Y",
        "1101051949-1231002X",
        "",
    ],
)
def test_wrong_identity_numbers_are_rejected(value):
    assert not is_id_number(value)


# --- mobile numbers ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "13812345678",
        "19912345678",
        "+8613812345678",
        "8613812345678",
        "008613812345678",
        "+86 138 1234 5678",
        "+86-138-1234-5678",
        "0086 138-1234-5678",
        "138 1234 5678",
        "138-1234-5678",
        " 15012345678 ",
        full_width("13812345678"),
    ],
)
def test_mobile_numbers_are_detected(value):
    assert is_mobile(value)


@pytest.mark.parametrize(
    "value",
    [
        "12812345678",  # 12…
        "11812345678",
        "10812345678",
        "138123456789",  # 12 digits
        "1381234567",  # 10 digits
        "138 12345678",  # not 3-4-4
        "138-1234 5678",  # mixed separators
        "+1 13812345678",
        "8713812345678",
        "010-12345678",  # a landline
        "1381234567a",
        "",
    ],
)
def test_wrong_mobile_numbers_are_rejected(value):
    assert not is_mobile(value)


# --- bank cards -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [16, 17, 18, 19])
def test_bank_cards_of_every_length_are_detected(length):
    card = make_card(("6" + "1234567890" * 2)[: length - 1])
    assert len(card) == length
    assert is_bank_card(card)


@pytest.mark.parametrize(
    "value",
    [
        CARD_16,
        CARD_19,
        " ".join(CARD_16[i : i + 4] for i in range(0, 16, 4)),
        "-".join(CARD_16[i : i + 4] for i in range(0, 16, 4)),
        " ".join(CARD_19[i : i + 4] for i in range(0, 19, 4)),
    ],
)
def test_formatted_bank_cards_are_detected(value):
    assert is_bank_card(value)


@pytest.mark.parametrize(
    "value",
    [
        CARD_16[:-1] + str((int(CARD_16[-1]) + 1) % 10),  # Luhn failure
        "0000000000000000",  # all zero: passes Luhn
        "0" * 19,
        make_card("622202123456"),  # 13 digits
        make_card("62220212345678901234"),  # 21 digits
        CARD_16[:4] + " " + CARD_16[4:],  # not grouped by four
        CARD_16[:4] + " " + CARD_16[4:8] + "-" + CARD_16[8:12] + " " + CARD_16[12:],
        CARD_16[:-1] + "X",
        "",
    ],
)
def test_wrong_bank_cards_are_rejected(value):
    assert not is_bank_card(value)


def test_repeated_digit_is_rejected_even_when_luhn_valid():
    assert is_luhn_valid("0000000000000000")
    assert not is_bank_card("0000000000000000")


@pytest.mark.parametrize("body", ["", "12a", full_width("123")])
def test_luhn_check_digit_needs_digits(body):
    with pytest.raises(ValueError, match="digits"):
        luhn_check_digit(body)


# --- e-mail -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "zhang.san@example.com",
        "user+tag@mail.example.com.cn",
        "12345678@qq.com",
        "o'brien@example.co.uk",
        "a_b-c@sub-domain.example.org",
        "user@example.xn--fiqs8s",
        "zhang" + full_width("@") + "example.com",
    ],
)
def test_emails_are_detected(value):
    assert is_email(value)


@pytest.mark.parametrize(
    "value",
    [
        "zhang@localhost",  # no dot in the domain
        "zhang@@example.com",
        ".zhang@example.com",
        "zhang.@example.com",
        "zhang..san@example.com",
        "zhang san@example.com",
        "zhang@example",
        "@example.com",
        "zhang@-example.com",
        "zhang@example.c",
        "张三@example.com",
        "a" * 60 + "@example.com",  # longer than 64 characters
        "",
    ],
)
def test_wrong_emails_are_rejected(value):
    assert not is_email(value)


# --- person names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "value", ["张三", "王小明", "李娜", "欧阳锋", "司马相如", "诸葛亮", "上官婉儿", "东方明", "陳大文", " 刘伟 "]
)
def test_person_names_are_detected(value):
    assert is_person_name(value)


@pytest.mark.parametrize(
    "value",
    [
        "青岛海洋数据科技有限公司",
        "王氏集团",
        "华夏银行",
        "协和医院",
        "北京市",
        "朝阳区",
        "黄岛区",
        "李村",
        "江苏",
        "成都",
        "苗族",
        "金额",
        "余额",
        "周一",
        "张",  # one character
        "欧阳娜娜娜",  # five characters
        "某某",  # not a surname
        "Zhang San",
        "张三3",
        "",
    ],
)
def test_non_names_are_rejected(value):
    assert not is_person_name(value)


def test_surname_lists_hold_the_common_and_compound_surnames():
    assert 300 <= len(SINGLE_SURNAMES) <= 400
    assert all(len(surname) == 1 for surname in SINGLE_SURNAMES)
    expected = {"欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "令狐", "夏侯"}
    assert expected <= COMPOUND_SURNAMES


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("张三", ("张", "三")),
        ("欧阳锋", ("欧阳", "锋")),
        ("司马相如", ("司马", "相如")),
        ("欧阳", ("欧", "阳")),
        ("某某", ("", "某某")),
    ],
)
def test_split_surname(name, expected):
    assert split_surname(name) == expected


def test_values_longer_than_the_limit_never_match():
    long_email = "a" * (MAX_VALUE_LENGTH - len("@example.com") + 1) + "@example.com"
    assert len(long_email) == MAX_VALUE_LENGTH + 1
    assert not is_email(long_email)
    assert is_email(long_email[1:])
    assert scan_column("email", [long_email] * 10) == []


# --- header hints -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "kinds"),
    [
        ("身份证", {PiiKind.ID_NUMBER}),
        ("身份证号码", {PiiKind.ID_NUMBER}),
        ("id_card", {PiiKind.ID_NUMBER}),
        ("idCardNo", {PiiKind.ID_NUMBER}),
        ("IDNO", {PiiKind.ID_NUMBER}),
        ("sfzh", {PiiKind.ID_NUMBER}),
        ("手机号", {PiiKind.MOBILE}),
        ("联系电话", {PiiKind.MOBILE}),
        ("mobile", {PiiKind.MOBILE}),
        ("customerPhone", {PiiKind.MOBILE}),
        ("tel", {PiiKind.MOBILE}),
        ("银行卡号", {PiiKind.BANK_CARD}),
        ("card_no", {PiiKind.BANK_CARD}),
        ("bank_card", {PiiKind.BANK_CARD}),
        ("邮箱", {PiiKind.EMAIL}),
        ("E-mail", {PiiKind.EMAIL}),
        ("e_mail", {PiiKind.EMAIL}),
        ("姓名", {PiiKind.PERSON_NAME}),
        ("客户姓名", {PiiKind.PERSON_NAME}),
        ("name", {PiiKind.PERSON_NAME}),
        ("full_name", {PiiKind.PERSON_NAME}),
        ("联系人", {PiiKind.PERSON_NAME}),
        ("联系人电话", {PiiKind.PERSON_NAME, PiiKind.MOBILE}),
        ("company_name", set()),
        ("productName", set()),
        ("user_name", set()),
        ("企业名称", set()),
        ("用户名", set()),
        ("paid_no", set()),
        ("amount", set()),
        ("identifier", set()),
    ],
)
def test_header_hints(column, kinds):
    assert header_hints(column) == kinds


# --- scanning ---------------------------------------------------------------------------------------------


def test_seventy_ids_in_a_hundred_values_is_an_id_column():
    # given 70 valid identity numbers, 10 with a wrong check character, 10 mobiles and 10 words
    ids = make_ids(70)
    values = ids + [with_wrong_check_char(v) for v in ids[:10]] + ["13812345678"] * 10 + ["不详"] * 10
    # when
    findings = scan_column("证件", values)
    # then
    assert findings == [
        ColumnFinding(
            "证件", PiiKind.ID_NUMBER, matched=70, checked=100, match_rate=0.7, header_hint=False, confidence="medium"
        )
    ]


def test_empty_values_are_not_counted():
    findings = scan_column("col", [*make_ids(30), *([None] * 50), *([""] * 10), *(["  "] * 10)])
    assert [(f.kind, f.matched, f.checked, f.match_rate) for f in findings] == [(PiiKind.ID_NUMBER, 30, 30, 1.0)]


def test_no_values_no_finding():
    assert scan_column("身份证号", [None, "", " "]) == []
    assert scan_column("身份证号", []) == []


def test_header_hint_lowers_the_bar():
    values = make_ids(20) + [f"备注{n}" for n in range(80)]
    assert scan_column("remark", values) == []
    [finding] = scan_column("身份证号", values)
    assert (finding.kind, finding.match_rate, finding.header_hint, finding.confidence) == (
        PiiKind.ID_NUMBER,
        0.2,
        True,
        "low",
    )


def test_header_hint_alone_is_not_enough():
    values = make_ids(5) + ["n/a"] * 95
    assert scan_column("身份证号", values) == []


@pytest.mark.parametrize("column", ["客户名称", "company_name", "name", "单位", "col_7"])
def test_company_names_are_not_person_names(column):
    companies = [
        "青岛海洋数据科技有限公司",
        "山东省港口集团有限公司",
        "中国工商银行青岛分行",
        "青岛市市立医院",
        "海尔集团",
        "张氏贸易有限公司",
        "王府井百货",
        "李宁体育用品有限公司",
        "北京市朝阳区人民政府",
        "青岛大学",
    ]
    assert scan_column(column, companies * 10) == []


def test_order_numbers_of_eighteen_digits_are_not_identity_numbers():
    # given 18-digit order numbers: identity-shaped with a wrong check character, and plain sequences
    wrong = [with_wrong_check_char(v) for v in make_ids(50)]
    sequential = [f"{202401010000000000 + n * 7919}" for n in range(50)]
    # when
    findings = scan_column("order_id", wrong + sequential)
    # then
    assert all(f.kind != PiiKind.ID_NUMBER for f in findings)
    assert findings == []


def test_names_are_found_by_value():
    names = ["张伟", "王芳", "李娜", "刘洋", "陈静", "欧阳锋", "诸葛亮", "杨帆", "赵磊", "黄敏"]
    [finding] = scan_column("联系", names * 10)
    assert (finding.kind, finding.match_rate, finding.confidence) == (PiiKind.PERSON_NAME, 1.0, "medium")
    [finding] = scan_column("姓名", names * 10)
    assert finding.confidence == "high"


def test_name_header_with_name_shaped_values_flags_rare_surnames():
    rare = [f"{surname}{given}" for surname in "仉禚笪佴郗" for given in ("小明", "伟", "静", "子涵", "一", "晓")]
    assert not any(name[0] in SINGLE_SURNAMES for name in rare)
    values = rare + ["张伟"] * 3 + ["N/A"] * 67  # 30 % name-shaped, 3 % recognised names
    [finding] = scan_column("姓名", values)
    assert (finding.kind, finding.matched, finding.checked, finding.header_hint, finding.confidence) == (
        PiiKind.PERSON_NAME,
        3,
        100,
        True,
        "low",
    )
    assert scan_column("备注", values) == []
    assert scan_column("姓名", rare[:20] + ["N/A"] * 80) == []  # 20 % name-shaped is not enough


def test_a_tie_goes_to_the_header_hint_then_to_the_kinds_order():
    # given half identity numbers, half bank cards
    values = make_ids(50) + [make_card(f"62220212345{n:04d}") for n in range(50)]
    # then
    assert [(f.kind, f.match_rate) for f in scan_column("bank_card", values)] == [(PiiKind.BANK_CARD, 0.5)]
    assert [(f.kind, f.match_rate) for f in scan_column("身份证", values)] == [(PiiKind.ID_NUMBER, 0.5)]
    assert [f.kind for f in scan_column("value", values)] == [PiiKind.ID_NUMBER]


def test_an_identity_number_that_passes_luhn_counts_as_an_identity_number_only():
    both = [n for n in make_ids(400) if is_bank_card(n)][:20]
    assert len(both) == 20 and all(is_id_number(n) for n in both)
    [finding] = scan_column("bank_card", both)
    assert (finding.kind, finding.match_rate, finding.header_hint) == (PiiKind.ID_NUMBER, 1.0, False)


def test_higher_match_rate_beats_a_header_hint():
    values = make_ids(60) + ["13812345678"] * 40
    [finding] = scan_column("手机", values)
    assert (finding.kind, finding.match_rate) == (PiiKind.ID_NUMBER, 0.6)


def test_mobiles_emails_and_cards_are_found():
    cards = [make_card(f"62220212345{n:04d}") for n in range(20)]
    assert scan_column("a", cards)[0].kind == PiiKind.BANK_CARD
    assert scan_column("b", ["+86 138 1234 5678", "13912345678", "150-1234-5678"] * 5)[0].kind == PiiKind.MOBILE
    assert scan_column("c", ["zhang@example.com", "li.si@qq.com"] * 5)[0].kind == PiiKind.EMAIL


def test_non_string_values_are_scanned_as_text():
    [finding] = scan_column("phone", [13812345678, 13912345678, None])
    assert (finding.kind, finding.checked) == (PiiKind.MOBILE, 2)


def test_sample_limit_bounds_the_values_read():
    def values():
        yield from make_ids(10)
        raise AssertionError("read past the sample limit")

    [finding] = scan_column("id", values(), sample_limit=10)
    assert finding.checked == 10


def test_findings_are_frozen():
    [finding] = scan_column("id", make_ids(3))
    with pytest.raises(dataclasses.FrozenInstanceError):
        finding.kind = PiiKind.EMAIL  # type: ignore[misc]


def test_scan_table_reports_flagged_columns_in_order():
    table = {
        "姓名": ["张伟", "王芳", "欧阳锋"],
        "amount": ["12.50", "8.00", "3.10"],
        "身份证号": make_ids(3),
        "email": ["a@example.com", None, "b@example.com"],
        "city": ["青岛市", "济南市", "烟台市"],
    }
    findings = scan_table(table)
    assert [(f.column, f.kind) for f in findings] == [
        ("姓名", PiiKind.PERSON_NAME),
        ("身份证号", PiiKind.ID_NUMBER),
        ("email", PiiKind.EMAIL),
    ]
    assert all(f.confidence == "high" for f in findings)


def test_pii_kind_values():
    assert [str(kind) for kind in PiiKind] == ["id_number", "mobile", "bank_card", "email", "person_name"]
