/* The library's widget for another Q&A site. The host page holds
     <div class="contentlib-widget" data-placement="SLUG" data-q="QUESTION" data-answer="ITS ANSWER"></div>
     <script src="https://LIBRARY/static/ads/widget.js" defer></script>
   and gets the library's recommendations for its question and answer: sponsored cards labelled
   广告 / Sponsored with the advertiser named (their links are the library's signed click redirects,
   their viewability measured by sponsored.js, loaded from the library too), then library articles
   (an enterprise's labelled with the company) and questions. Everything from the API is put in
   as text (textContent, never HTML), and links only when they point at the library. */
(function () {
  "use strict";
  var script = document.currentScript;
  if (!script) return;
  var base = new URL(script.src).origin;

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function libraryLink(href, text, rel) {
    var url = new URL(href, base);
    if (url.origin !== base) return el("span", "", text);  // never a link elsewhere
    var a = el("a", "", text);
    a.href = url.href;
    if (rel) a.rel = rel;
    return a;
  }

  function render(box, data) {
    box.textContent = "";
    var cards = data.sponsored || [];
    if (cards.length) {
      var aside = el("aside", "sponsored");
      aside.setAttribute("aria-label", cards[0].label_text);
      cards.forEach(function (card) {
        var item = el("article", "sponsored-card");
        if (card.beacon_url) item.setAttribute("data-beacon", new URL(card.beacon_url, base).href);
        var meta = el("p", "sponsored-meta");
        meta.appendChild(el("span", "sponsored-label", card.label_text));
        meta.appendChild(document.createTextNode(" "));
        meta.appendChild(el("span", "sponsored-advertiser", card.advertiser));
        item.appendChild(meta);
        var title = el("h3", "sponsored-title");
        title.appendChild(libraryLink(card.click_url, card.title, "sponsored noopener"));
        item.appendChild(title);
        if (card.summary) item.appendChild(el("p", "sponsored-summary", card.summary));
        aside.appendChild(item);
      });
      box.appendChild(aside);
    }
    if ((data.articles || []).length) {
      var list = el("ul", "contentlib-articles");
      data.articles.forEach(function (article) {
        var li = el("li");
        if (article.label_text) {
          li.appendChild(el("span", "contentlib-label", article.label_text));
          if (article.company) li.appendChild(el("span", "contentlib-company", " " + article.company + " "));
        }
        li.appendChild(libraryLink(article.url, article.title));
        list.appendChild(li);
      });
      box.appendChild(list);
    }
    box.setAttribute("data-state", "ready");
  }

  function load(box) {
    var params = new URLSearchParams();
    params.set("q", box.getAttribute("data-q") || "");
    params.set("answer", box.getAttribute("data-answer") || "");
    params.set("placement", box.getAttribute("data-placement") || "");
    return fetch(base + "/api/v1/recommendations?" + params.toString(), { credentials: "omit" })
      .then(function (response) {
        return response.json().then(function (data) {
          if (!response.ok) {
            box.textContent = "";
            box.appendChild(el("p", "contentlib-error", data.error));
            box.setAttribute("data-state", "error");
            return;
          }
          render(box, data);
        });
      })
      .catch(function () {
        box.setAttribute("data-state", "failed");  // refused by CORS (not this placement's site) or offline
      });
  }

  var boxes = document.querySelectorAll(".contentlib-widget");
  if (!boxes.length) return;
  var style = el("link");
  style.rel = "stylesheet";
  style.href = base + "/static/ads/sponsored.css";
  document.head.appendChild(style);
  Promise.all(Array.prototype.map.call(boxes, load)).then(function () {
    if (document.querySelector(".contentlib-widget .sponsored-card[data-beacon]")) {
      var viewability = el("script");
      viewability.src = base + "/static/ads/sponsored.js";
      document.head.appendChild(viewability);
    }
  });
})();
