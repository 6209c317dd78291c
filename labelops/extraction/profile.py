"""Site profiles: declarative extraction rules for shops without (good) structured data.

A profile is a YAML file, no code per site::

    name: books.toscrape
    domains: [books.toscrape.com]        # host suffixes the profile applies to
    match: "//title[contains(., 'Books to Scrape')]"   # or: a selector that must exist on the page
    product_page: article.product_page   # must exist for the page to be a product page
    fields:
      title: "div.product_main h1"       # a CSS selector; or {css: ...} / {xpath: ...}
      rating: {css: p.star-rating, attr: class, regex: 'star-rating (\\w+)', map: {One: 1, Two: 2}}
      category_path: {css: ul.breadcrumb li, drop_first: 1, drop_last: 1}
      attributes: {css: table tr, key: th, value: td}   # spec table: key/value selectors per row
      currency: {const: GBP}

Selector strings are CSS (parsel's dialect, ``::text`` and ``::attr(x)`` included) unless they
start with ``/`` or ``(``, which makes them XPath. Every field value is normalised like the
structured layers' (prices, availability, ratings, absolute image URLs...).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import lxml.etree
import yaml
from parsel.csstranslator import HTMLTranslator
from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from labelops.extraction.document import absolute_urls, node_text
from labelops.extraction.fields import LayerResult, compact
from labelops.normalize import (
    clean_code,
    clean_list,
    clean_text,
    currency_code,
    normalize_availability,
    parse_count,
    parse_gtin,
    parse_price,
    parse_rating,
)

FIELD_NAMES = frozenset(
    {"title", "description", "price", "currency", "sku", "gtin", "mpn", "brand", "availability",
     "category_path", "rating", "review_count", "attributes", "image_urls"}
)
LIST_FIELDS = frozenset({"category_path", "image_urls"})
_translator = HTMLTranslator()


def compile_selector(selector: str, *, css: bool | None = None) -> lxml.etree.XPath:
    """An XPath object for a CSS or XPath selector (XPath when it starts with ``/`` or ``(``)."""
    selector = selector.strip()
    if css is None:
        css = not selector.startswith(("/", "(", "./"))
    try:
        return lxml.etree.XPath(_translator.css_to_xpath(selector) if css else selector)
    except Exception as exc:  # cssselect and lxml raise their own error types
        raise ValueError(f"bad selector {selector!r}: {exc}") from exc


@dataclass(slots=True)
class CompiledRule:
    """A :class:`FieldRule` ready to run: selectors compiled, plain attributes (fast)."""

    xpath: lxml.etree.XPath | None
    const: Any
    attr: str | None
    regex: re.Pattern[str] | None
    mapping: dict[str, Any] | None
    join: str | None
    drop_first: int
    drop_last: int
    key: lxml.etree.XPath | None
    value: lxml.etree.XPath | None

    def _transform(self, value: str | None) -> Any:
        if value is None:
            return None
        if self.regex is not None:
            match = self.regex.search(value)
            if not match:
                return None
            value = next((g for g in match.groups() if g is not None), match.group(0))
        if self.mapping is not None:
            return self.mapping.get(str(value).strip().casefold())
        return value

    def _read(self, result: Any) -> str | None:
        if self.attr is not None and isinstance(result, lxml.etree._Element):
            return clean_text(result.get(self.attr))
        return node_text(result)

    def values(self, tree: lxml.etree._Element) -> list[Any]:
        """All values the rule finds on a page, after ``attr``/``regex``/``map``."""
        if self.xpath is None:
            return [self.const]
        results = self.xpath(tree)
        if not isinstance(results, list):  # an XPath giving a string or a number
            results = [str(results)] if results not in ("", None) else []
        values = [self._transform(self._read(r)) for r in results]
        return [v for v in values if v is not None]

    def pairs(self, tree: lxml.etree._Element) -> dict[str, str]:
        """``key``/``value`` pairs from each matched row (the ``attributes`` field)."""
        if self.xpath is None:
            return dict(self.const)
        assert self.key is not None and self.value is not None
        pairs: dict[str, str] = {}
        for row in self.xpath(tree):
            if not isinstance(row, lxml.etree._Element):
                continue
            keys, values = self.key(row), self.value(row)
            key = node_text(keys[0]) if keys else None
            value = clean_text(self._transform(node_text(values[0]))) if values else None
            if key and value:
                pairs.setdefault(key, value)
        return pairs


class FieldRule(BaseModel):
    """How to read one field: a selector, then optional ``attr``, ``regex``, ``map``, ``join``."""

    model_config = ConfigDict(extra="forbid")

    css: str | None = None
    xpath: str | None = None
    const: Any = Field(None, description="a fixed value instead of a selector (e.g. currency: GBP)")
    attr: str | None = Field(None, description="read this attribute instead of the text")
    regex: str | None = Field(None, description="keep the first group (or the whole match); no match drops the value")
    map: dict[str, Any] | None = Field(None, description="replace values (case-insensitive keys); unmapped values are dropped")
    join: str | None = Field(None, description="join all matches with this separator instead of keeping the first")
    drop_first: int = Field(0, ge=0, description="list fields: drop this many leading matches")
    drop_last: int = Field(0, ge=0, description="list fields: drop this many trailing matches")
    key: str | None = Field(None, description="attributes: selector of the name inside each matched row")
    value: str | None = Field(None, description="attributes: selector of the value inside each matched row")

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, data: Any) -> Any:
        if isinstance(data, str):  # a bare selector string: XPath when it starts with / or (
            return {"xpath" if data.lstrip().startswith(("/", "(")) else "css": data}
        return data

    @model_validator(mode="after")
    def _check(self) -> FieldRule:
        if sum(x is not None for x in (self.css, self.xpath, self.const)) != 1:
            raise ValueError("give exactly one of css, xpath, const")
        self.compile()  # bad selectors and regexes fail when the profile loads
        return self

    def compile(self) -> CompiledRule:
        """The rule with its selectors and regex compiled."""
        if self.css is not None:
            xpath = compile_selector(self.css, css=True)
        elif self.xpath is not None:
            xpath = compile_selector(self.xpath, css=False)
        else:
            xpath = None
        paired = self.key is not None or self.value is not None
        return CompiledRule(
            xpath=xpath,
            const=self.const,
            attr=self.attr,
            regex=re.compile(self.regex) if self.regex is not None else None,
            mapping={str(k).casefold(): v for k, v in self.map.items()} if self.map is not None else None,
            join=self.join,
            drop_first=self.drop_first,
            drop_last=self.drop_last,
            key=compile_selector(self.key or "th") if paired else None,
            value=compile_selector(self.value or "td") if paired else None,
        )


class SiteProfile(BaseModel):
    """One site's declarative rules (see the module docstring for the YAML shape)."""

    model_config = ConfigDict(extra="forbid")

    name: str
    domains: list[str] = Field(default_factory=list, description="host suffixes (shop.example matches www.shop.example)")
    match: str | None = Field(None, description="selector that picks the profile on any host (mirrors, test servers)")
    product_page: str = Field(description="selector that must match for the page to be a product page")
    fields: dict[str, FieldRule]

    _compiled: _CompiledProfile | None = PrivateAttr(None)

    @field_validator("domains")
    @classmethod
    def _lower(cls, domains: list[str]) -> list[str]:
        return [d.strip().lower().lstrip(".") for d in domains if d.strip()]

    @field_validator("fields")
    @classmethod
    def _known_fields(cls, fields: dict[str, FieldRule]) -> dict[str, FieldRule]:
        unknown = set(fields) - FIELD_NAMES
        if unknown:
            raise ValueError(f"unknown fields {sorted(unknown)}; known: {sorted(FIELD_NAMES)}")
        rule = fields.get("attributes")
        if rule is not None and rule.const is None and rule.key is None and rule.value is None:
            raise ValueError("attributes needs key/value selectors (default th/td: give key: th)")
        return fields

    @model_validator(mode="after")
    def _compile(self) -> SiteProfile:
        if not self.domains and not self.match:
            raise ValueError(f"profile {self.name!r} needs domains or match")
        self._compiled = _CompiledProfile(
            match=compile_selector(self.match) if self.match else None,
            product_page=compile_selector(self.product_page),
            rules=tuple((name, rule.compile()) for name, rule in self.fields.items()),
        )
        return self

    @classmethod
    def from_yaml(cls, path: str | Path) -> SiteProfile:
        """Read one profile from a YAML file."""
        path = Path(path)
        try:
            return cls.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
        except Exception as exc:
            raise ValueError(f"site profile {path}: {exc}") from exc

    def serves_host(self, host: str) -> bool:
        """Whether ``host`` is one of the profile's domains or a subdomain of one."""
        return any(host == d or host.endswith("." + d) for d in self.domains)

    def matches(self, tree: lxml.etree._Element) -> bool:
        """Whether the profile's ``match`` selector finds something on the page."""
        assert self._compiled is not None
        return self._compiled.match is not None and bool(self._compiled.match(tree))

    def applies_to(self, tree: lxml.etree._Element, url: str) -> bool:
        """Whether the profile is meant for this page: by host, or by its ``match`` selector."""
        return self.serves_host((urlsplit(url).hostname or "").lower()) or self.matches(tree)

    def is_product_page(self, tree: lxml.etree._Element) -> bool:
        assert self._compiled is not None
        return bool(self._compiled.product_page(tree))

    def extract(self, tree: lxml.etree._Element, url: str) -> dict[str, Any]:
        """The normalised fields this profile reads from a page."""
        assert self._compiled is not None
        return self._compiled.extract(tree, url)


@dataclass(slots=True)
class _CompiledProfile:
    match: lxml.etree.XPath | None
    product_page: lxml.etree.XPath
    rules: tuple[tuple[str, CompiledRule], ...]

    def extract(self, tree: lxml.etree._Element, url: str) -> dict[str, Any]:
        raw: dict[str, Any] = {}
        for name, rule in self.rules:
            if name == "attributes":
                raw[name] = rule.pairs(tree)
                continue
            values = rule.values(tree)
            if name in LIST_FIELDS:
                end = len(values) - rule.drop_last
                raw[name] = values[rule.drop_first : max(end, rule.drop_first)]
            elif rule.join is not None:
                raw[name] = rule.join.join(str(v) for v in values) if values else None
            else:
                raw[name] = values[0] if values else None
        return compact(_normalise(raw, url))


def _normalise(raw: dict[str, Any], url: str) -> dict[str, Any]:
    """Profile values → the conventions of :class:`~labelops.contracts.ExtractedProduct`."""
    price, currency = parse_price(raw.get("price"), raw.get("currency"))
    return {
        "title": clean_text(raw.get("title")),
        "description": clean_text(raw.get("description")),
        "brand": clean_text(raw.get("brand")),
        "sku": clean_code(raw.get("sku")),
        "mpn": clean_code(raw.get("mpn")),
        "gtin": parse_gtin(raw.get("gtin")),
        "price": price,
        "currency": currency or currency_code(raw.get("currency")),
        "availability": normalize_availability(raw.get("availability")),
        "rating": parse_rating(raw.get("rating")),
        "review_count": parse_count(raw.get("review_count")),
        "category_path": clean_list(raw.get("category_path") or []),
        "image_urls": absolute_urls(raw.get("image_urls") or [], url),
        "attributes": raw.get("attributes") or {},
    }


def builtin_profiles_dir() -> Path:
    """The folder of the profiles shipped with labelops (``labelops/profiles``)."""
    return Path(str(resources.files("labelops").joinpath("profiles")))


class SiteProfiles:
    """A set of site profiles; the first one that applies to a page and finds a product wins."""

    def __init__(self, profiles: Iterable[SiteProfile] = ()) -> None:
        by_name: dict[str, SiteProfile] = {}
        for profile in profiles:
            by_name[profile.name] = profile  # a later profile of the same name replaces an earlier one
        self._profiles = list(by_name.values())

    @classmethod
    def load(cls, *folders: str | Path, builtin: bool = True) -> SiteProfiles:
        """Profiles from ``*.yaml`` files: the shipped ones (unless ``builtin=False``), then each folder."""
        paths = [builtin_profiles_dir()] if builtin else []
        paths += [Path(f) for f in folders]
        profiles = []
        for folder in paths:
            if not folder.is_dir():
                raise FileNotFoundError(f"no profile folder {folder}")
            files = sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")])
            profiles += [SiteProfile.from_yaml(f) for f in files]
        return cls(profiles)

    @classmethod
    def builtin(cls) -> SiteProfiles:
        """The profiles shipped with labelops (loaded once)."""
        return _builtin()

    def __iter__(self) -> Iterator[SiteProfile]:
        return iter(self._profiles)

    def __len__(self) -> int:
        return len(self._profiles)

    @property
    def names(self) -> list[str]:
        return [p.name for p in self._profiles]

    def for_page(self, tree: lxml.etree._Element, url: str) -> SiteProfile | None:
        """The profile that applies to the page and sees a product page there: profiles chosen
        by the page's host first, then those chosen by their ``match`` selector, in load order."""
        host = (urlsplit(url).hostname or "").lower()
        by_host = [p for p in self._profiles if p.serves_host(host)]
        by_match = [p for p in self._profiles if p not in by_host and p.matches(tree)]
        return next((p for p in by_host + by_match if p.is_product_page(tree)), None)

    def extract(self, tree: lxml.etree._Element, url: str, warnings: list[str]) -> LayerResult:
        """The profile layer: fields from the matching profile, ``source`` ``profile:<name>``."""
        try:
            profile = self.for_page(tree, url)
            if profile is None:
                return LayerResult("profile")
            return LayerResult(f"profile:{profile.name}", profile.extract(tree, url), is_product=True)
        except Exception as exc:  # a profile rule meeting an odd page must not stop extraction
            warnings.append(f"profile: failed ({type(exc).__name__}: {exc})")
            return LayerResult("profile")


@lru_cache(maxsize=1)
def _builtin() -> SiteProfiles:
    return SiteProfiles.load()
