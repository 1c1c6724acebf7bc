"""Advertisers, the enterprise portal, campaigns, placement auction, tracking, billing and reports."""
