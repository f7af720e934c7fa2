"""Detect personal information (PII) in the columns of uploaded datasets.

Detection combines three signals:

* **Value detectors** (`is_id_number`, `is_mobile`, `is_bank_card`, `is_email`, `is_person_name`): strict,
  with check digits where the identifier has one (GB 11643 check character, birth date and province code for
  identity numbers; Luhn for bank cards). Surrounding whitespace is ignored, full-width digits and letters are
  folded to ASCII, and values longer than `MAX_VALUE_LENGTH` never match.
* **Header hints** (`header_hints`): column names such as `身份证号`, `mobile`, `卡号`, `email`, `姓名`. A hint
  never flags a column on its own; it only lowers the share of matching values needed.
* **Thresholds** (`scan_column`): a kind is reported when at least half the non-empty sampled values match,
  a tenth with a header hint, or, for person names with a header hint, when 30 % of the values merely have the
  shape of a name. A column reports at most one kind: the highest match rate, a tie going to the hinted kind.
  A value counts for one kind at most (an identity number that happens to pass Luhn is not also a card).
  Confidence is high at a 90 % match rate (person names: only with a header hint) or at 50 % with a hint,
  medium at 50 % or at 30 % with a hint, and low below that.

Person names are recognised by shape only, so that detector is a heuristic: 2-4 CJK characters
starting with one of ~350 common surnames (plus the 20 commonest in traditional characters), or with a
compound surname such as 欧阳 followed by one or two characters; not ending in a place or organisation
suffix (市 省 区 县 司 …) and not containing a common non-name word (公司 银行 医院 有限 集团, 金额,
江苏, 成都 …). Known limits: names with a rare surname, names of ethnic minorities written with `·`,
names in Latin letters and traditional characters beyond the commonest surnames are missed; short
words, brand and place names that start with a surname character (华为, 高铁, a city not on the list)
are matched. The 50 % threshold keeps such strays from flagging a column; a column of short place or
brand names can still be flagged, which errs on the side of masking.
"""

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from itertools import islice
from typing import Literal

from core.identifiers import is_valid_id_number

MAX_VALUE_LENGTH = 64
REPORT_RATE = 0.5
HINTED_REPORT_RATE = 0.1
HINTED_NAME_SHAPE_RATE = 0.3

Confidence = Literal["high", "medium", "low"]


class PiiKind(StrEnum):
    """The kinds of personal information the registry detects and masks."""

    ID_NUMBER = "id_number"
    MOBILE = "mobile"
    BANK_CARD = "bank_card"
    EMAIL = "email"
    PERSON_NAME = "person_name"


@dataclass(frozen=True, slots=True)
class ColumnFinding:
    """One kind of personal information found in one column, with the evidence behind it."""

    column: str
    kind: PiiKind
    matched: int
    checked: int
    match_rate: float
    header_hint: bool
    confidence: Confidence


# --- value detectors --------------------------------------------------------------------------------------

# Full-width ASCII (U+FF01-U+FF5E) and the ideographic space fold to their ASCII counterparts, one to one.
FULL_WIDTH_TO_ASCII = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)} | {0x3000: 0x20}

_ID_NUMBER_RE = re.compile(r"\d{17}[\dXx]", re.ASCII)
_MOBILE_RE = re.compile(r"(?:(?:\+|00)?86[ -]?)?(1[3-9]\d)([ -]?)(\d{4})\2(\d{4})", re.ASCII)
_BANK_CARD_RE = re.compile(r"\d{4}([ -]?)\d{4}\1\d{4}\1\d{4}(?:\1\d{1,3})?", re.ASCII)
_EMAIL_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
EMAIL_DOMAIN_PATTERN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?:[A-Za-z]{2,63}|xn--[A-Za-z0-9-]{1,59})"
_EMAIL_RE = re.compile(rf"{_EMAIL_ATOM}(?:\.{_EMAIL_ATOM})*@({EMAIL_DOMAIN_PATTERN})", re.ASCII)
_NAME_SHAPE_RE = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]{2,4}")
_FULL_WIDTH_RE = re.compile("[\uff01-\uff5e\u3000]")
# Byte tables from ASCII digits to their value, and to the Luhn value of the doubled digit.
_DIGIT_VALUE = bytes.maketrans(b"0123456789", bytes(range(10)))
_LUHN_DOUBLED = bytes.maketrans(b"0123456789", bytes((0, 2, 4, 6, 8, 1, 3, 5, 7, 9)))

SINGLE_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢"
    "姜崔钟谭陆汪范金石廖贾夏韦付傅方白邹孟熊秦邱江尹薛闫阎段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温"
    "康施文牛樊葛邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成"
    "苗谷盛曲翁冉骆蓝路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费"
    "卜冷晏席卫米柏宗瞿桂全佟应臧闵苟邬边卞姬师仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝官封谈匡鞠惠"
    "荆乐冀郁胥南班储栗燕楚鄢劳谌奚皮粟冼蔺楼盘闻厉伊仝区郜阚权帅屠豆朴盖练廉禹井祖漆巴丰支卿狄计索宣晋云容敬"
    "扈晁芮阙浦戈伏鹿薄邸雍辜裘亓邰赫杭况宿印逯隆茹战慕危亢嵇湛宾戎勾茅於揭衡尧原"
    # the commonest surnames in traditional characters
    "陳張黃劉楊趙吳鄭謝許蘇葉鍾蕭羅鄧馮韓盧魏賴"
)
# Word lists read better as text than as list literals that the formatter spreads one word per line.
COMPOUND_SURNAMES = frozenset(
    "欧阳 司马 诸葛 上官 东方 皇甫 尉迟 公孙 慕容 长孙 宇文 令狐 夏侯 司徒 司空 端木 轩辕 呼延 独孤 南宫 钟离 "  # noqa: SIM905
    "申屠 闻人 濮阳 澹台 公冶 赫连 万俟".split()
)
# A name never ends with these: administrative divisions, streets, organisations, ethnic groups, money.
_NON_NAME_SUFFIXES = frozenset(
    "市省区县镇乡村州路街巷弄号楼栋室厂店局厅部处科院所站馆场队社司库团校系组会族额率费款税价单表证卡码型期量数"
)
_NON_NAME_WORDS = frozenset(
    # organisations
    "公司 银行 医院 学校 有限 集团 大学 中学 小学 学院 中心 政府 委员 协会 合作 科技 股份 事务 管理 服务 研究 发展 "  # noqa: SIM905
    "实业 贸易 商贸 商店 超市 酒店 饭店 宾馆 分行 支行 门诊 诊所 基金 信息 网络 数据 电子 工厂 工作 "
    # values of common coded fields that start with a surname character
    "电话 地址 日期 时间 金额 余额 合计 总计 小计 备注 其他 未知 不详 暂无 正常 异常 成功 失败 完成 是否 全部 平均 "
    "方法 方式 文件 文本 明细 项目 计划 单位 车辆 房屋 商品 信用 利息 费用 包装 国内 国际 国家 海外 海关 本科 高中 "
    "专科 大专 初中 高级 中级 初级 安全 应用 常规 万元 周一 周二 周三 周四 周五 周六 周日 周末 年度 季度 月度 母亲 "
    "父亲 配偶 子女 男性 女性 汉族 已婚 未婚 离异 在职 离职 退休 "
    # provinces, regions and cities that start with a surname character
    "江苏 江西 云南 安徽 海南 宁夏 甘肃 吉林 蒙古 华东 华南 华北 华中 江南 江北 南方 成都 武汉 南京 沈阳 宁波 "
    "石家庄 南宁 南昌 南通 唐山 包头 温州 徐州 岳阳 常德 桂林 洛阳 黄山 黄石 黄冈 金华 邵阳 湛江 荆门 宜昌 江门 "
    "贵阳 昆明 郑州 济南 青岛 厦门 福州 合肥 长沙 西安 太原 兰州 银川 海口 大连 无锡 佛山 东莞 烟台 潍坊 淄博 "
    "扬州 泉州 嘉兴 绍兴 珠海 汕头 中山 韶关 茂名 惠州 柳州 马鞍山 钱塘".split()
)


def prepare(value: str) -> str:
    """`value` as the detectors see it: stripped, with full-width ASCII folded to ASCII."""
    return fold_full_width(value).strip()


def fold_full_width(value: str) -> str:
    """`value` with full-width forms of ASCII (U+FF01-U+FF5E) and the ideographic space as ASCII, one to one."""
    if value.isascii() or _FULL_WIDTH_RE.search(value) is None:
        return value
    return value.translate(FULL_WIDTH_TO_ASCII)


def normalise_id_number(value: str) -> str | None:
    """The identity number in `value` with an upper-case check character, or None when it is not a valid one."""
    value = prepare(value)
    return _id_number(value) if len(value) == 18 else None


def normalise_mobile(value: str) -> str | None:
    """The 11 digits of the mainland mobile number in `value` (prefix and separators dropped), or None."""
    value = prepare(value)
    return _mobile(value) if len(value) <= MAX_VALUE_LENGTH else None


def normalise_bank_card(value: str) -> str | None:
    """The 16-19 digits of the bank card number in `value` (separators dropped), or None."""
    value = prepare(value)
    return _bank_card(value) if len(value) <= MAX_VALUE_LENGTH else None


def email_domain(value: str) -> str | None:
    """The domain of the e-mail address in `value`, or None when it is not an e-mail address."""
    value = prepare(value)
    return _email_domain(value) if len(value) <= MAX_VALUE_LENGTH else None


def split_surname(name: str) -> tuple[str, str]:
    """(surname, given name) of a Chinese name; the surname is empty when it is not a known one."""
    if len(name) >= 3 and name[:2] in COMPOUND_SURNAMES:
        return name[:2], name[2:]
    if name[:1] in SINGLE_SURNAMES:
        return name[:1], name[1:]
    return "", name


def is_id_number(value: str) -> bool:
    """A resident identity number: check character, real birth date and province code (lower-case x allowed)."""
    return normalise_id_number(value) is not None


def is_mobile(value: str) -> bool:
    """A mainland mobile number, optionally with a +86/86/0086 prefix and 3-4-4 grouping by spaces or hyphens."""
    return normalise_mobile(value) is not None


def is_bank_card(value: str) -> bool:
    """A bank card number: 16-19 digits (optionally grouped by 4), Luhn valid, not one digit repeated."""
    return normalise_bank_card(value) is not None


def is_email(value: str) -> bool:
    """An e-mail address: RFC 5322 dot-atom local part, ASCII domain with at least one dot."""
    return email_domain(value) is not None


def is_person_name(value: str) -> bool:
    """A Chinese personal name by shape: 2-4 CJK characters starting with a common surname (heuristic)."""
    value = prepare(value)
    return _has_name_shape(value) and _has_surname(value)


def luhn_check_digit(body: str) -> str:
    """The digit that makes `body` + digit pass the Luhn check."""
    if not (body.isascii() and body.isdigit()):
        raise ValueError(f"A Luhn check digit is computed over digits, not {body!r}.")
    return str(-_luhn_sum(body.encode() + b"0") % 10)


def is_luhn_valid(digits: str) -> bool:
    """True when the digit string (at least two digits) passes the Luhn check."""
    return len(digits) >= 2 and digits.isascii() and digits.isdigit() and _luhn_sum(digits.encode()) % 10 == 0


def _luhn_sum(digits: bytes) -> int:
    """The Luhn sum of ASCII digits: every second digit from the right doubled (and its digits summed)."""
    return sum(digits[::-2].translate(_DIGIT_VALUE)) + sum(digits[-2::-2].translate(_LUHN_DOUBLED))


def _id_number(value: str, today: date | None = None) -> str | None:
    if _ID_NUMBER_RE.fullmatch(value) is None:
        return None
    if value[17] == "x":
        value = value[:17] + "X"
    return value if is_valid_id_number(value, today=today) else None


def _mobile(value: str) -> str | None:
    match = _MOBILE_RE.fullmatch(value)
    return match[1] + match[3] + match[4] if match else None


def _bank_card(value: str) -> str | None:
    match = _BANK_CARD_RE.fullmatch(value)
    if match is None:
        return None
    digits = value.replace(match[1], "") if match[1] else value
    if digits.count(digits[0]) == len(digits) or _luhn_sum(digits.encode()) % 10:
        return None
    return digits


def _email_domain(value: str) -> str | None:
    match = _EMAIL_RE.fullmatch(value)
    return match[1] if match else None


def _has_name_shape(value: str) -> bool:
    """2-4 CJK characters that are not a place, an organisation or a common word."""
    if _NAME_SHAPE_RE.fullmatch(value) is None or value[-1] in _NON_NAME_SUFFIXES:
        return False
    size = len(value)
    return not any(value[i:j] in _NON_NAME_WORDS for i in range(size - 1) for j in range(i + 2, size + 1))


def _has_surname(name: str) -> bool:
    surname, given = split_surname(name)
    return bool(surname) and bool(given)


# --- header hints -----------------------------------------------------------------------------------------

_CJK_HINTS: dict[PiiKind, tuple[str, ...]] = {
    PiiKind.ID_NUMBER: ("身份证", "证件号", "公民身份"),
    PiiKind.MOBILE: ("手机", "电话", "联系方式", "移动号码"),
    PiiKind.BANK_CARD: ("银行卡", "卡号", "银行账号", "银行帐号"),
    PiiKind.EMAIL: ("邮箱", "电子邮件", "邮件地址", "电邮"),
    # 客户名称 may hold companies too: the hint only lowers the bar, the values still have to look like names.
    PiiKind.PERSON_NAME: (
        "姓名",
        "名字",
        "联系人",
        "客户名称",
        "法定代表人",
        "法人代表",
        "负责人",
        "持卡人",
        "开户名",
        "账户名",
    ),
}
# Runs of lower-case header tokens (`idCardNo` → id card no) that hint a kind.
_TOKEN_HINTS: dict[PiiKind, tuple[tuple[str, ...], ...]] = {
    PiiKind.ID_NUMBER: (
        ("id", "card"),
        ("id", "no"),
        ("id", "number"),
        ("id", "num"),
        ("idcard",),
        ("idno",),
        ("sfz",),
        ("sfzh",),
        ("sfzhm",),
        ("zjhm",),
        ("identity",),
        ("national", "id"),
        ("citizen", "id"),
        ("resident", "id"),
    ),
    PiiKind.MOBILE: (("mobile",), ("phone",), ("tel",), ("telephone",), ("cellphone",), ("cell",), ("sjh",), ("sjhm",)),
    PiiKind.BANK_CARD: (
        ("bank", "card"),
        ("bankcard",),
        ("card", "no"),
        ("card", "num"),
        ("card", "number"),
        ("cardno",),
        ("bank", "account"),
        ("yhk",),
        ("yhkh",),
    ),
    PiiKind.EMAIL: (("email",), ("e", "mail"), ("mail",), ("mailbox",)),
    PiiKind.PERSON_NAME: (("name",), ("fullname",), ("realname",), ("xm",), ("xingming",), ("lxr",)),
}
# `name` next to one of these names a thing, not a person.
_NOT_PERSON_TOKENS = frozenset(
    "company org organization organisation corp enterprise firm brand product goods item file table column field "  # noqa: SIM905
    "dataset data project app host domain user username bank branch shop store city province country region "
    "district street model category type tag group role display nick nickname".split()
)
_TOKEN_RE = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")


def header_hints(column: str) -> frozenset[PiiKind]:
    """The kinds of personal information a column name suggests (often none, sometimes several)."""
    tokens = tuple(token.lower() for token in _TOKEN_RE.findall(column))
    hints = {kind for kind, words in _CJK_HINTS.items() if any(word in column for word in words)}
    hints |= {kind for kind, runs in _TOKEN_HINTS.items() if any(_contains_run(tokens, run) for run in runs)}
    if PiiKind.PERSON_NAME in hints and _NOT_PERSON_TOKENS.intersection(tokens):
        hints.discard(PiiKind.PERSON_NAME)
    if _contains_run(tokens, ("id", "card")):  # `id_card_no` is not a bank card
        hints.discard(PiiKind.BANK_CARD)
    return frozenset(hints)


def _contains_run(tokens: tuple[str, ...], run: tuple[str, ...]) -> bool:
    size = len(run)
    return any(tokens[i : i + size] == run for i in range(len(tokens) - size + 1))


# --- scanning ---------------------------------------------------------------------------------------------

_KIND_ORDER = tuple(PiiKind)


def scan_column(name: str, values: Iterable[str | None], *, sample_limit: int = 10_000) -> list[ColumnFinding]:
    """The kind of personal information in a column (a list of at most one finding).

    Looks at the first `sample_limit` values; None and blank values are not counted.
    """
    matched = dict.fromkeys(_KIND_ORDER, 0)
    checked = shaped = 0
    today = date.today()  # once, not per identity number
    # Each distinct value is classified once: coded columns (status, city, date) repeat a handful of values.
    for raw, count in Counter(islice(values, sample_limit)).items():
        if raw is None:
            continue
        value = (raw if isinstance(raw, str) else str(raw)).strip()
        if not value:
            continue
        checked += count
        kind, has_shape = _value_kind(value, today)
        if kind is not None:
            matched[kind] += count
        shaped += count * has_shape
    return _best_finding(name, matched, checked, shaped)


def _value_kind(value: str, today: date) -> tuple[PiiKind | None, bool]:
    """The kind a stripped, non-empty value matches, and whether it has the shape of a name.

    The kinds exclude each other by shape, except that one 18-digit value in ten that is a valid identity
    number also passes Luhn: it counts as an identity number, the far stricter check.
    """
    if len(value) > MAX_VALUE_LENGTH:
        return None, False
    value = fold_full_width(value)
    first, size = value[0], len(value)
    if "@" in value:
        return (PiiKind.EMAIL if _email_domain(value) else None), False
    if "0" <= first <= "9" or first == "+":
        # Length gates before the regexes and check digits.
        if size == 18 and _id_number(value, today):
            return PiiKind.ID_NUMBER, False
        if 11 <= size <= 20 and _mobile(value):
            return PiiKind.MOBILE, False
        if size >= 16 and _bank_card(value):
            return PiiKind.BANK_CARD, False
        return None, False
    if "\u3400" <= first <= "\u9fff" and _has_name_shape(value):
        return (PiiKind.PERSON_NAME if _has_surname(value) else None), True
    return None, False


def scan_table(columns: Mapping[str, Iterable[str | None]], *, sample_limit: int = 10_000) -> list[ColumnFinding]:
    """`scan_column` over every column of a table, in column order."""
    return [
        finding for name, values in columns.items() for finding in scan_column(name, values, sample_limit=sample_limit)
    ]


def _best_finding(name: str, matched: dict[PiiKind, int], checked: int, shaped: int) -> list[ColumnFinding]:
    if not checked:
        return []
    hints = header_hints(name)
    reported = [
        kind
        for kind, count in matched.items()
        if _is_reported(kind, count / checked, shaped / checked, hinted=kind in hints)
    ]
    if not reported:
        return []
    kind = max(reported, key=lambda k: (matched[k], k in hints, -_KIND_ORDER.index(k)))
    rate, hinted = matched[kind] / checked, kind in hints
    return [ColumnFinding(name, kind, matched[kind], checked, rate, hinted, _confidence(kind, rate, hinted=hinted))]


def _is_reported(kind: PiiKind, rate: float, shape_rate: float, *, hinted: bool) -> bool:
    if rate >= REPORT_RATE or (hinted and rate >= HINTED_REPORT_RATE):
        return True
    return hinted and kind is PiiKind.PERSON_NAME and shape_rate >= HINTED_NAME_SHAPE_RATE


def _confidence(kind: PiiKind, rate: float, *, hinted: bool) -> Confidence:
    """high: nearly all values match, or most do and the header agrees; person names need the header for it."""
    if (rate >= 0.9 and (hinted or kind is not PiiKind.PERSON_NAME)) or (rate >= REPORT_RATE and hinted):
        return "high"
    if rate >= REPORT_RATE or (hinted and rate >= 0.3):
        return "medium"
    return "low"
