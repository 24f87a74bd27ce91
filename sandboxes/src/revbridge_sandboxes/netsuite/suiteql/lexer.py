"""SuiteQL tokenizer: identifiers, keywords, numbers, 'strings' ('' escapes a quote) and operators."""

from __future__ import annotations

from dataclasses import dataclass

from .errors import SuiteQLError

KEYWORDS = frozenset(
    {
        "SELECT", "FROM", "WHERE", "AND", "OR", "NOT", "IN", "LIKE", "IS", "NULL", "AS", "ORDER",
        "GROUP", "BY", "ASC", "DESC", "JOIN", "LEFT", "INNER", "OUTER", "ON", "DISTINCT",
    }
)  # fmt: skip
OPERATORS = ("<>", "!=", "<=", ">=", "=", "<", ">", "(", ")", ",", ".", "*", "-")


@dataclass(frozen=True)
class Token:
    kind: str  # KEYWORD, IDENT, NUMBER, STRING, OP, EOF
    value: str
    pos: int


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch.isalpha() or ch == "_":
            start = i
            while i < n and (text[i].isalnum() or text[i] in "_$"):
                i += 1
            word = text[start:i]
            kind = "KEYWORD" if word.upper() in KEYWORDS else "IDENT"
            tokens.append(Token(kind, word.upper() if kind == "KEYWORD" else word.lower(), start))
        elif ch.isdigit():
            start = i
            while i < n and (text[i].isdigit() or (text[i] == "." and i + 1 < n and text[i + 1].isdigit())):
                i += 1
            tokens.append(Token("NUMBER", text[start:i], start))
        elif ch == "'":
            start, i, chars = i, i + 1, []
            while True:
                if i >= n:
                    raise SuiteQLError(f"Unterminated string literal at position {start}.")
                if text[i] == "'":
                    if i + 1 < n and text[i + 1] == "'":
                        chars.append("'")
                        i += 2
                        continue
                    i += 1
                    break
                chars.append(text[i])
                i += 1
            tokens.append(Token("STRING", "".join(chars), start))
        else:
            op = next((op for op in OPERATORS if text.startswith(op, i)), None)
            if op is None:
                raise SuiteQLError(f"Unexpected character '{ch}' at position {i}.")
            tokens.append(Token("OP", op, i))
            i += len(op)
    tokens.append(Token("EOF", "", n))
    return tokens
