"""Words shops use, in many languages: field labels, buy buttons, stock phrases, page regions.

Plain data for the page heuristics (``heuristics/``). Everything here is general shop language
(what "SKU", "add to cart" or "sold out" are called around the world), never a particular shop's
markup. Matching is case-insensitive; labels match at the start of a text, followed by a
separator (``:``, ``#``...) or the end of the text.
"""

from __future__ import annotations

import re
from functools import lru_cache

# ------------------------------------------------------------------------------ field labels

SKU_LABELS = (
    # English
    "sku", "sku number", "sku no", "product code", "product no", "product number", "product id", "product ref",
    "item code", "item number", "item no", "item #", "item id", "article number", "article no", "art. no",
    "art no", "article code", "catalogue number", "catalog number", "cat. no", "cat no", "stock code",
    "stock number", "style number", "style no", "style code", "reference", "ref", "ref.", "code",
    "post id", "ad id", "ad number", "listing id", "listing number", "order code", "order number", "order no",
    "part code", "model code", "ad", "ad no", "anzeige", "anzeige nr", "anzeigen nr", "annonce", "annuncio",
    "ogłoszenie", "inzerát", "oglas", "hirdetés", "hirdetéskód", "объявление", "listing",
    # German
    "artikelnummer", "artikel-nr", "artikel-nr.", "artikelnr", "artikelnr.", "art.-nr", "art.-nr.", "art.nr",
    "art.nr.", "bestellnummer", "bestell-nr", "bestell-nr.", "best.-nr", "best.-nr.", "produktnummer",
    "produktcode", "artikelcode", "anzeigennummer", "anzeigen-nr", "anzeigen-nr.", "objektnummer",
    # French
    "référence", "réf", "réf.", "code produit", "code article", "numéro d'article", "n° d'article",
    "numéro de produit", "référence produit", "numéro d'annonce", "annonce n°",
    # Spanish / Portuguese
    "referencia", "código", "código de producto", "código del producto", "código de artículo",
    "código del artículo", "código do artigo", "código do produto", "código de referência", "referência",
    "cód", "cód.", "nº de artículo", "número de artículo",
    # Italian
    "codice", "codice articolo", "codice prodotto", "cod. articolo", "cod. art.", "cod. prodotto",
    "riferimento", "rif", "rif.", "numero annuncio",
    # Dutch / Nordic
    "artikelcode", "productcode", "bestelnummer", "artikelnr", "art.nr", "artnr", "varenummer", "varenr",
    "varenr.", "varekode", "tuotenumero", "tuotekoodi", "tuote nro", "artikel",
    # Central and Eastern Europe
    "kod produktu", "kod towaru", "numer katalogowy", "nr katalogowy", "indeks", "symbol", "kod", "id ogłoszenia",
    "kód produktu", "kód zboží", "kód tovaru", "katalogové číslo", "katalógové číslo", "objednací číslo",
    "objednávací číslo", "kód", "šifra", "šifra izdelka", "šifra proizvoda", "šifra artikla",
    "kataloški broj", "cikkszám", "termékkód", "cikkszám / kód", "cod produs", "cod articol", "cod",
    "preces kods", "artikuls", "kods", "prekės kodas", "kodas", "tootekood", "kood", "artikkel",
    # Greek, Turkish, Cyrillic
    "κωδικός", "κωδικός προϊόντος", "ürün kodu", "stok kodu", "artikul", "артикул", "код товара", "код товару",
    "код продукта", "код", "артикулен номер", "номер объявления", "шифра",
    # Asian, Hebrew, Arabic
    "品番", "商品番号", "商品コード", "商品編號", "商品编号", "商品代碼", "商品代码", "货号", "貨號", "編號", "编号",
    "產品編號", "产品编号", "상품번호", "상품코드", "품번", "상품 번호", "מק\"ט", "מק״ט", "מקט", "קוד מוצר", "מספר פריט",
    "رمز المنتج", "رقم المنتج", "كود المنتج", "رقم الصنف",
)
MPN_LABELS = (
    "mpn", "model", "model number", "model no", "model #", "part number", "part no", "manufacturer part number",
    "mfr part number", "mfr. part #", "herstellernummer", "hersteller-nr", "hersteller-nr.", "modellnummer",
    "typ", "modèle", "référence fabricant", "modelo", "referencia del fabricante", "modello",
    "codice produttore", "modelnummer", "typenummer", "malli", "model producenta", "typ produktu",
    "kód výrobce", "kód výrobcu", "modell", "модель", "型番", "型号", "型號", "모델명", "모델번호", "דגם",
)
GTIN_LABELS = (
    "ean", "ean code", "ean-code", "ean13", "ean-13", "gtin", "upc", "isbn", "isbn-13", "isbn13", "barcode",
    "bar code", "ean/upc", "código de barras", "code-barres", "code ean", "codice ean", "streckkod",
    "штрихкод", "штрих-код", "jan", "jan code", "janコード", "条形码", "條碼", "바코드",
)
BRAND_LABELS = (
    "brand", "brand name", "manufacturer", "made by", "maker", "designer", "label", "make", "make/manufacturer",
    "brand/manufacturer", "manufacturer/brand", "brand / manufacturer",
    "marke", "hersteller", "marque", "fabricant", "marca", "fabricante", "produttore", "merk", "fabrikant",
    "märke", "tillverkare", "merke", "produsent", "mærke", "producent", "valmistaja", "tuotemerkki",
    "producent", "marka", "výrobce", "značka", "výrobca", "proizvajalec", "blagovna znamka", "znamka",
    "proizvođač", "brend", "gyártó", "márka", "producător", "marcă", "ražotājs", "zīmols", "gamintojas",
    "prekės ženklas", "tootja", "kaubamärk", "κατασκευαστής", "μάρκα", "marka", "üretici",
    "бренд", "марка", "производитель", "виробник", "торговая марка", "производител",
    "ブランド", "メーカー", "品牌", "牌子", "製造商", "制造商", "브랜드", "제조사", "מותג", "יצרן",
    "العلامة التجارية", "الماركة", "الشركة المصنعة",
)
AVAILABILITY_LABELS = (
    "availability", "stock", "stock status", "status", "delivery", "lieferbarkeit",
    "verfügbarkeit", "lagerstatus", "lagerbestand", "disponibilité", "disponibilidad", "disponibilità",
    "disponibilidade", "beschikbaarheid", "voorraad", "tillgänglighet", "lagerstatus", "saatavuus",
    "dostępność", "dostupnost", "dostupnosť", "razpoložljivost", "zaloga", "elérhetőség",
    "készlet", "disponibilitate", "pieejamība", "prieinamumas", "saadavus", "laoseis", "διαθεσιμότητα",
    "stok durumu", "наличие", "наявність", "наличност", "在庫", "在庫状況", "库存", "庫存", "재고", "זמינות",
    "التوفر",
)

# ---------------------------------------------------------------------- buttons and stock text

BUY_PHRASES = (
    "add to cart", "add to basket", "add to bag", "add to trolley", "add to order", "buy now", "buy it now",
    "buy", "order now", "purchase", "add", "in den warenkorb", "in den einkaufswagen", "zum warenkorb",
    "jetzt kaufen", "kaufen", "in die tasche", "ajouter au panier", "ajouter au sac", "acheter", "commander",
    "añadir al carrito", "añadir a la cesta", "agregar al carrito", "añadir", "comprar", "comprar ahora",
    "aggiungi al carrello", "aggiungi", "acquista", "compra ora", "adicionar ao carrinho", "adicionar",
    "in winkelwagen", "in winkelmand", "toevoegen aan winkelwagen", "bestellen", "koop nu", "lägg i varukorgen",
    "köp", "legg i handlekurven", "kjøp", "læg i kurv", "køb", "lisää ostoskoriin", "osta", "dodaj do koszyka",
    "kup teraz", "kupuję", "do košíku", "vložit do košíku", "koupit", "pridať do košíka", "kúpiť", "do košíka",
    "v košarico", "dodaj v košarico", "kupi", "naroči", "naroči zdaj", "naruči", "naruči odmah", "objednat",
    "objednať", "zamów", "zamawiam", "poruči", "tilaa", "dodaj u košaricu", "u košaricu", "kosárba", "kosárba teszem",
    "megveszem", "adaugă în coș", "adauga in cos", "cumpără", "pievienot grozam", "ielikt grozā", "pirkt",
    "į krepšelį", "pirkti", "lisa ostukorvi", "ostukorvi", "osta kohe", "προσθήκη στο καλάθι", "αγορά",
    "sepete ekle", "satın al", "в корзину", "добавить в корзину", "купить", "купити", "у кошик", "в кошик",
    "добави в количката", "купи", "カートに入れる", "カートに追加", "今すぐ購入", "購入する", "加入购物车",
    "加入購物車", "立即购买", "立即購買", "立即购买", "直接購買", "放入購物車", "장바구니", "장바구니 담기", "구매하기",
    "바로구매", "הוסף לסל", "הוספה לסל", "קנה עכשיו", "أضف إلى السلة", "اشتر الآن", "thêm vào giỏ", "mua ngay",
    "เพิ่มลงตะกร้า", "ซื้อเลย", "masukkan keranjang", "beli sekarang", "tambah ke troli", "add to wishlist",
)
"""Texts of buy buttons ("add to wishlist" is matched only to be rejected, see ``NOT_BUY``)."""
NOT_BUY = ("wishlist", "wish list", "favourite", "favorite", "compare", "merkliste", "wunschliste", "favoris",
           "preferiti", "favoritos", "verlanglijst", "önskelista", "ulubion", "oblíben", "избранное",
           "お気に入り", "收藏", "찜")
BUY_ATTRIBUTE_TOKENS = (
    "add-to-cart", "addtocart", "add_to_cart", "add-to-basket", "addtobasket", "add_to_basket", "add-to-bag",
    "addtobag", "add_to_bag", "buy-now", "buynow", "buy_now", "buy-button", "buybutton", "buy_button",
    "btn-buy", "btn-cart", "cart-add", "cartadd", "button-cart", "button--cart", "basket-add", "to-cart",
    "tocart", "add-cart", "addcart", "purchase-button", "btn-purchase", "buy-box", "buybox", "buybtn", "btnbuy",
    "buy-btn", "btn-buy-now", "addtocartbutton", "add-to-cart-button", "cartbutton", "cart-button",
    "basketbutton", "basket-button", "addtobasketbutton", "buttoncart", "button-buy", "buttonbuy",
)
BUY_ACTION = re.compile(
    r"add[_\-]?to[_\-]?(?:cart|basket|bag)|addcart|cart[_\-]?add|\bbuy\w*\s*\("
    r"|/cart/add|basket/add|checkout/add"
)
"""Link targets and click handlers (lower-cased) that put a product in the cart: ``addToCart(...)``,
``/cart/add/...``, any ``buy...(...)`` call."""

OUT_OF_STOCK_PHRASES = (
    "out of stock", "sold out", "currently unavailable", "temporarily unavailable", "not available",
    "no longer available", "unavailable", "discontinued", "notify me when available", "email me when available",
    "nicht verfügbar", "nicht lieferbar", "nicht auf lager", "ausverkauft", "vergriffen", "derzeit nicht",
    "rupture de stock", "épuisé", "indisponible", "non disponible", "plus disponible", "hors stock",
    "agotado", "sin stock", "no disponible", "sin existencias", "esaurito", "non disponibile",
    "esgotado", "indisponível", "sem estoque", "sem stock", "niet op voorraad", "uitverkocht",
    "niet leverbaar", "niet beschikbaar", "slutsåld", "ej i lager", "tillfälligt slut", "ikke på lager",
    "utsolgt", "udsolgt", "loppu varastosta", "ei varastossa", "niedostępny", "brak w magazynie",
    "wyprzedany", "brak towaru", "vyprodáno", "není skladem", "nie je skladom", "vypredané",
    "ni na zalogi", "ni dobavljivo", "razprodano", "nije dostupno", "nema na zalihi", "rasprodano",
    "nincs készleten", "elfogyott", "stoc epuizat", "indisponibil", "nav pieejams", "izpārdots",
    "nėra sandėlyje", "išparduota", "laost otsas", "pole saadaval", "εξαντλήθηκε", "μη διαθέσιμο",
    "stokta yok", "tükendi", "нет в наличии", "нет на складе", "отсутствует", "распродано", "немає в наявності",
    "няма наличност", "изчерпан", "品切れ", "在庫切れ", "売り切れ", "完売", "缺货", "缺貨", "售罄", "已售完",
    "无货", "無庫存", "補貨中", "품절", "일시품절", "재고 없음", "אזל מהמלאי", "לא במלאי", "אינו במלאי", "אינו זמין", "غير متوفر",
    "نفذت الكمية", "hết hàng", "สินค้าหมด", "stok habis",
)
IN_STOCK_PHRASES = (
    "in stock", "available", "in stock online", "available online", "ready to ship", "ships today",
    "ships in", "available for delivery", "available to order", "only a few left", "only few left", "last items",
    "auf lager", "lieferbar", "sofort lieferbar", "vorrätig", "verfügbar", "en stock", "disponible",
    "en existencia", "disponibile", "in magazzino", "pronta consegna", "disponível", "em estoque", "em stock",
    "op voorraad", "leverbaar", "beschikbaar", "i lager", "finns i lager", "på lager", "varastossa",
    "dostępny", "w magazynie", "dostępne", "skladem", "na skladě", "skladom", "na sklade", "na zalogi",
    "dobavljivo", "dostupno", "na zalihi", "na stanju", "raktáron", "készleten", "în stoc", "disponibil",
    "noliktavā", "pieejams", "yra sandėlyje", "turime", "laos", "saadaval", "διαθέσιμο", "stokta",
    "stokta var", "в наличии", "есть в наличии", "є в наявності", "в наявності", "наличен", "налично",
    "在庫あり", "在庫有り", "有货", "有貨", "现货", "現貨", "재고 있음", "구매 가능", "במלאי", "متوفر",
    "còn hàng", "มีสินค้า", "tersedia", "ada stok",
)

# ------------------------------------------------------------------------- page regions (DOM)

PRICE_TOKENS = (
    "price", "prices", "pricing", "amount", "cost", "preis", "prix", "precio", "prezzo", "preco", "preço",
    "prijs", "pris", "hinta", "cena", "cijena", "cena", "ár", "pret", "preț", "cena", "kaina", "hind",
    "fiyat", "цена", "ціна", "τιμή", "saleprice", "sale-price", "sellingprice", "selling-price", "offerprice",
    "offer-price", "finalprice", "final-price", "currentprice", "current-price", "ourprice", "our-price",
    "productprice", "product-price", "actualprice", "actual-price", "pricenow", "price-now", "now-price",
)
"""Words in class/id/itemprop names that mark price elements (whole tokens of the name)."""
OLD_PRICE_TOKENS = (
    "old", "was", "before", "strike", "strikethrough", "striked", "crossed", "crossedout", "struck",
    "line-through", "linethrough", "listprice", "list-price", "rrp", "msrp", "uvp", "compare", "compareat",
    "compare-at", "original", "originalprice", "original-price", "previous", "prev", "retail", "retailprice",
    "oldprice", "old-price", "wasprice", "was-price", "price-old", "price-was", "pricewas", "priceold",
    "regularprice-old", "excl", "excluding", "exvat", "ex-vat", "netto", "without", "unitprice", "unit-price",
    "baseprice", "base-price", "perunit", "per-unit", "installment", "installments", "instalment", "monthly",
    "finance", "financing", "shipping", "delivery", "deposit", "saving", "savings", "save", "discount",
    "percent", "statt", "streichpreis", "barred", "initial", "initial-price", "reduced-from", "from-price",
    "origin", "price_origin", "price-origin", "reduced", "cut", "subscription", "points", "full", "fullprice",
    "full-price",
)
"""Tokens of class/id names that mark prices which are not the selling price."""
OLD_PRICE_TAGS = frozenset({"del", "s", "strike"})

SIDE_REGION_TOKENS = (
    "related", "similar", "recommend", "recommended", "recommendation", "recommendations", "recently",
    "viewed", "also", "upsell", "up-sell", "upselling", "crosssell", "cross-sell", "crossselling", "accessories",
    "bundle", "suggest", "suggestions", "minicart", "mini-cart", "cart-flyout", "basket-flyout", "cookie",
    "cookies", "newsletter", "sponsored", "advert", "advertisement", "breadcrumb", "breadcrumbs",
    "frequently", "together", "complete-the-look", "shop-the-look", "bestsellers", "best-sellers",
    "topseller", "top-sellers", "megamenu", "mega-menu", "navbar", "navigation",
)
"""Words in class/id names (any part of the name) of regions that hold other products or page furniture."""
SIDE_REGION_NAMES = frozenset({
    "header", "footer", "nav", "menu", "site-header", "site-footer", "page-header", "page-footer",
    "global-header", "global-footer", "main-header", "main-footer", "top-header", "header-wrapper",
    "footer-wrapper", "main-menu", "main-nav", "topbar", "top-bar", "sidebar-menu",
})
"""Whole class/id names of page headers, footers and menus ("product-header" is not one)."""
SIDE_REGION_TAGS = frozenset({"header", "footer", "nav"})
"""Tags of page furniture (``<header>``/``<footer>`` only near the top of the body: articles have them too)."""

PRODUCT_TITLE_TOKENS = ("product-title", "product-name", "productname", "producttitle", "product_title",
                        "product_name", "item-title", "itemtitle", "pdp-title", "title-product", "name-product")


_CAMEL = re.compile(r"([a-z])([A-Z])")
_HAS_UPPER = re.compile(r"[a-z][A-Z]")
_SPLIT = re.compile(r"[\s_\-:./]+")


_NON_WORD = re.compile(r"[\W_]+")


def normalize_words(text: str) -> str:
    """Case-folded words separated by single spaces, punctuation dropped ("Add-to Cart!" → "add to cart")."""
    return _NON_WORD.sub(" ", text.casefold()).strip()


def _unspaced(phrase: str) -> bool:
    """Phrases in scripts written without spaces between words (Thai, CJK) match as substrings."""
    return any(ord(c) >= 0x0E00 for c in phrase)


_LEADING_MARKS = " \t\n»›>+•·-–—|*«<‹"


class PhraseSet:
    """Fast whole-word lookup of many phrases in short texts.

    Phrases are compared as normalised word sequences (:func:`normalize_words`), so "Sold-out!"
    finds "sold out"; phrases in Thai and CJK scripts are found as substrings.
    """

    def __init__(self, phrases: tuple[str, ...] | list[str]) -> None:
        spaced = [normalize_words(p) for p in phrases if not _unspaced(p)]
        self.spaced = frozenset(p for p in spaced if p)
        self.max_words = max((p.count(" ") + 1 for p in self.spaced), default=1)
        self.first_words = frozenset(p.split(" ", 1)[0] for p in self.spaced)
        unspaced = sorted({p.casefold() for p in phrases if _unspaced(p)}, key=len, reverse=True)
        self.unspaced = re.compile("|".join(re.escape(p) for p in unspaced)) if unspaced else None

    def _grams(self, words: list[str], start_only: bool) -> bool:
        starts = range(1) if start_only else range(len(words))
        for i in starts:
            for n in range(1, min(self.max_words, len(words) - i) + 1):
                if " ".join(words[i : i + n]) in self.spaced:
                    return True
        return False

    def search(self, text: str) -> bool:
        """Whether any phrase occurs in the text."""
        folded = text.casefold()
        if self.unspaced and not folded.isascii() and self.unspaced.search(folded):
            return True
        return self._grams(normalize_words(folded).split(), start_only=False)

    def match(self, text: str) -> bool:
        """Whether the text starts with a phrase."""
        folded = text.casefold().lstrip()
        if self.unspaced and not folded.isascii() and self.unspaced.match(folded):
            return True
        head = folded.lstrip(_LEADING_MARKS).split(None, 1)
        if not head or head[0].strip(_LEADING_MARKS + ".,:;!?") not in self.first_words and head[0].isalpha():
            return False  # the first word starts no phrase (most texts: a quick no)
        return self._grams(normalize_words(folded).split(), start_only=True)


def token_set(value: str | None) -> frozenset[str]:
    """Tokens of a class/id attribute: split on spaces, ``-``, ``_`` and camelCase, lower-cased,
    plus the whole words (``price-old`` gives ``price``, ``old`` and ``price-old``)."""
    if not value:
        return frozenset()
    return _token_set(value[:300])


@lru_cache(maxsize=32768)
def _token_set(value: str) -> frozenset[str]:
    tokens: set[str] = set()
    for word in value.split():
        lowered = word.lower()
        tokens.add(lowered)
        tokens.update(t for t in _SPLIT.split(lowered) if t)
        if _HAS_UPPER.search(word):  # camelCase: "CatNumber" gives "catnumber", "cat" and "number"
            tokens.update(t for t in _SPLIT.split(_CAMEL.sub(r"\1 \2", word).lower()) if t)
    return frozenset(tokens)
