"""What the text generator reads and writes, as plain text.

**Input** — a product's facts in a fixed order, one per line, missing ones left out::

    title: Kite Cotton T-Shirt
    brand: Seabright
    category: Clothing > T-Shirts
    price: 30.99 EUR
    color: red
    material: cotton            (attributes sorted by key; at most MAX_ATTRIBUTES, values cut at 80 chars)
    similar: ⟦name⟧ is a soft ⟦material⟧ tee...   (the exemplar, when the model uses one:
                                 labelops.textgen.retrieval)

**Target** — the description, then the tags::

    <description><|tags|>tag one, tag two, ...<|endoftext|>

**Reference tags** (:func:`reference_tags`), in this order, casefolded, without repeats, at most
``MAX_TAGS``: every level of the category path; attribute values that read like a tag (each
part of a multi-valued one that contains a letter and has at most 3 words and 30 characters,
where the key is not an identifier, price or stock field; :func:`fact_tags`, also the labels'
and the baselines' tags from facts); then up to 3 salient words of the description (Latin words of 4+ letters, not stop
words, by frequency then first position; none for CJK text, which has no word boundaries).

**Slots** (:func:`delexicalize`, :func:`lexicalize`): in training targets, the input's own values
(the whole title, brand, the category's last level, price (also without zero decimals: "899"
for "899.00"), each attribute value, and the product's name: the first capitalised title word
that is none of those) are replaced by slots named after their
field, ``⟦brand⟧``, ``⟦category⟧``, ``⟦price⟧``, ``⟦color⟧``, ``⟦name⟧``...; generation fills the
slots back from the product being described. The model learns how products are described, and
the facts it states come from the input, never from memory (delexicalised data-to-text
generation). Values shorter than 2 characters are left alone unless they are digits ("3" pockets);
Latin values match on word
boundaries, case-insensitively; CJK values match as substrings; longer values win overlaps.

**Cleaning** (:func:`clean_description`) happens only when building training targets; the stored
listing keeps what the shop published. It drops a trailing "...more" and a truncated teaser that
repeats the start of the full text (books.toscrape.com does both), and cuts very long text at a
sentence end.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from labelops.textgen.facts import is_cjk, split_values

SEP = "<|sep|>"
TAGS = "<|tags|>"
EOS = "<|endoftext|>"
PAD = "<pad>"
SPECIAL_TOKENS = [EOS, PAD, SEP, TAGS]

MAX_ATTRIBUTES = 12
MAX_VALUE_CHARS = 80
MAX_TAGS = 12
MAX_DESCRIPTION_CHARS = 600

_SKIP_TAG_KEYS = re.compile(r"upc|sku|gtin|ean|isbn|mpn|\bid\b|model id|price|tax|availab|stock|review|warranty", re.I)
_LETTER = re.compile(r"[^\W\d_]")
# values that are facts only beside their key ("Water resistant: yes"): alone they tag nothing
_NOT_TAGS = frozenset({"yes", "no", "true", "false", "n/a", "na", "none", "not applicable", "other", "others",
                       "unknown", "是", "否", "无", "其他"})
CATEGORY_KIND = "category"
_WORD = re.compile(r"[A-Za-z][A-Za-z'-]{3,}")
_MORE = re.compile(r"\s*(\.\.\.|…)\s*more\s*$", re.I)
_SENTENCE_END = re.compile(r"(?<=[.!?。！？])\s*")
_STOPWORDS = frozenset(
    """about above after again against also among because been before being below between both cannot could
    does doing down during each every from further have having here itself just like made make makes many more
    most much must only other ours over same should some such than that their theirs them then there these they
    this those through under until very were what when where which while will with within without would your
    yours into onto upon well even ever still yet also perfect great good best order ideal""".split()
)


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value not in (None, "") else ""


def _attributes(listing: Mapping[str, Any], limit: int | None = MAX_ATTRIBUTES) -> list[tuple[str, str]]:
    attributes = listing.get("attributes") or {}
    if not isinstance(attributes, Mapping):  # Arrow maps arrive as lists of (key, value) pairs
        attributes = dict(attributes)
    pairs = [(_text(k), _text(v)[:MAX_VALUE_CHARS]) for k, v in attributes.items()]
    return sorted((k, v) for k, v in pairs if k and v)[:limit]


def _category_path(listing: Mapping[str, Any]) -> list[str]:
    path = listing.get("category_path")
    if path is None or isinstance(path, float):  # missing, or NaN from a DataFrame
        return []
    if isinstance(path, str):
        path = [p for p in re.split(r"\s*>\s*", path)]
    return [t for t in (_text(p) for p in path) if t]


def serialize_input(listing: Mapping[str, Any], exemplar: str | None = None) -> str:
    """The product's facts as the model's prompt (the fixed order documented above), then the
    exemplar, if any (it comes last, so a prompt cut to fit loses it before any fact)."""
    lines = []
    for key in ("title", "brand"):
        if value := _text(listing.get(key)):
            lines.append(f"{key}: {value}")
    if path := _category_path(listing):
        lines.append("category: " + " > ".join(path))
    if price := _text(listing.get("price")):
        lines.append(f"price: {price} {_text(listing.get('currency'))}".rstrip())
    lines += [f"{key}: {value}" for key, value in _attributes(listing)]
    if exemplar:
        lines.append(f"similar: {_text(exemplar)}")
    return "\n".join(lines)


def clean_description(text: str | None, max_chars: int = MAX_DESCRIPTION_CHARS) -> str:
    """A training target from a published description (see the module docstring)."""
    text = _MORE.sub("", _text(text))
    head = text[:40]
    if len(head) == 40:
        again = text.find(head, 40)
        if again > 0 and text[again:].startswith(text[:again].strip()):
            text = text[again:]
    sentences = [s for s in _SENTENCE_END.split(text) if s]
    # a sentence pasted twice (copy that repeats a block) is kept once: compared on its letters and digits
    seen: set[str] = set()
    unique = [s for s in sentences if not (key := re.sub(r"[\W_]+", " ", s).casefold().strip()) in seen
              and not seen.add(key)]
    if len(unique) < len(sentences):
        text = "".join(s if is_cjk(s) else f" {s}" for s in unique).strip()
    if len(text) > max_chars:
        sentences, kept = _SENTENCE_END.split(text), ""
        for sentence in sentences:
            if kept and len(kept) + len(sentence) + 1 > max_chars:
                break
            kept = f"{kept} {sentence}".strip() if not is_cjk(sentence) else kept + sentence
        text = kept[:max_chars]
    return text


SLOT_OPEN, SLOT_CLOSE = "⟦", "⟧"
_SLOT = re.compile(f"{SLOT_OPEN}([^{SLOT_CLOSE}{SLOT_OPEN}]{{1,40}}){SLOT_CLOSE}")


def slot_names(text: str) -> list[str]:
    """The slots ``text`` holds, by name, in order, each once ("⟦brand⟧ in ⟦color⟧" → brand, color)."""
    return list(dict.fromkeys(_SLOT.findall(text)))


def slot_name(token: str) -> str | None:
    """The name of a whole slot ("⟦color⟧" → "color"); None for any other text."""
    match = _SLOT.fullmatch(token)
    return match.group(1) if match else None


def slot_token(name: str) -> str:
    """The one token a slot is in the generator's vocabulary ("color" → "⟦color⟧")."""
    return f"{SLOT_OPEN}{name}{SLOT_CLOSE}"


def without_slots(text: str) -> str:
    """``text`` with its slots blanked out (what a tokenizer learns its merges from: a slot is one
    token of its own, never pieces)."""
    return _SLOT.sub(" ", text)


def slot_values(listing: Mapping[str, Any], short: bool = False) -> dict[str, str]:
    """Slot name → the input's value, for the fields a description states as facts (with
    ``short``, values of one character too: they can fill a slot, though not be found alone)."""
    values: dict[str, str] = {}
    if title := _text(listing.get("title")):
        values["title"] = title
    if brand := _text(listing.get("brand")):
        values["brand"] = brand
    if path := _category_path(listing):
        values["category"] = path[-1]
    if price := _text(listing.get("price")):
        values["price"] = price
    for key, value in _attributes(listing, limit=None):  # all of them: a slot needs no place in the prompt
        values.setdefault(key, value)
    facts = [v for k, v in values.items() if k != "title"]  # the title itself would take every word of it
    if name := _name_word(_text(listing.get("title")), facts, _category_path(listing)):
        values.setdefault("name", name)
    return {k: v for k, v in values.items()
            if (short or len(v) >= 2 or v.isdigit()) and SLOT_OPEN not in k and SLOT_CLOSE not in k}


def _name_word(title: str, values: Iterable[str], path: list[str]) -> str | None:
    """The product's own name in its title ("Aria" in "Urbanfolk Aria Sneakers - Blue"), if any."""
    if not title or is_cjk(title):
        return None
    taken = {w.casefold() for text in [*values, *path] for w in re.findall(r"\w+", text)}
    taken |= {w[:-1] for w in taken if w.endswith("s")}  # "Backpacks" also takes "Backpack"
    for word in re.findall(r"[^\W\d_][\w'-]{2,}", title):
        stem = re.split(r"['-]", word)[0].casefold()
        if word[0].isupper() and stem not in taken and stem not in _STOPWORDS:
            return word
    return None


def _value_pattern(value: str) -> re.Pattern[str]:
    escaped = re.escape(value)
    return re.compile(escaped if is_cjk(value) else rf"(?<!\w){escaped}(?!\w)", re.IGNORECASE)


def _price_pattern(price: str) -> re.Pattern[str]:
    """A price as shops write it: "899.00" also matches "899" and "899.0"."""
    whole, _, cents = price.partition(".")
    optional = rf"(?:\.{re.escape(cents)}|\.0)?" if cents and not cents.strip("0") else rf"\.{re.escape(cents)}" if cents else ""
    return re.compile(rf"(?<![\d,])(?<!\d\.){re.escape(whole)}{optional}(?![\d])")  # "Rs.550" is 550


def slotted_sentences(text: str) -> str:
    """The sentences of a delexicalised text that state a fact of its product (hold a slot): what
    retrieve-and-fill may carry to another product. The others ("Order now and enjoy free
    returns.", "Wash it cold and it keeps its shape.") are the neighbour's claims, which no fact of
    this product backs. A text with no slot at all is kept whole."""
    sentences = [s for s in _SENTENCE_END.split(text) if s]
    kept = [s for s in sentences if _SLOT.search(s)]
    if not kept or len(kept) == len(sentences):
        return text
    return "".join(s if is_cjk(s) else f" {s}" for s in kept).strip()


def delexicalize(text: str, listing: Mapping[str, Any]) -> str:
    """Replace the input's values in ``text`` by their slots (longest values first); a value too
    short to find alone ("M") is a slot where it follows its key ("size M", "Size: M")."""
    for name, value in sorted(slot_values(listing).items(), key=lambda item: -len(item[1])):
        pattern = _price_pattern(value) if name == "price" else _value_pattern(value)
        text = pattern.sub(f"{SLOT_OPEN}{name}{SLOT_CLOSE}", text)
    for key, value in _attributes(listing, limit=None):
        if len(value) < 2 and not value.isdigit() and SLOT_OPEN not in key:
            anchored = re.compile(rf"(?<!\w)({re.escape(key)}\s*(?:is\s+|of\s+|:\s*)?){re.escape(value)}(?!\w)", re.I)
            text = anchored.sub(lambda m: f"{m.group(1)}{SLOT_OPEN}{key}{SLOT_CLOSE}", text)
    return text


def lexicalize(text: str, listing: Mapping[str, Any]) -> str:
    """Fill slots with the input's values; a slot the input has no value for is dropped."""
    values = slot_values(listing, short=True)
    if "price" in values:  # as shops write it: "Rs. 899", not "Rs. 899.00"
        whole, _, cents = values["price"].partition(".")
        values["price"] = whole if cents and not cents.strip("0") else values["price"]
    text = _ARTICLE_SLOT.sub(lambda m: _article(m.group(1), values.get(m.group(2), "")) + m.group(0)[len(m.group(1)):],
                             text)
    filled = _SLOT.sub(lambda m: values.get(m.group(1), ""), text)
    return " ".join(filled.replace(SLOT_OPEN, "").replace(SLOT_CLOSE, "").split())


_ARTICLE_SLOT = re.compile(rf"\b([Aa]n?)(?=\s+{SLOT_OPEN}([^{SLOT_CLOSE}{SLOT_OPEN}]{{1,40}}){SLOT_CLOSE})")
_AN_LETTERS = frozenset("AEFHILMNORSX")  # letter names said with a vowel first: "an E27", "an LED", "an SUV"
_A_WORDS = re.compile(r"(?i)^(?:uni|use|usu|ure|uro|eu|one\b|once\b)")  # "a unique", "a user", "a one-piece"
_AN_WORDS = re.compile(r"(?i)^(?:hour|honest|honou?r|heir)")


def _article(written: str, value: str) -> str:
    """"a" or "an" before ``value`` as it is said ("an E27 socket", "an 8 W bulb", "a USB port",
    "an oak frame", "a unique"), in the case ``written`` had; ``written`` when nothing is known."""
    word = value.strip().split(" ", 1)[0] if value.strip() else ""
    if not word:
        return written
    if word[0].isdigit():
        number = re.match(r"\d+", word).group(0)
        vowel = number[0] == "8" or (number[:2] in ("11", "18") and len(number) % 3 == 2)  # eight…, eleven, eighteen
    elif len(word) > 1 and word[0].isupper() and (word[1].isupper() or word[1].isdigit()):  # an initialism
        vowel = word[0] in _AN_LETTERS
    elif _A_WORDS.match(word):
        vowel = False
    else:
        vowel = word[0].casefold() in "aeiou" or bool(_AN_WORDS.match(word))
    article = "an" if vowel else "a"
    return article.capitalize() if written[0].isupper() else article


_CLAUSE = re.compile(r"((?<!\bRs)(?<!\bNo)[.!?;,](?=\s|$)\s*|[。！？；，、]\s*)")


def fill_slots(text: str, listing: Mapping[str, Any]) -> str:
    """:func:`lexicalize`, but a clause with a slot ``listing`` has no value for is left out
    rather than left with a gap ("It has 3 pockets, size ⟦size⟧." → "It has 3 pockets.")."""
    values = slot_values(listing, short=True)
    parts = _CLAUSE.split(text)
    kept: list[list[str]] = []
    for i in range(0, len(parts), 2):
        clause, end = parts[i], parts[i + 1] if i + 1 < len(parts) else ""
        if clause.strip() and all(name in values for name in _SLOT.findall(clause)):
            kept.append([clause, end])
        elif kept and re.match(r"[.!?。！？]", end.strip()):
            kept[-1][1] = end  # the sentence still ends where it did
    filled = lexicalize("".join(clause + end for clause, end in kept), listing)
    return re.sub(r"[,;，、；]\s*$", ".", filled).strip()


def _salient_words(description: str, exclude: set[str], k: int = 3) -> list[str]:
    if is_cjk(description):
        return []
    words = [w.casefold() for w in _WORD.findall(description)]
    counts = Counter(w for w in words if w not in _STOPWORDS and w not in exclude)
    first = {w: i for i, w in reversed(list(enumerate(words)))}
    return sorted(counts, key=lambda w: (-counts[w], first[w]))[:k]


def reads_like_tag(text: str) -> bool:
    """Whether a value can stand alone as a tag: a letter, at most 3 words and 30 characters, and
    not a bare "yes" or "no" (a pocket count "2" is a fact only beside its key)."""
    return bool(_LETTER.search(text)) and len(text) <= 30 and len(text.split()) <= 3 \
        and text.strip().casefold() not in _NOT_TAGS


def fact_tag_kinds(listing: Mapping[str, Any], limit: int | None = MAX_ATTRIBUTES) -> list[tuple[str, str]]:
    """:func:`fact_tags` with the kind of fact each came from: ``"category"`` for a level of the
    category path, else the attribute's key (casefolded); a tag given twice keeps its first kind."""
    tags: list[tuple[str, str]] = [(p.casefold(), CATEGORY_KIND) for p in _category_path(listing)]
    for key, value in _attributes(listing, limit):
        if _SKIP_TAG_KEYS.search(key):
            continue
        for part in split_values(value) or (value,):  # "复古、文艺" is two tags
            if reads_like_tag(part):
                tags.append((part.casefold(), key.casefold()))
    first: dict[str, str] = {}
    for tag, kind in tags:
        first.setdefault(tag, kind)
    return list(first.items())


def fact_tags(listing: Mapping[str, Any], limit: int | None = MAX_ATTRIBUTES) -> list[str]:
    """The tags a product's own facts give (the documented rule above, without the description's
    words): every level of its category path, then the attribute values that read like a tag
    (of the first ``limit`` attributes; a pocket count "6", a SKU or a bare "yes" is no tag)."""
    return [tag for tag, _ in fact_tag_kinds(listing, limit)]


def reference_tags(listing: Mapping[str, Any]) -> list[str]:
    """The tags a product should get (the documented rule above)."""
    tags = fact_tags(listing)
    tags += _salient_words(_text(listing.get("description")), set(tags) | {w for t in tags for w in t.split()})
    return list(dict.fromkeys(tags))[:MAX_TAGS]


def format_target(description: str, tags: Iterable[str]) -> str:
    """The text the model learns to write after the prompt."""
    return f"{description}{TAGS}{', '.join(tags)}{EOS}"


def parse_output(text: str) -> tuple[str, list[str]]:
    """Generated text → (description, tags); tolerant of a missing tags part or end marker."""
    text = text.split(EOS, 1)[0].replace(SEP, " ").replace(PAD, "")
    description, _, tags = text.partition(TAGS)
    tag_list = [t.strip() for t in tags.replace(TAGS, ",").split(",") if t.strip()]
    return " ".join(description.split()), list(dict.fromkeys(tag_list))
