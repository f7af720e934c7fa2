"""Text in encodings the registry refuses, and in those it reads, for the upload tests of the service, the web and the
API (and the engine's own tests)."""

from registry.encoding import ENCODING_SAMPLE_BYTES

KOREAN = "날짜,이름,메모\n" + "".join(f"2024-01-{d:02d},김철수,한국어 테스트 데이터입니다\n" for d in range(1, 29))
TRADITIONAL = "日期,名稱,備註\n" + "".join(f"2024-01-{d:02d},臺北市,這是繁體中文測試資料\n" for d in range(1, 29))

# name → (content, what the refusal says the file looks like)
REFUSED = {
    "shift_jis": ("日付,名前\n2024-01-01,山田\n2024-01-02,ｶﾀｶﾅ\n".encode("shift_jis"), "Shift_JIS"),
    "latin_1": (b"date,name\n2024-01-01,caf\xe9\n2024-01-02,na\xefve\n" * 3, "Latin-1"),
    "windows_1252": ("id,name\n1,Müller\n2,Jürgen Köln\n3,“quoted”\n".encode("cp1252"), "Windows-1252"),
    "euc_kr": (KOREAN.encode("euc_kr"), "EUC-KR"),
    "big5": (TRADITIONAL.encode("big5"), "Big5"),
    "utf_32": ("date,name\n2024-01-01,张三\n".encode("utf-32"), "UTF-32"),
    "utf_16_without_bom": ("date,name\n2024-01-01,张三\n".encode("utf-16-le"), "UTF-16 without a byte-order mark"),
    "gbk_then_garbage": (
        "日期,名称\n2024-01-01,青岛\n".encode("gbk") + b"2024-01-02,\xff\xfe\xfd\n",
        "any encoding we recognise",
    ),
}

# name → (content, codec the registry reports); each file has the header 日期,港口 and 青岛 in the first row
ACCEPTED = {
    "utf_8": ("日期,港口\n2026-11-01,青岛\n2026-11-02,烟台\n".encode(), "utf-8"),
    "utf_8_bom": ("日期,港口\n2026-11-01,青岛\n2026-11-02,烟台\n".encode("utf-8-sig"), "utf-8-sig"),
    "gbk": ("日期,港口\n2026-11-01,青岛\n2026-11-02,烟台\n".encode("gbk"), "gbk"),
    "gb18030": ("日期,港口\n2026-11-01,青岛\n2026-11-02,𠀀岛\n".encode("gb18030"), "gb18030"),
    "utf_16_le": ("日期,港口\n2026-11-01,青岛\n2026-11-02,烟台\n".encode("utf-16"), "utf-16"),
    "utf_16_be": (b"\xfe\xff" + "日期,港口\n2026-11-01,青岛\n2026-11-02,烟台\n".encode("utf-16-be"), "utf-16"),
}


def invalid_after_the_sample() -> bytes:
    """UTF-8 whose first ENCODING_SAMPLE_BYTES are fine and whose last row is not: refused while it is profiled."""
    row = b"2026-11-01,Qingdao,1000\n"
    return b"date,port,tons\n" + row * (ENCODING_SAMPLE_BYTES // len(row) + 10) + b"2026-11-02,\xff\xfe,1\n"
