"""The one home of currency reference data (labelops/currencies.py), read from Babel's CLDR data."""

from labelops.currencies import codes_by_symbol, iso_codes, territory_currency
from labelops.normalize import currency_code


def test_each_country_prices_in_its_own_currency() -> None:
    assert territory_currency("AT") == "EUR"
    assert territory_currency("ca") == "CAD"
    assert territory_currency("HR") == "EUR"  # since 2023, the kuna before
    assert territory_currency("UK") == "GBP"  # "en-UK" and .uk, the common non-ISO spelling
    assert territory_currency("ZZ") is None
    assert territory_currency("not a country") is None


def test_codes_are_those_shops_price_in() -> None:
    codes = iso_codes()
    assert {"EUR", "USD", "INR", "HRK", "VES"} <= codes  # the kuna was legal tender after 2010
    assert not {"DEM", "XAU", "XTS", "XXX"} & codes  # the mark, gold, the test code, "no currency"


def test_symbols_name_every_currency_written_with_them() -> None:
    table = codes_by_symbol()
    assert {"USD", "CAD", "AUD"} <= table["$"]
    assert "ISK" in table["kr"]  # a written form CLDR lacks, added by the project
    assert table["₹"] == {"INR"}
    assert all(symbol.strip() and symbol.isprintable() for symbol in table)


def test_currency_code_reads_symbols_and_refuses_what_is_no_currency() -> None:
    assert currency_code("£") == "GBP"
    assert currency_code("CA$") == "CAD"
    assert currency_code("SR") == "SAR"
    assert currency_code("BYR") == "BYN"  # a legacy code read as today's
    assert currency_code("\u200b") is None  # CLDR writes one symbol with a zero-width space
    assert currency_code("E") is None  # one letter is initials, not money
