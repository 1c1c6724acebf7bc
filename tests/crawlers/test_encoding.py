"""Pages in GBK, GB18030 or Big5, with no charset or a wrong one, decode to the right text."""
import pytest

from crawlers.encoding import decode_html

ZH = "<html><head><title>智能制造</title></head><body><p>工业互联网平台帮助制造企业实现设备联网、数据采集和生产过程的可视化管理。</p></body></html>"
TW = "<html><head><title>智慧製造</title></head><body><p>工業網際網路平台協助製造企業實現設備聯網、資料蒐集與生產流程的視覺化管理。</p></body></html>"


@pytest.mark.parametrize(("text", "codec", "content_type"), [
    (ZH, "gbk", "text/html; charset=gbk"),
    (ZH, "gbk", "text/html"),  # no charset anywhere
    (ZH, "gbk", "text/html; charset=utf-8"),  # wrong: GBK bytes labelled UTF-8
    (ZH, "gb18030", "text/html; charset=iso-8859-1"),  # wrong: labelled Latin-1
    (ZH, "utf-8", "text/html; charset=gbk"),  # wrong the other way
    (TW, "big5", "text/html"),
    (TW, "big5", "text/html; charset=gbk"),  # Big5 bytes labelled GBK (GB18030 would accept them)
    (TW, "big5", "text/html; charset=big5"),
])
def test_decodes_to_the_original_text(text, codec, content_type):
    decoded, _ = decode_html(text.encode(codec), content_type)
    assert decoded == text


def test_meta_charset_is_read_when_the_header_has_none():
    page = ZH.replace("<head>", '<head><meta charset="gb2312">')
    decoded, codec = decode_html(page.encode("gbk"), "text/html")
    assert decoded == page and codec == "gb18030"
