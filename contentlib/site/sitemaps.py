"""sitemap.xml for search engines: published questions (a public page has a real answer and passed
the sensitive-word filter) and published articles. Never a pending, hidden or "no answer" page."""
from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from contentlib import selectors


class QuestionSitemap(Sitemap):
    changefreq = "weekly"
    limit = 5000

    def items(self):
        return selectors.question_public().order_by("-created_at", "-id").only("slug", "created_at")

    def location(self, question):
        return reverse("site:question_detail", args=[question.slug])

    def lastmod(self, question):
        return question.created_at


class ArticleSitemap(Sitemap):
    changefreq = "monthly"
    limit = 5000

    def items(self):
        return selectors.article_published().order_by("-published_at", "-id").only("id", "updated_at")

    def location(self, article):
        return reverse("site:article_detail", args=[article.id])

    def lastmod(self, article):
        return article.updated_at


SITEMAPS = {"questions": QuestionSitemap, "articles": ArticleSitemap}
