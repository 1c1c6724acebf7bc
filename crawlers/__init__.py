"""The Scrapy project: spiders, item loaders, pipelines, extraction and deduplication."""
