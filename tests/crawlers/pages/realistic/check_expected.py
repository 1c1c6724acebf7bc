#!/usr/bin/env python3
"""Self-check for the realistic page set: is expected.yaml true of the pages?

This checks the DATA, not any extractor.  It decodes every page the way the
test server will serve it (utf-8 pages as utf-8, gbk pages as bytes with no
charset anywhere), turns the HTML into visible text with the standard
library's html.parser, and verifies that:

  * every listed page exists and every .html file here is listed;
  * gbk pages decode as GBK, do not decode as UTF-8, and contain no charset
    declaration at all; utf-8 pages decode as UTF-8;
  * title, first_sentence, last_sentence and each must_not_contain string
    occur verbatim in the visible text (entities decoded, runs of whitespace
    collapsed to one space);
  * first_sentence starts a text block and last_sentence ends one, the first
    comes before the last, and both are single sentences ending in 。？！ or .;
  * no must_not_contain string is part of the title or the two sentences;
  * the article span (first_sentence .. last_sentence) holds 600-2500 CJK
    characters, or 300-1500 words on a page whose span has no CJK (English);
  * a non-null date is a real YYYY-MM-DD found in markup (an attribute value,
    a script/JSON-LD body or a <time> element), and a null-date page carries
    none of the usual date markup;
  * kinds are all different, at least 24 pages, at least 3 gbk pages, at
    least 3 null dates, at least 8 held_out pages.

Needs PyYAML.  Run:  python3 tests/crawlers/pages/realistic/check_expected.py
Exit status 0 when everything holds; otherwise it lists the problems.
"""
import datetime
import os
import re
import sys
from html.parser import HTMLParser

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))

SKIP = {"script", "style", "noscript", "template", "head", "title"}
BLOCK = {
    "address", "article", "aside", "blockquote", "body", "br", "button", "caption",
    "dd", "details", "dialog", "div", "dl", "dt", "fieldset", "figcaption", "figure",
    "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "html",
    "label", "legend", "li", "main", "marquee", "nav", "ol", "option", "p", "pre",
    "section", "summary", "table", "tbody", "td", "tfoot", "th", "thead", "tr", "ul",
}
ENDS = ("。", "？", "！", ".")
WS = re.compile(r"\s+")
CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'.,%-]*")
# Date markup that a null-date page must not carry.
DATE_MARKERS = ("datepublished", "published_time", "pubdate", "publishdate",
                "release_date", "datecreated", "<time", "dc.date", "article:modified")


class TextCollector(HTMLParser):
    """Visible text, one line per block element."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts = []
        self.skip = []
        self.markup = []  # attribute values, script bodies, <time> text
        self.in_script = False
        self.in_time = 0

    def handle_starttag(self, tag, attrs):
        self.markup.extend(v for _, v in attrs if v)
        if tag == "script":
            self.in_script = True
        if tag == "time":
            self.in_time += 1
        if tag in SKIP:
            self.skip.append(tag)
        if tag in BLOCK:
            self.parts.append("\n")

    def handle_startendtag(self, tag, attrs):
        self.markup.extend(v for _, v in attrs if v)
        if tag in BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag == "script":
            self.in_script = False
        if tag == "time" and self.in_time:
            self.in_time -= 1
        if self.skip and self.skip[-1] == tag:
            self.skip.pop()
        elif tag in SKIP and tag in self.skip:
            while self.skip and self.skip.pop() != tag:
                pass
        if tag in BLOCK:
            self.parts.append("\n")

    def handle_data(self, data):
        if self.in_script or self.in_time:
            self.markup.append(data)
        if not self.skip:
            self.parts.append(data)


def visible_lines(html):
    p = TextCollector()
    p.feed(html)
    p.close()
    lines = []
    for raw in "".join(p.parts).split("\n"):
        line = WS.sub(" ", raw).strip()
        if line:
            lines.append(line)
    return lines, "\n".join(p.markup)


def norm(s):
    return WS.sub(" ", s).strip()


def check_entry(e, problems, notes):
    f = e["file"]
    path = os.path.join(HERE, f)
    where = f + ": "
    if not os.path.exists(path):
        problems.append(where + "file missing")
        return
    data = open(path, "rb").read()
    enc = e.get("encoding")
    if enc == "gbk":
        if re.search(rb"charset", data, re.I):
            problems.append(where + "gbk page mentions a charset")
        if re.search(rb"<\?xml[^>]*encoding", data, re.I):
            problems.append(where + "gbk page has an XML encoding declaration")
        try:
            data.decode("utf-8")
            problems.append(where + "gbk page also decodes as utf-8 (no real GBK bytes?)")
        except UnicodeDecodeError:
            pass
        try:
            html = data.decode("gbk")
        except UnicodeDecodeError as exc:
            problems.append(where + "does not decode as gbk: %s" % exc)
            return
    elif enc == "utf-8":
        try:
            html = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            problems.append(where + "does not decode as utf-8: %s" % exc)
            return
    else:
        problems.append(where + "unknown encoding %r" % enc)
        return

    lines, markup = visible_lines(html)
    text = "\n".join(lines)

    for key in ("file", "kind", "url", "encoding", "title", "first_sentence",
                "last_sentence", "must_not_contain", "date", "held_out", "notes"):
        if key not in e:
            problems.append(where + "missing key " + key)
    if not str(e.get("url", "")).startswith(("http://", "https://")):
        problems.append(where + "url is not http(s)")

    title = norm(e["title"])
    first = norm(e["first_sentence"])
    last = norm(e["last_sentence"])
    if title not in text:
        problems.append(where + "title not in visible text")
    for name, s in (("first_sentence", first), ("last_sentence", last)):
        if s not in text:
            problems.append(where + name + " not in visible text: " + s)
            continue
        if not s.endswith(ENDS):
            problems.append(where + name + " does not end a sentence")
        if any(ch in s[:-1] for ch in "。？！"):
            problems.append(where + name + " holds more than one sentence")
    if first in text and not any(line.startswith(first) for line in lines):
        problems.append(where + "first_sentence does not start a text block")
    if last in text and not any(line.endswith(last) for line in lines):
        problems.append(where + "last_sentence does not end a text block")

    start = text.find(first)
    end = text.rfind(last)
    if start >= 0 and end >= 0:
        if end < start:
            problems.append(where + "last_sentence comes before first_sentence")
        else:
            span = text[start:end + len(last)]
            n = len(CJK.findall(span))
            if n:
                notes.append("%s: %d CJK chars in article span" % (f, n))
                if not 600 <= n <= 2500:
                    problems.append(where + "article span has %d CJK chars (want 600-2500)" % n)
            else:
                words = len(WORD.findall(span))
                notes.append("%s: %d words in article span (no CJK)" % (f, words))
                if not 300 <= words <= 1500:
                    problems.append(where + "article span has %d words (want 300-1500)" % words)
            for s in e["must_not_contain"]:
                if norm(s) in span:
                    notes.append("%s: must_not_contain %r sits inside the article span (inline clutter)" % (f, s))

    mnc = e["must_not_contain"]
    if not 4 <= len(mnc) <= 12:
        problems.append(where + "must_not_contain has %d items (want 4-12)" % len(mnc))
    for s in mnc:
        s = norm(s)
        if s not in text:
            problems.append(where + "must_not_contain string not in visible text: " + s)
        for name, t in (("title", title), ("first_sentence", first), ("last_sentence", last)):
            if s in t:
                problems.append(where + "must_not_contain %r is part of the %s" % (s, name))

    d = e["date"]
    low = html.lower()
    if d is None:
        for m in DATE_MARKERS:
            if m in low:
                problems.append(where + "date is null but the page has date markup %r" % m)
    else:
        ds = str(d)
        try:
            datetime.date.fromisoformat(ds)
        except ValueError:
            problems.append(where + "date %r is not YYYY-MM-DD" % ds)
        if ds not in markup:
            problems.append(where + "date %s is not in any attribute, script or <time> of the page" % ds)
    if not isinstance(e["held_out"], bool):
        problems.append(where + "held_out is not a boolean")


def main():
    entries = yaml.safe_load(open(os.path.join(HERE, "expected.yaml"), encoding="utf-8"))
    problems, notes = [], []
    files = [e["file"] for e in entries]
    kinds = [e["kind"] for e in entries]
    if len(set(files)) != len(files):
        problems.append("a file is listed twice")
    if len(set(kinds)) != len(kinds):
        problems.append("two pages share a kind")
    on_disk = sorted(n for n in os.listdir(HERE) if n.endswith(".html"))
    for n in on_disk:
        if n not in files:
            problems.append(n + ": page not listed in expected.yaml")
    for e in entries:
        check_entry(e, problems, notes)
    held = [e for e in entries if e.get("held_out") is True]
    gbk = [e for e in entries if e.get("encoding") == "gbk"]
    nulls = [e for e in entries if e.get("date") is None]
    if len(entries) < 24:
        problems.append("only %d pages (want at least 24)" % len(entries))
    if len(held) < 8:
        problems.append("only %d held_out pages (want at least 8)" % len(held))
    if len(gbk) < 3:
        problems.append("only %d gbk pages (want at least 3)" % len(gbk))
    if len(nulls) < 3:
        problems.append("only %d null-date pages (want at least 3)" % len(nulls))

    verbose = "-v" in sys.argv
    if verbose:
        for n in notes:
            print("note:", n)
    print("%d pages, %d held out, %d gbk, %d null dates" % (len(entries), len(held), len(gbk), len(nulls)))
    if problems:
        for p in problems:
            print("PROBLEM:", p)
        print("%d problem(s)" % len(problems))
        return 1
    print("all checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
