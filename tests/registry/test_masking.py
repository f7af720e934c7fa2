# ruff: noqa: RUF001 - the sample text is Chinese, with full-width digits and punctuation on purpose
import pytest

from core.identifiers import id_number_check_char
from registry.masking import HIDDEN, mask_free_text, mask_rows, mask_value
from registry.pii import ColumnFinding, PiiKind, is_luhn_valid, luhn_check_digit, scan_table


def make_id(birth: str = "19850704", sequence: str = "123") -> str:
    body = "370202" + birth + sequence
    return body + id_number_check_char(body)


def card_ending(prefix: str, suffix: str, length: int = 16) -> str:
    """A Luhn-valid card number with the given first and last digits."""
    width = length - len(prefix) - len(suffix)
    return next(number for n in range(10**width) if is_luhn_valid(number := f"{prefix}{n:0{width}d}{suffix}"))


REFERENCE_CARD = card_ending("6222", "1234")


def finding(column: str, kind: PiiKind) -> ColumnFinding:
    return ColumnFinding(column, kind, matched=1, checked=1, match_rate=1.0, header_hint=True, confidence="high")


# --- mask_value -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "masked"),
    [
        (PiiKind.ID_NUMBER, "11010519491231002X", "110105********002X"),
        (PiiKind.MOBILE, "13812345678", "138****5678"),
        (PiiKind.PERSON_NAME, "张三", "张*"),
        (PiiKind.PERSON_NAME, "欧阳锋", "欧阳*"),
        (PiiKind.EMAIL, "zhang.san@example.com", "***@example.com"),
        (PiiKind.BANK_CARD, REFERENCE_CARD, "6222 **** **** 1234"),
    ],
)
def test_reference_examples(kind, value, masked):
    assert mask_value(kind, value) == masked


@pytest.mark.parametrize(
    "value", ["11010519491231002x", " 11010519491231002X ", "１１０１０５１９４９１２３１００２Ｘ"]
)
def test_identity_number_variants_mask_to_the_canonical_form(value):
    assert mask_value(PiiKind.ID_NUMBER, value) == "110105********002X"


@pytest.mark.parametrize(
    "value",
    [
        "+8613812345678",
        "8613812345678",
        "0086 13812345678",
        "+86 138-1234-5678",
        "138 1234 5678",
        "138-1234-5678",
        "１３８１２３４５６７８",
    ],
)
def test_mobile_prefix_and_separators_are_dropped(value):
    assert mask_value(PiiKind.MOBILE, value) == "138****5678"


@pytest.mark.parametrize(
    ("name", "masked"),
    [
        ("王小明", "王**"),
        ("李娜", "李*"),
        ("司马相如", "司马**"),
        ("诸葛亮", "诸葛*"),
        ("上官婉儿", "上官**"),
        ("欧阳", "欧*"),
    ],
)
def test_names_keep_the_surname(name, masked):
    assert mask_value(PiiKind.PERSON_NAME, name) == masked


def test_bank_cards_keep_first_and_last_four():
    card_19 = card_ending("6217", "1234", length=19)
    assert mask_value(PiiKind.BANK_CARD, card_19) == "6217 **** **** *** 1234"
    grouped = " ".join(REFERENCE_CARD[i : i + 4] for i in range(0, 16, 4))
    assert mask_value(PiiKind.BANK_CARD, grouped) == "6222 **** **** 1234"
    assert mask_value(PiiKind.BANK_CARD, grouped.replace(" ", "-")) == "6222 **** **** 1234"


def test_email_keeps_the_domain_only():
    assert mask_value(PiiKind.EMAIL, "user+tag@mail.example.com.cn") == "***@mail.example.com.cn"


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        (PiiKind.ID_NUMBER, "11010519491231002"),
        (PiiKind.ID_NUMBER, "110105199902301234"),
        (PiiKind.MOBILE, "12812345678"),
        (PiiKind.MOBILE, "010-12345678"),
        (PiiKind.BANK_CARD, REFERENCE_CARD[:-1] + str((int(REFERENCE_CARD[-1]) + 1) % 10)),
        (PiiKind.EMAIL, "zhang@localhost"),
        (PiiKind.PERSON_NAME, "青岛海洋数据科技有限公司"),
        (PiiKind.PERSON_NAME, "Zhang San"),
        (PiiKind.MOBILE, ""),
    ],
)
def test_values_not_of_the_kind_are_hidden(kind, value):
    assert mask_value(kind, value) == HIDDEN


# --- mask_rows --------------------------------------------------------------------------------------------


def test_mask_rows_masks_flagged_columns_and_hides_the_rest():
    # given
    rows = [
        {"name": "张三", "phone": "13812345678", "id": "11010519491231002X", "note": "ok", "qty": 3},
        {"name": "青岛海洋数据科技有限公司", "phone": "unknown", "id": "110105194912310021", "note": None, "qty": 4},
        {"name": None, "phone": 13912345678, "id": "", "note": "回电 13912345678", "qty": 13812345678},
    ]
    findings = [
        finding("name", PiiKind.PERSON_NAME),
        finding("phone", PiiKind.MOBILE),
        finding("id", PiiKind.ID_NUMBER),
    ]
    # when
    masked = mask_rows(rows, findings)
    # then
    assert masked == [
        {"name": "张*", "phone": "138****5678", "id": "110105********002X", "note": "ok", "qty": 3},
        {"name": HIDDEN, "phone": HIDDEN, "id": HIDDEN, "note": None, "qty": 4},
        {"name": None, "phone": "139****5678", "id": "", "note": "回电 139****5678", "qty": "138****5678"},
    ]
    assert rows[0]["name"] == "张三"  # the input is not changed


def test_mask_rows_never_returns_a_raw_value_of_a_flagged_column():
    # given a scanned table whose PII columns hold odd values too
    table = {
        "姓名": ["张伟", "王芳", "欧阳锋", "李娜", "Tom Smith", "刘洋"],
        "手机": ["13812345678", "+86 139 1234 5678", "12345", "15012345678", "N/A", "13700000000"],
        "身份证号": [make_id(sequence=f"{n:03d}") for n in range(5)] + ["370202198507041239"],
        "email": ["a@example.com", "b@example.com", "c@example.com", "bad@@x", "d@example.com", "e@example.com"],
        "备注": ["联系 13812345678", "卡号 " + REFERENCE_CARD, "无", "", "邮件 x@example.com", make_id()],
    }
    findings = scan_table(table)
    assert {f.column for f in findings} == {"姓名", "手机", "身份证号", "email"}
    rows = [dict(zip(table, values, strict=True)) for values in zip(*table.values(), strict=True)]
    # when
    masked = mask_rows(rows, findings)
    # then
    flagged = {f.column for f in findings}
    for original, out in zip(rows, masked, strict=True):
        for column in flagged:
            assert out[column] != original[column]
            assert "*" in out[column]
    shown = repr(masked)
    for raw in [
        "13812345678",
        "+86 139 1234 5678",
        "'12345'",
        "Tom Smith",
        "bad@@x",
        "a@example",
        REFERENCE_CARD,
        make_id(),
    ]:
        assert raw not in shown


def test_mask_rows_ignores_findings_for_absent_columns():
    assert mask_rows([{"a": "x"}], [finding("b", PiiKind.EMAIL)]) == [{"a": "x"}]


# --- mask_free_text ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("联系 13812345678", "联系 138****5678"),
        ("电话：+86 138-1234-5678，尽快回电", "电话：138****5678，尽快回电"),
        ("电话：１３８１２３４５６７８。", "电话：138****5678。"),
        ("13812345678/13912345678", "138****5678/139****5678"),
        ("身份证11010519491231002X，请核对", "身份证110105********002X，请核对"),
        ("id:11010519491231002x", "id:110105********002X"),
        (f"退款到卡号{REFERENCE_CARD}已完成", "退款到卡号6222 **** **** 1234已完成"),
        ("邮件 zhang.san@example.com 或 QQ 12345678@qq.com", "邮件 ***@example.com 或 QQ ***@qq.com"),
        (
            "张三 11010519491231002X 13812345678 zhang@example.com",
            "张三 110105********002X 138****5678 ***@example.com",
        ),
    ],
)
def test_mask_free_text_masks_pii_inside_text(text, masked):
    assert mask_free_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "订单 2024010112345 已发货",  # 13 digits
        "金额 1234.56 元",
        "2024-01-01 12:00:00",
        "编号 138123456789",  # 12 digits: not a mobile
        "流水 12812345678",  # starts with 12
        "无",
        "",
    ],
)
def test_mask_free_text_leaves_other_text_alone(text):
    assert mask_free_text(text) is text


def test_mask_free_text_leaves_an_eighteen_digit_number_that_is_neither_id_nor_card():
    number = "370202198507041230"
    assert number != make_id() and not is_luhn_valid(number)
    assert mask_free_text(f"单号 {number}") == f"单号 {number}"


def test_card_digits_are_masked_as_a_card_not_as_a_mobile():
    body = "6222" + "13812345678"  # a mobile number inside the card number
    card = body + luhn_check_digit(body)
    assert mask_free_text(f"卡 {card}") == f"卡 6222 **** **** {card[-4:]}"
