"""The simple methods the text generator must beat, each with ``fit(train_rows)`` and
``predict(rows) -> [{"description": str, "tags": [str]}]`` over Listing-shaped mappings.

- :class:`TemplateBaseline` fills a fixed template with the product's own facts ("{title} by
  {brand}. {Key}: {value}. ..." or, for Chinese input, "这款{title}，{key}为{value}，...。"). It
  states every attribute value, so its attribute coverage is high and it invents nothing, but
  it reads like a spec sheet.
- :class:`NearestNeighbourBaseline` returns the description and tags of the most similar
  training product (TF-IDF over character 2–4-grams of title, brand, category and attribute
  values, cosine). It reads fluently, since people wrote it, but it states the neighbour's
  facts, so it states another product's facts.
- :class:`RetrieveFillBaseline` (retrieve-and-fill) takes the same neighbour's description with
  the neighbour's own facts turned into slots (its name, brand, price, attribute values) and fills
  them with this product's facts; a clause whose slot this product cannot fill is left out, and
  so is every sentence of the neighbour's that states none of its facts (its care advice, its
  shop's returns: claims no fact of this product backs). No language model: people's wording,
  this product's facts.

Tags of both: the category path, then the attribute values (multi-valued ones split),
casefolded, without repeats; the neighbour's own ``tags`` when its training row has them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from labelops.textgen.facts import attribute_items, category_items, get_field, is_cjk, text_value

__all__ = ["BASELINES", "NearestNeighbourBaseline", "RetrieveFillBaseline", "TemplateBaseline", "listing_tag_kinds",
           "listing_tags", "serialize_facts", "state_facts"]

Prediction = dict[str, Any]


def listing_tag_kinds(row: Any) -> list[tuple[str, str]]:
    """A product's tags from its own facts with the kind of fact each came from
    (:func:`~labelops.textgen.serialize.fact_tag_kinds`, every attribute), whitespace-collapsed."""
    from labelops.textgen.serialize import fact_tag_kinds

    facts = {"category_path": category_items(row), "attributes": attribute_items(row)}
    first: dict[str, str] = {}
    for tag, kind in fact_tag_kinds(facts, limit=None):
        first.setdefault(" ".join(tag.split()), kind)
    return list(first.items())


def listing_tags(row: Any) -> list[str]:
    """A product's tags from its own facts, by the rule the reference tags use
    (:func:`~labelops.textgen.serialize.fact_tags`, every attribute), whitespace-collapsed."""
    return [tag for tag, _ in listing_tag_kinds(row)]


def serialize_facts(row: Any, max_chars: int | None = None) -> str:
    """Title, brand, category path and attribute values as one line (what the neighbour search
    compares), cut at ``max_chars``."""
    parts = [text_value(get_field(row, "title")), text_value(get_field(row, "brand")), *category_items(row)]
    parts += [value for _, value in attribute_items(row)]
    return " ".join(" ".join(p.split()) for p in parts if p)[:max_chars]


def _row_is_cjk(row: Any) -> bool:
    text = " ".join([serialize_facts(row)] + [key for key, _ in attribute_items(row)])
    return is_cjk(text)


class TemplateBaseline:
    """Fills a fixed template from the product's own facts (see the module docstring)."""

    def fit(self, train_rows: Iterable[Any] | None = None) -> TemplateBaseline:
        """Nothing to learn; returns ``self``."""
        return self

    def predict(self, rows: Iterable[Any]) -> list[Prediction]:
        return [self.predict_one(row) for row in rows]

    def predict_one(self, row: Any) -> Prediction:
        return {"description": self.describe(row), "tags": listing_tags(row)}

    @staticmethod
    def describe(row: Any) -> str:
        title = " ".join(text_value(get_field(row, "title")).split())
        brand = " ".join(text_value(get_field(row, "brand")).split())
        category = category_items(row)
        pairs = attribute_items(row)
        brand_in_title = bool(brand) and brand.casefold() in title.casefold()
        if _row_is_cjk(row):
            head = f"这款{title or (category[-1] if category else '商品')}"
            if brand and not brand_in_title:
                head += f"来自{brand}"
            facts = state_facts(pairs, cjk=True)
            return f"{head}，{facts}" if facts else f"{head}。"
        if title:
            head = title if not brand or brand_in_title else f"{title} by {brand}"
        elif brand:
            head = f"{brand} {category[-1]}" if category else f"A product by {brand}"
        else:
            head = category[-1] if category else "This product"
        return " ".join([head.rstrip(".") + ".", state_facts(pairs, cjk=False)]).strip()


def state_facts(pairs: Iterable[tuple[str, str]], cjk: bool) -> str:
    """Attribute pairs as plain statements: "Key: value. Key: value." or, for Chinese text,
    "key为value，key为value。" (the template's wording; also how
    :func:`labelops.textgen.grounding.complete` states what a generated text leaves out)."""
    pairs = [(" ".join(k.split()), " ".join(v.split())) for k, v in pairs]
    if cjk:
        stated = "，".join(f"{key}为{value}" for key, value in pairs if key)
        return stated + "。" if stated else ""
    return " ".join(f"{(key[:1].upper() + key[1:]) if key else 'Detail'}: {value.rstrip('.')}." for key, value in pairs)


class NearestNeighbourBaseline:
    """Returns the description and tags of the most similar training product.

    Similarity is the cosine of TF-IDF vectors (sublinear tf, L2-normalised) of character
    n-grams (``analyzer="char_wb"``, 2–4 by default, so Chinese works without a word
    segmenter) of :func:`serialize_facts`, cut at ``max_chars`` (title, brand and category
    come first; the n-gram analysis is the slow part of fitting). With at least 1,000
    training rows, n-grams found in more than ``max_df`` of them are dropped: they tell no
    product from another and make scoring slow. A query never gets its own row back: training
    rows with the query's ``listing_id`` are excluded, or, when the query has no
    ``listing_id``, those with the same facts and the same description. Queries are scored in
    batches of ``batch_size`` against the sparse training matrix.
    """

    def __init__(
        self,
        ngram_range: tuple[int, int] = (2, 4),
        *,
        max_chars: int = 256,
        max_df: float = 0.5,
        batch_size: int = 256,
    ) -> None:
        self.ngram_range = ngram_range
        self.max_chars = max_chars
        self.max_df = max_df
        self.batch_size = batch_size
        self._vectorizer: Any = None
        self._matrix: Any = None
        self._descriptions: list[str] = []
        self._tags: list[list[str]] = []
        self._by_id: dict[str, list[int]] = {}
        self._by_content: dict[tuple[str, str], list[int]] = {}

    def fit(self, train_rows: Iterable[Any]) -> NearestNeighbourBaseline:
        from sklearn.feature_extraction.text import TfidfVectorizer

        rows = list(train_rows)
        if not rows:
            raise ValueError("NearestNeighbourBaseline needs at least one training row")
        facts = [serialize_facts(row, self.max_chars) for row in rows]
        self._vectorizer = TfidfVectorizer(
            analyzer="char_wb",
            ngram_range=self.ngram_range,
            sublinear_tf=True,
            max_df=self.max_df if len(rows) >= 1000 else 1.0,
            dtype=np.float32,
        )
        self._matrix = self._vectorizer.fit_transform(facts).T.tocsr()  # features × training rows
        self._descriptions = [" ".join(text_value(get_field(row, "description")).split()) for row in rows]
        self._tags = []
        self._by_id, self._by_content = {}, {}
        for i, (row, text) in enumerate(zip(rows, facts)):
            tags = get_field(row, "tags")
            if tags is not None and not isinstance(tags, str):
                self._tags.append([str(t) for t in tags])
            else:
                self._tags.append(listing_tags(row))
            if listing_id := text_value(get_field(row, "listing_id")):
                self._by_id.setdefault(listing_id, []).append(i)
            self._by_content.setdefault((text, self._descriptions[i]), []).append(i)
        return self

    def neighbours(self, rows: Sequence[Any]) -> list[int | None]:
        """Index of each row's nearest training row (``None`` when every one is excluded)."""
        if self._vectorizer is None:
            raise RuntimeError("fit the baseline first")
        rows = list(rows)
        facts = [serialize_facts(row, self.max_chars) for row in rows]
        result: list[int | None] = []
        for start in range(0, len(rows), self.batch_size):
            batch = slice(start, start + self.batch_size)
            scores = (self._vectorizer.transform(facts[batch]) @ self._matrix).toarray()
            for j, (row, text) in enumerate(zip(rows[batch], facts[batch])):
                for i in self._excluded(row, text):
                    scores[j, i] = -np.inf
            best = scores.argmax(axis=1)
            result.extend(int(b) if np.isfinite(scores[j, b]) else None for j, b in enumerate(best))
        return result

    # -- saving as data (no pickle: a model folder is loaded again, maybe by someone else) ----------
    def to_state(self) -> tuple[dict[str, np.ndarray], dict[str, Any]]:
        """The fitted search as arrays (the sparse matrix, the idf weights) and JSON-ready values
        (parameters, vocabulary, descriptions, tags, exclusion lists): :meth:`from_state` rebuilds it."""
        if self._vectorizer is None:
            raise RuntimeError("fit the baseline first")
        matrix = self._matrix.tocsr()
        arrays = {"matrix_data": matrix.data, "matrix_indices": matrix.indices, "matrix_indptr": matrix.indptr,
                  "matrix_shape": np.asarray(matrix.shape, dtype=np.int64), "idf": np.asarray(self._vectorizer.idf_)}
        values = {"ngram_range": list(self.ngram_range), "max_chars": self.max_chars, "max_df": self.max_df,
                  "batch_size": self.batch_size,
                  "vocabulary": {term: int(i) for term, i in self._vectorizer.vocabulary_.items()},
                  "descriptions": self._descriptions, "tags": self._tags, "by_id": self._by_id,
                  "by_content": [[text, description, rows] for (text, description), rows in self._by_content.items()]}
        return arrays, values

    @classmethod
    def from_state(cls, arrays: Any, values: dict[str, Any]) -> NearestNeighbourBaseline:
        """The search :meth:`to_state` saved: the same neighbours for the same rows."""
        from scipy.sparse import csr_matrix
        from sklearn.feature_extraction.text import TfidfVectorizer

        search = cls(tuple(values["ngram_range"]), max_chars=values["max_chars"], max_df=values["max_df"],
                     batch_size=values["batch_size"])
        search._vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=search.ngram_range, sublinear_tf=True,
                                             dtype=np.float32, vocabulary=values["vocabulary"])
        search._vectorizer.idf_ = arrays["idf"]
        search._matrix = csr_matrix((arrays["matrix_data"], arrays["matrix_indices"], arrays["matrix_indptr"]),
                                    shape=tuple(int(n) for n in arrays["matrix_shape"]))
        search._descriptions = list(values["descriptions"])
        search._tags = [list(tags) for tags in values["tags"]]
        search._by_id = {key: list(rows) for key, rows in values["by_id"].items()}
        search._by_content = {(text, description): list(rows) for text, description, rows in values["by_content"]}
        return search

    def _excluded(self, row: Any, text: str) -> list[int]:
        listing_id = text_value(get_field(row, "listing_id"))
        if listing_id:
            return self._by_id.get(listing_id, [])
        description = " ".join(text_value(get_field(row, "description")).split())
        return self._by_content.get((text, description), []) if description else []

    def predict(self, rows: Iterable[Any]) -> list[Prediction]:
        out: list[Prediction] = []
        for index in self.neighbours(list(rows)):
            if index is None:
                out.append({"description": "", "tags": []})
            else:
                out.append({"description": self._descriptions[index], "tags": list(self._tags[index])})
        return out



class RetrieveFillBaseline:
    """The nearest training product's description, its facts replaced by this product's (see the
    module docstring); tags are this product's own (:func:`listing_tags`)."""

    def __init__(self) -> None:
        self._search = NearestNeighbourBaseline()
        self._texts: list[str] = []

    def fit(self, train_rows: Iterable[Any]) -> RetrieveFillBaseline:
        from labelops.textgen.serialize import clean_description, delexicalize, slotted_sentences

        rows = [r for r in train_rows if clean_description(text_value(get_field(r, "description")))]
        if not rows:
            raise ValueError("RetrieveFillBaseline needs at least one training row with a description")
        self._search.fit(rows)
        # only the neighbour's sentences that carry a fact, refilled with this product's: its other
        # sentences are claims about the neighbour (its care, its shop's returns) no fact here backs
        self._texts = [slotted_sentences(delexicalize(clean_description(text_value(get_field(r, "description"))), dict(r)))
                       for r in rows]
        return self

    def predict(self, rows: Iterable[Any]) -> list[Prediction]:
        from labelops.textgen.serialize import fill_slots

        rows = list(rows)
        return [{"description": fill_slots(self._texts[index], dict(row)) if index is not None else "",
                 "tags": listing_tags(row)} for row, index in zip(rows, self._search.neighbours(rows))]


# the baselines a text model is measured against, by the name the gate's policy uses (the gate's
# default: template and retrieve_fill; the nearest neighbour copies another product's facts)
BASELINES = {"template": TemplateBaseline, "retrieve_fill": RetrieveFillBaseline,
             "nearest_neighbour": NearestNeighbourBaseline}
