"""The one reader of client addresses: proxies, truncation, the ad day and the reader key."""
import datetime as dt

import pytest
from django.test import RequestFactory

from contentlib import readers

factory = RequestFactory()


def request(remote="203.0.113.7", forwarded=None, agent="Mozilla/5.0 (X11; Linux x86_64) Chrome/120"):
    extra = {"REMOTE_ADDR": remote, "HTTP_USER_AGENT": agent}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return factory.get("/search/", **extra)


class TestClientIp:
    def test_without_proxies_the_header_is_ignored(self, settings):
        settings.TRUSTED_PROXY_COUNT = 0
        assert readers.client_ip(request(forwarded="198.51.100.1")) == "203.0.113.7"

    def test_one_proxy_the_last_address_is_the_client(self, settings):
        settings.TRUSTED_PROXY_COUNT = 1
        # The client wrote "1.1.1.1" itself; our proxy appended the address it saw.
        got = readers.client_ip(request(remote="10.0.0.2", forwarded="1.1.1.1, 198.51.100.9"))
        assert got == "198.51.100.9"

    def test_two_proxies_count_from_the_right(self, settings):
        settings.TRUSTED_PROXY_COUNT = 2
        got = readers.client_ip(request(remote="10.0.0.3", forwarded="1.1.1.1, 198.51.100.9, 10.0.0.2"))
        assert got == "198.51.100.9"

    def test_fewer_addresses_than_proxies_falls_back_to_the_peer(self, settings):
        settings.TRUSTED_PROXY_COUNT = 2
        assert readers.client_ip(request(remote="10.0.0.3", forwarded="198.51.100.9")) == "10.0.0.3"

    def test_garbage_in_the_header_is_not_trusted(self, settings):
        settings.TRUSTED_PROXY_COUNT = 1
        assert readers.client_ip(request(remote="10.0.0.2", forwarded="1.1.1.1, <script>")) == "10.0.0.2"

    def test_ports_and_ipv4_mapped_addresses(self, settings):
        settings.TRUSTED_PROXY_COUNT = 1
        assert readers.client_ip(request(remote="10.0.0.2", forwarded="198.51.100.9:51234")) == "198.51.100.9"
        assert readers.client_ip(request(remote="::ffff:203.0.113.7")) == "203.0.113.7"


class TestTruncation:
    @pytest.mark.parametrize(("ip", "stored"), [
        ("203.0.113.77", "203.0.113.0"),
        ("2001:db8:abcd:12:1:2:3:4", "2001:db8:abcd::"),
        ("::ffff:203.0.113.77", "203.0.113.0"),
        ("not an address", "0.0.0.0"),
    ])
    def test_ipv4_to_24_and_ipv6_to_48(self, ip, stored):
        assert readers.ip_truncate(ip) == stored


class TestReaderKey:
    def test_same_reader_same_day_same_key_and_neighbours_share_it(self):
        at = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
        assert readers.reader_key(request(), at=at) == readers.reader_key(request(remote="203.0.113.200"), at=at)
        assert readers.reader_key(request(), at=at) != readers.reader_key(request(remote="203.0.114.7"), at=at)
        assert readers.reader_key(request(), at=at) != readers.reader_key(request(agent="curl/8"), at=at)

    def test_the_key_changes_with_the_ad_day_in_shanghai(self, settings):
        settings.AD_TIME_ZONE = "Asia/Shanghai"
        before = dt.datetime(2026, 3, 1, 15, 59, tzinfo=dt.UTC)  # 23:59 in Shanghai
        after = dt.datetime(2026, 3, 1, 16, 1, tzinfo=dt.UTC)  # 00:01 the next day there
        assert readers.ad_day(before) == dt.date(2026, 3, 1) and readers.ad_day(after) == dt.date(2026, 3, 2)
        assert readers.reader_key(request(), at=before) != readers.reader_key(request(), at=after)

    def test_the_key_is_keyed_by_the_secret(self, settings):
        at = dt.datetime(2026, 3, 1, 2, 0, tzinfo=dt.UTC)
        first = readers.reader_key(request(), at=at)
        settings.SECRET_KEY = "another-secret-" * 4
        assert readers.reader_key(request(), at=at) != first
        assert "203.0.113" not in first and len(first) == 32

    def test_the_rate_limit_client_counts_an_ipv6_household_as_one(self):
        assert readers.rate_limit_client(request(remote="2001:db8:1:2::1")) == readers.rate_limit_client(
            request(remote="2001:db8:1:2:ffff::9"))
        assert readers.rate_limit_client(request(remote="203.0.113.1")) != readers.rate_limit_client(
            request(remote="203.0.113.2"))
