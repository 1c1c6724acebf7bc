"""ads/matching.py: the matcher's arrays read back as {campaign id: rules} for every match type."""
from ads.matching import KeywordMatcher, KeywordRule
from recommender.text import segmenter


def test_matches_read_back_by_campaign_with_where_each_rule_matched():
    rules = [KeywordRule(1, 10, "展台设计", "exact"), KeywordRule(1, 11, "搭建", "phrase"),
             KeywordRule(2, 20, "设计 展台", "broad"), KeywordRule(3, 30, "展台设计", "phrase", negative=True),
             KeywordRule(4, 40, "报价", "exact"), KeywordRule(5, 50, "搭建 报价", "broad")]
    matches = KeywordMatcher(rules, segmenter()).match("展台设计多少钱", "展台搭建的报价")
    positive = {campaign: sorted((rule.keyword_id, where) for rule, where in found)
                for campaign, found in matches.positive.items()}
    # exact only in the question; phrase in the answer; broad with every word in the question, or
    # with a word only in the answer; a negative in the question; an exact keyword never in the answer.
    assert positive == {1: [(10, "question"), (11, "answer")], 2: [(20, "question")], 5: [(50, "answer")]}
    assert {campaign: rule.keyword_id for campaign, rule in matches.negative.items()} == {3: 30}
