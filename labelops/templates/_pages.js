  // An element with a class and text; text always goes in as text (textContent), never as HTML.
  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  // A product's two columns: its image (or "no image"; generated ones marked) from `imageSrc`,
  // then title, description and tags, all as text.
  function productColumns(l, imageSrc) {
    var left = el("div");
    if (imageSrc) {
      var img = el("img"); img.alt = ""; img.loading = "lazy"; img.src = imageSrc; left.appendChild(img);
      if (l.image_generated) left.appendChild(el("div", "generated", "generated image"));
    } else { left.appendChild(el("div", "meta", "no image")); }
    var right = el("div");
    right.appendChild(el("div", "title", l.title || l.listing_id));
    right.appendChild(el("p", "description", l.description));
    var guessed = l.guessed_tags || [];
    var tags = el("div", "tags"); (l.tags || []).forEach(function (t) {
      var guess = guessed.indexOf(t) >= 0;
      var span = el("span", guess ? "tag guessed" : "tag", guess ? t + " ?" : t);
      if (guess) span.title = "read from the product's words: its listing does not state this";
      tags.appendChild(span);
    });
    right.appendChild(tags);
    return [left, right];
  }

  // What a reader should know of a label, under its tags: its categories (the listing's, the
  // text's, the photo's) and where they disagree, the fact checker's findings, who wrote it.
  function labelNotes(right, l) {
    var cats = "category: " + (l.category || "—") + " · from text: " + (l.text_category || "—");
    if (l.image_category) cats += " · from image: " + l.image_category + " (" + Math.round(100 * l.image_category_confidence) + "%)";
    if (l.categories_agree === false) cats += " · the text and the photo disagree";
    if (l.text_category && l.category && l.text_category.toLowerCase() !== l.category.toLowerCase())
      cats += " · the text reads as another category than the product's";
    right.appendChild(el("div", "meta", cats));
    var fit = [];
    if (typeof l.text_image_score === "number") fit.push("description fits the photo: " + l.text_image_score.toFixed(3));
    if (typeof l.image_text_score === "number") fit.push("generated image fits the listing: " + l.image_text_score.toFixed(3));
    if (fit.length) right.appendChild(el("div", "meta text-image", "text–image agreement · " + fit.join(" · ")));
    if (l.text_image_disagreement === true)
      right.appendChild(el("div", "warn disagreement", "⚠ the text and the image do not fit (text–image score below the threshold)"));
    (l.findings || []).forEach(function (f) { right.appendChild(el("div", "warn finding", "⚠ " + f)); });
    right.appendChild(el("div", "meta", "listing " + l.listing_id + " · text by " + writer(l.text_model_version) +
      (l.image_model_version ? " · images by " + writer(l.image_model_version) : "")));
  }

  // Who wrote a label's text or image: "model v3", or a baseline as recorded ("baseline:template").
  function writer(version) {
    return /^baseline:/.test(String(version)) ? String(version) : "model v" + version;
  }

  // Cards for `items`, `size` a page, in #labels; the #search box filters on each item's `_text`;
  // #prev and #next turn pages; #page-info says where you are ("page 2 of 9 · 430 of 430 <noun>").
  function showPages(items, size, card, noun) {
    var shown = items, page = 0;
    var list = document.getElementById("labels"), info = document.getElementById("page-info");
    function render() {
      var pages = Math.max(1, Math.ceil(shown.length / size));
      page = Math.min(page, pages - 1);
      list.replaceChildren();
      shown.slice(page * size, (page + 1) * size).forEach(function (item) { list.appendChild(card(item)); });
      info.textContent = "page " + (page + 1) + " of " + pages + " · " + shown.length + " of " + items.length + " " + noun;
    }
    document.getElementById("search").addEventListener("input", function (event) {
      var q = event.target.value.trim().toLowerCase();
      shown = q ? items.filter(function (item) { return item._text.indexOf(q) !== -1; }) : items;
      page = 0; render();
    });
    document.getElementById("prev").addEventListener("click", function () { if (page > 0) { page--; render(); } });
    document.getElementById("next").addEventListener("click", function () { page++; render(); });
    render();
  }
