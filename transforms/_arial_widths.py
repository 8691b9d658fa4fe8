"""Advance widths of Arial Regular, in font units (units per em: 2048).

Grouped by width: each key is an advance width and its value holds every character with that
width. Covers printable ASCII, Latin-1 Supplement, Latin Extended-A and common typographic
punctuation (dashes, curly quotes, bullet, ellipsis, euro, trade mark).

These are Arial's metrics (the ``hmtx`` table). They were read from Liberation Sans Regular,
which is built to be metric-compatible with Arial (same advance width for every character), so
line breaks and widths match Arial exactly; ASCII values agree with the published Arial table
(``a`` = 1139, ``i`` = 455, ``m`` = 1706, ``W`` = 1933, space = 569).
"""

UNITS_PER_EM = 2048

ARIAL_ADVANCE_WIDTHS_BY_WIDTH: dict[int, str] = {
    391: "'",
    455: "ijlįĵĺļłſ‘’",
    532: "|¦",
    569: " !,./:;I[\\]ft\xa0·ÌÍÎÏìíîïĨĩĪīĬĭĮİıţŧ",
    597: "ľ",
    682: "()-`r¡¨\xad²³´¸¹ŕŗř“”",
    684: "{}ŀ",
    717: "•",
    727: '"',
    748: "º",
    758: "ª",
    768: "ť",
    797: "*",
    819: "°",
    909: "ĳ",
    961: "^",
    1024: "JcksvxyzçýÿćĉċčĴķĸśŝşšŷźżž",
    1100: "¶",
    1124: "±÷",
    1131: "¯",
    1139: "#$0123456789?L_abdeghnopqu¢£¤¥§«»àáâãäåèéêëðñòóôõöùúûüþāăąđēĕėęěĝğġģĥħĹĻĽĿŁńņňŋōŏőũūŭůűų–€",
    1180: "µ",
    1196: "+<=>~¬×",
    1237: "ŉ",
    1251: "FTZ¿ßøŢŤŦŹŻŽ",
    1259: "ď",
    1366: "&ABEKPSVXYÀÁÂÃÄÅÈÉÊËÝÞĀĂĄĒĔĖĘĚĶŚŜŞŠŶŸ",
    1479: "CDHNRUwÇÐÑÙÚÛÜĆĈĊČĎĐĤĦŃŅŇŔŖŘŨŪŬŮŰŲŵ",
    1481: "Ŋ",
    1505: "Ĳ",
    1509: "©®",
    1593: "GOQÒÓÔÕÖØĜĞĠĢŌŎŐ",
    1706: "Mm",
    1708: "¼½¾",
    1821: "%æ",
    1933: "WœŴ",
    2048: "ÆŒ—…™",
    2079: "@",
}
