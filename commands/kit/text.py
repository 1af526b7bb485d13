"""Pure text handling for incoming commands: HTML to text with pills, tokens, accents."""

from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import unquote

from commands.kit.errors import ArgError, CommandError
from storage.search import fold, invisible

__all__ = ["command_text", "fold", "name_text", "tokenize", "without_bidi"]

# Opening quote -> accepted closing quotes. French guillemets and typographic quotes
# come from phone keyboards and word processors; the apostrophe is never a quote.
QUOTES: dict[str, str] = {'"': '"”“', "“": '”"“', "”": '”"', "„": '“”"', "«": "»", "»": "«"}
USER_ID = re.compile(
    r"@[a-z0-9._=\-/+]+:[A-Za-z0-9.\-]+(?::\d{1,5})?|@[a-z0-9._=\-/+]+:\[[0-9a-fA-F:.]+\](?::\d{1,5})?"
)
PILL_HREF = re.compile(r"^(?:https://matrix\.to/#/(@[^?/]+)|matrix:u/@?([^?/]+))")
# C0 controls but tab and line breaks, DEL, and the C1 controls (U+0080-U+009F): a
# terminal acts on them (ESC starts a sequence that can rewrite the screen), none is text.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# The characters that change the direction of the text after them (Unicode's Bidi_Control:
# marks, embeddings, overrides, isolates): "\u202eemcA" shows as "Acme".
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_NO_BIDI = str.maketrans(dict.fromkeys(BIDI_CONTROLS))


def without_bidi(text: str) -> str:
    """`text` without direction controls, which could make it read as something else."""
    return text.translate(_NO_BIDI)


def name_text(text: str) -> str:
    """A name as it is shown and compared: invisible characters (zero-width spaces and
    joiners, direction controls, see `storage.search.invisible`) left out and runs of
    spaces made one. Refuses control characters, and a name with nothing visible in it."""
    if CONTROL.search(text):
        raise ArgError("core.error.control_chars")
    name = " ".join("".join(c for c in text if not invisible(c)).split())
    if not name:
        raise ArgError("core.arg.invisible" if text.strip() else "core.arg.empty")
    return name


class _PillText(HTMLParser):
    """Flattens formatted_body to text, turning user pills into their user id."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._pill_depth = 0
        self._skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "mx-reply":
            self._skip_depth += 1
        elif tag == "a" and not self._skip_depth:
            href = unquote(dict(attrs).get("href") or "")
            match = PILL_HREF.match(href)
            if match:
                self.parts.append(match.group(1) or f"@{match.group(2)}")
                self._pill_depth += 1
        elif tag in ("br", "p", "div", "li") and not self._skip_depth:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "mx-reply" and self._skip_depth:
            self._skip_depth -= 1
        elif tag == "a" and self._pill_depth:
            self._pill_depth -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip_depth and not self._pill_depth:
            self.parts.append(data)


def command_text(body: str, formatted_body: str | None = None) -> str:
    """The text to parse: formatted_body with pills as user ids when it has pills, else body."""
    if formatted_body and ("matrix.to/#/" in formatted_body or "matrix:u/" in formatted_body):
        parser = _PillText()
        parser.feed(formatted_body)
        parser.close()
        return "".join(parser.parts).strip()
    return strip_reply_fallback(body)


def strip_reply_fallback(body: str) -> str:
    """Drop the '> <@user> quoted text' lines older clients put before a reply."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> <"):
        return body.strip()
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    return "\n".join(lines).strip()


@dataclass(frozen=True)
class Token:
    """One word of a command line. `raw` is the source text, quotes included, and
    `space` the whitespace before it (kept so that free text keeps its line breaks)."""

    value: str
    raw: str
    quoted: bool = False
    key: str | None = None  # set for key=value
    space: str = ""


def tokenize(text: str) -> list[Token]:
    """Split a command line into words, "quoted strings" and key=value options."""
    tokens: list[Token] = []
    i, n = 0, len(text)
    space_start = 0
    while i < n:
        if text[i].isspace():
            i += 1
            continue
        space = text[space_start:i]
        start = i
        key: str | None = None
        match = re.match(r"([^\W\d][\w\-]*)=", text[i:])
        if match:
            key = match.group(1)
            i += match.end()
        if i < n and text[i] in QUOTES:
            closers = QUOTES[text[i]]
            end = next((j for j in range(i + 1, n) if text[j] in closers), -1)
            if end < 0:
                raise CommandError("core.error.unbalanced_quotes", quote=text[i])
            value = text[i + 1 : end].strip()
            i = space_start = end + 1
            tokens.append(Token(value, text[start:i], quoted=True, key=key, space=space))
            continue
        while i < n and not text[i].isspace():
            i += 1
        value = text[start:i]
        if key is not None:
            value = value[len(key) + 1 :]
        tokens.append(Token(value, text[start:i], key=key, space=space))
        space_start = i
    return tokens


def leading_users(text: str) -> tuple[list[str], str]:
    """The users mentioned at the start of a text, and the rest of it: `@bob:x @carol:x
    Call KidiTap` is for Bob and Carol; `moi`/`me` is the sender (an empty string)."""
    users: list[str] = []
    words = text.split(" ")
    while words:
        word = words[0].strip().rstrip(",;:")
        if USER_ID.fullmatch(word):
            users.append(word)
        elif fold(word) in ("moi", "me") and len(words) > 1:
            users.append("")
        elif word or not users:
            break
        words.pop(0)
    return list(dict.fromkeys(users)), " ".join(words).strip()
