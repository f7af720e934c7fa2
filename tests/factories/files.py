"""Data files as their bytes would be uploaded: CSV with the awkward parts (quotes, delimiters, Chinese, empty)."""

PORTS = ("青岛港", "上海港", "宁波舟山港", "天津港", "Yantai")


def port_csv(rows: int = 300, *, delimiter: str = ",", newline: str = "\n") -> str:
    """A few hundred records with quoted values (delimiters, quotes), empty values and Chinese text."""
    lines = [delimiter.join(["date", "port", "berth", "tons", "note"])]
    for i in range(rows):
        note = f'"cargo{delimiter} mixed ""{i}"""' if i % 3 else ""
        lines.append(delimiter.join([f"2026-{1 + i % 12:02d}-{1 + i % 28:02d}", PORTS[i % 5], f"B{i % 17}",
                                     str(1000 + 7 * i), note]))  # fmt: skip
    return newline.join(lines) + newline
