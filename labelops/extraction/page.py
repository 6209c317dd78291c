"""One parsed page, as the page heuristics see it: visible elements in order, the product's title
and buy button (the *anchors* of the main product), and how far any element is from them.

Built once per page and shared by every heuristic, so each walks precomputed lists instead of
the tree. Work is bounded: at most :data:`MAX_ELEMENTS` elements and :data:`MAX_TEXTS` texts are
looked at, whatever the page's size.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from urllib.parse import urljoin

import lxml.etree
import lxml.html

from labelops.extraction.vocabulary import (
    BUY_ACTION,
    BUY_ATTRIBUTE_TOKENS,
    BUY_PHRASES,
    NOT_BUY,
    PRODUCT_TITLE_TOKENS,
    SIDE_REGION_NAMES,
    SIDE_REGION_TAGS,
    SIDE_REGION_TOKENS,
    PhraseSet,
    token_set,
)
from labelops.normalize import clean_text

MAX_ELEMENTS = 30_000
"""Elements of a page the heuristics look at (in document order); the rest is ignored."""
MAX_TEXTS = 30_000
"""Visible texts of a page the heuristics look at."""
MAX_BUTTONS = 300
"""Buy buttons of a page looked at (a listing of thousands of products has thousands)."""
MAX_DEPTH = 200
"""Elements deeper than this are ignored (absurdly nested pages)."""
MAX_TITLE_CANDIDATES = 200
"""Headings, and then other title-like elements, looked at for the product's title."""

_SKIPPED_TAGS = frozenset({"script", "style", "noscript", "template", "svg", "head", "iframe", "select", "option", "textarea"})
_BUY_TEXT = PhraseSet(BUY_PHRASES)
_NOT_BUY = PhraseSet(NOT_BUY)
_BUY_TOKENS = frozenset(BUY_ATTRIBUTE_TOKENS)
_SIDE_TOKENS = frozenset(SIDE_REGION_TOKENS)
_TITLE_TOKENS = frozenset(PRODUCT_TITLE_TOKENS)
_XP_META = lxml.etree.XPath("//meta[@content][@property or @name or @itemprop or @http-equiv]")
_XP_CANONICAL = lxml.etree.XPath("//link[@href][@rel]")
_XP_ROLE_BUTTONS = lxml.etree.XPath("//body//*[@role='button']")


@dataclass(slots=True)
class Text:
    """One visible text of the page: its words and the element it belongs to."""

    text: str
    element: lxml.etree._Element
    index: int
    """Position of the element in document order (``Page.elements``)."""


@dataclass
class Page:
    """A parsed page and what the heuristics share about it."""

    tree: lxml.etree._Element
    url: str = ""
    warnings: list[str] = field(default_factory=list)
    source: bytes = b""
    """The page's HTML as UTF-8 (for quick checks on the raw text)."""

    # ----------------------------------------------------------------- elements and texts

    @cached_property
    def elements(self) -> list[lxml.etree._Element]:
        """Visible-content elements of the body in document order (scripts, styles, forms'
        option lists skipped), at most :data:`MAX_ELEMENTS`, none deeper than :data:`MAX_DEPTH`."""
        self._walk()
        return self._elements

    @cached_property
    def texts(self) -> list[Text]:
        """The visible texts in document order: each element's own text and the text after each
        child (so ``<b>Code:</b> 123`` gives "Code:" then "123"), whitespace collapsed; a text
        after a child belongs to the parent element."""
        self._walk()
        return self._texts

    def _walk(self) -> None:
        if hasattr(self, "_elements"):
            return
        body = self.tree.find("body")
        root = body if body is not None else self.tree
        elements: list[lxml.etree._Element] = []
        texts: list[Text] = []
        positions: list[int] = []  # position of each open element (for the texts after its children)
        walker = lxml.etree.iterwalk(root, events=("start", "end", "comment"))
        cut = False
        for event, node in walker:
            if event == "comment":
                if node.tail and positions and (text := squash(node.tail)):
                    texts.append(Text(text, elements[positions[-1]], positions[-1]))
                continue
            if event == "start":
                if node.tag in _SKIPPED_TAGS or len(positions) > MAX_DEPTH or len(elements) >= MAX_ELEMENTS:
                    cut = cut or len(elements) >= MAX_ELEMENTS
                    walker.skip_subtree()
                    positions.append(-1)
                    continue
                positions.append(len(elements))
                elements.append(node)
                if node.text and (text := squash(node.text)):
                    texts.append(Text(text, node, positions[-1]))
                continue
            positions.pop()  # "end": the text after this element belongs to its parent
            if node.tail and positions and positions[-1] >= 0 and (text := squash(node.tail)):
                texts.append(Text(text, elements[positions[-1]], positions[-1]))
        if cut:
            self.warnings.append(f"page: only the first {MAX_ELEMENTS} elements were read")
        self._elements, self._texts = elements, texts[:MAX_TEXTS]

    @cached_property
    def index(self) -> dict[lxml.etree._Element, int]:
        return {element: i for i, element in enumerate(self.elements)}

    @cached_property
    def visible_tokens(self) -> frozenset[str]:
        """Every word of the visible texts (punctuation around it stripped): is a code shown?"""
        tokens: set[str] = set()
        for text in self.texts:
            for word in text.text.split():
                tokens.add(word.strip(".,;:()[]{}\"'"))
        return frozenset(tokens)

    def text_of(self, element: lxml.etree._Element, limit: int = 300) -> str:
        """Visible text of an element (scripts and styles left out), cleaned, cut to ``limit``."""
        parts: list[str] = []
        size = 0
        for node in element.iter():
            if node.tag in _SKIPPED_TAGS or not isinstance(node.tag, str):
                if node is not element and node.tail and node.tail.strip():
                    parts.append(node.tail)
                    size += len(node.tail.strip())
                continue
            if node.text and node.text.strip():
                parts.append(node.text)
                size += len(node.text.strip())
            if node is not element and node.tail and node.tail.strip():
                parts.append(node.tail)
                size += len(node.tail.strip())
            if size > limit:
                break
        return squash(" ".join(parts))[:limit]

    # ----------------------------------------------------------------------- page facts

    @cached_property
    def metas(self) -> dict[str, list[str]]:
        """``<meta>`` contents by lower-cased property/name/itemprop/http-equiv."""
        metas: dict[str, list[str]] = {}
        for meta in _XP_META(self.tree):
            key = (meta.get("property") or meta.get("name") or meta.get("itemprop") or meta.get("http-equiv") or "")
            content = (meta.get("content") or "").strip()
            if key and content:
                metas.setdefault(key.strip().lower(), []).append(content)
        return metas

    @cached_property
    def page_urls(self) -> list[str]:
        """The page's own URLs, best first: canonical link, ``og:url``, the URL it was fetched from."""
        urls: list[str] = []
        for link in _XP_CANONICAL(self.tree):
            if "canonical" in (link.get("rel") or "").lower().split():
                urls.append(urljoin(self.url, link.get("href", "").strip()))
                break
        urls += [urljoin(self.url, u) for u in self.metas.get("og:url", [])[:1]]
        if self.url:
            urls.append(self.url)
        return [u for u in dict.fromkeys(urls) if u.startswith(("http://", "https://"))]

    @cached_property
    def base_url(self) -> str:
        return self.url or next(iter(self.page_urls), "")

    @cached_property
    def title_texts(self) -> list[str]:
        """Names the page gives itself: ``og:title`` and ``<title>``."""
        names = list(self.metas.get("og:title", [])[:1])
        title = self.tree.findtext(".//title")
        if title and (title := clean_text(title)):
            names.append(title)
        return names

    # -------------------------------------------------------------------------- regions

    @cached_property
    def _tokens(self) -> dict[lxml.etree._Element, frozenset[str]]:
        return {}

    def tokens(self, element: lxml.etree._Element) -> frozenset[str]:
        """Tokens of the element's class, id and itemprop (see :func:`token_set`)."""
        cache = self._tokens
        found = cache.get(element)
        if found is None:
            get = element.get
            found = cache[element] = token_set(f"{get('class') or ''} {get('id') or ''} {get('itemprop') or ''}")
        return found

    @cached_property
    def _named(self) -> dict[frozenset[str], list[lxml.etree._Element]]:
        return {}

    def named(self, words: frozenset[str]) -> list[lxml.etree._Element]:
        """Elements (document order) whose class, id or itemprop has one of ``words`` as a token."""
        found = self._named.get(words)
        if found is None:
            tokens = self.tokens
            found = self._named[words] = [e for e in self.elements if not tokens(e).isdisjoint(words)]
        return found

    @cached_property
    def _side_flags(self) -> dict[lxml.etree._Element, bool]:
        return {}

    def own_side(self, element: lxml.etree._Element) -> bool:
        """Whether the element itself marks a region of other products or page furniture."""
        flags = self._side_flags
        flag = flags.get(element)
        if flag is None:
            tag = element.tag if isinstance(element.tag, str) else ""
            names = {n.lower() for n in (element.get("class") or "").split()} | {(element.get("id") or "").lower()}
            flag = bool(self.tokens(element) & _SIDE_TOKENS) or bool(names & SIDE_REGION_NAMES)
            if tag in SIDE_REGION_TAGS and not flag:
                flag = tag == "nav" or _depth_below_body(element) <= 3
            flags[element] = flag
        return flag

    @cached_property
    def _side_memo(self) -> dict[lxml.etree._Element, bool]:
        return {}

    def in_side_region(self, element: lxml.etree._Element) -> bool:
        """Whether the element lies in a header, footer, menu, carousel, related-products block..."""
        memo = self._side_memo
        found = memo.get(element)
        if found is not None:
            return found
        chain: list[lxml.etree._Element] = []
        node: lxml.etree._Element | None = element
        result = False
        while node is not None and node.tag not in ("body", "html"):
            known = memo.get(node)
            if known is not None:
                result = known
                break
            chain.append(node)
            if self.own_side(node):
                result = True
                break
            node = node.getparent()
        for visited in chain:
            memo[visited] = result
        return result

    # -------------------------------------------------------------------------- anchors

    @cached_property
    def title_element(self) -> lxml.etree._Element | None:
        """The product's title: among ``<h1>``/``<h2>`` and elements whose class names a product
        title, the one most like the page's own title (``og:title``, ``<title>``); headings
        outside side regions and ``<h1>`` first."""
        names = [_bigrams(n) for n in self.title_texts]
        best: tuple[float, int] | None = None
        chosen = None
        headings = list(self.tree.iter("h1"))[:MAX_TITLE_CANDIDATES]
        others = list(self.tree.iter("h2"))[:MAX_TITLE_CANDIDATES] + self.named(_TITLE_TOKENS)[:MAX_TITLE_CANDIDATES]
        for element in headings + others:
            if element not in self.index:
                continue
            text = self.text_of(element, 300)
            if len(text) < 2:
                continue
            if self.in_side_region(element):
                continue
            named = bool(self.tokens(element) & _TITLE_TOKENS)
            grams = _bigrams(text)
            likeness = max((len(grams & n) / len(grams) for n in names if grams), default=0.0)
            if element.tag != "h1" and names and likeness < 0.5:
                continue  # an h2 or a "name" element that is not like the page's title: a section heading
            value = 3 * likeness + (1.0 if element.tag == "h1" else 0.0) + (1.0 if named else 0.0)
            key = (value, -self.index[element])
            if best is None or key > best:
                best, chosen = key, element
        return chosen

    @cached_property
    def buy_buttons(self) -> list[lxml.etree._Element]:
        """Elements that add the product to a cart or buy it, in document order: buttons, inputs
        and links whose text says so ("Add to cart", "In den Warenkorb", "カートに入れる"...) or whose
        class/id/name does (``add-to-cart``, ``buy-now``...)."""
        buttons: list[lxml.etree._Element] = []
        index = self.index
        candidates = list(self.tree.iter("a", "button", "input"))
        if b'role="button"' in self.source or not self.source:
            candidates += _XP_ROLE_BUTTONS(self.tree)
            candidates.sort(key=lambda e: index.get(e, -1))
        for element in candidates:
            if element not in index:
                continue
            if len(buttons) >= MAX_BUTTONS:
                break
            tag = element.tag
            get = element.get
            if tag == "input" and (get("type") or "").lower() not in ("submit", "button", "image"):
                continue
            tokens = self.tokens(element)
            name = get("name")
            if name:
                tokens = tokens | token_set(name)
            by_attribute = not tokens.isdisjoint(_BUY_TOKENS)
            if not by_attribute and tag in ("a", "button"):
                parent = element.getparent()
                by_attribute = parent is not None and not self.tokens(parent).isdisjoint(_BUY_TOKENS)
            if not by_attribute:
                action = get("onclick") or get("data-action") or get("formaction")
                href = get("href") or ""
                by_attribute = bool(action and BUY_ACTION.search(action.lower())) or (
                    href[:11].lower() == "javascript:" and bool(BUY_ACTION.search(href.lower()))
                )
            words = ""
            if tag != "input" and len(element) <= 6:
                words = squash(element.text_content()[:200])
            if not words:
                words = squash(get("value") or get("aria-label") or get("title") or "")
            by_text = bool(words) and len(words) <= 40 and _BUY_TEXT.match(words)
            if not (by_text or by_attribute and tag in ("button", "input", "a")):
                continue
            if _NOT_BUY.search(words or " ".join(tokens)):
                continue
            buttons.append(element)
        return buttons

    @staticmethod
    def is_disabled(element: lxml.etree._Element) -> bool:
        tokens = token_set(element.get("class"))
        return (element.get("disabled") is not None or (element.get("aria-disabled") or "").lower() == "true"
                or bool(tokens & {"disabled", "is-disabled", "inactive"}))

    @cached_property
    def buy_button(self) -> lxml.etree._Element | None:
        """The main product's buy button: the one nearest the title, outside side regions (a page
        whose only buy buttons sit in carousels of other products has none)."""
        buttons = [b for b in self.buy_buttons if not self.in_side_region(b)]
        if not buttons:
            return None
        title = self.title_element
        if title is None:
            return buttons[0]
        return min(buttons, key=lambda b: (self.distance(b, title), abs(self.index.get(b, 0) - self.index.get(title, 0))))

    @cached_property
    def anchors(self) -> list[lxml.etree._Element]:
        """The main product's title and buy button (those found)."""
        return [a for a in (self.title_element, self.buy_button) if a is not None]

    # ------------------------------------------------------------------------- distances

    @cached_property
    def _paths(self) -> dict[lxml.etree._Element, tuple[lxml.etree._Element, ...]]:
        return {}

    def path(self, element: lxml.etree._Element) -> tuple[lxml.etree._Element, ...]:
        """The element's ancestors from the root down, then the element."""
        paths = self._paths
        found = paths.get(element)
        if found is None:
            found = paths[element] = (*reversed(list(element.iterancestors())), element)
        return found

    def distance(self, a: lxml.etree._Element, b: lxml.etree._Element) -> int:
        """Steps up and down the tree from ``a`` to ``b``."""
        path_a, path_b = self.path(a), self.path(b)
        common = 0
        for x, y in zip(path_a, path_b):
            if x is not y:
                break
            common += 1
        return len(path_a) + len(path_b) - 2 * common

    def anchor_distance(self, element: lxml.etree._Element) -> int | None:
        """Tree distance to the nearest anchor (``None`` when the page has none)."""
        if not self.anchors:
            return None
        return min(self.distance(element, a) for a in self.anchors)

    def window(self, size: int) -> tuple[int, int]:
        """Element positions within ``size`` of the title or buy button (document order); the
        first ``2 * size`` positions when the page has neither."""
        if not self.anchors:
            return 0, 2 * size
        positions = [self.index.get(a, 0) for a in self.anchors]
        return max(0, min(positions) - size), max(positions) + size


def squash(text: str) -> str:
    """Whitespace collapsed and stripped (lxml has already decoded entities)."""
    return " ".join(text.split())


def _depth_below_body(element: lxml.etree._Element) -> int:
    depth = 0
    for ancestor in element.iterancestors():
        if ancestor.tag == "body":
            return depth
        depth += 1
    return depth


def _bigrams(text: str) -> set[str]:
    """Character pairs of a text (case-folded, spaces squeezed): likeness in any script."""
    folded = " ".join(text.casefold().split())
    return {folded[i : i + 2] for i in range(len(folded) - 1)}
