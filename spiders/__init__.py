"""The Scrapy project of labelops: the ``products`` spider, its pipelines and settings.

Run it on its own (``scrapy crawl products -a start_url=URL``) or through
:func:`spiders.runner.crawl`, which the ingest flow uses.
"""
