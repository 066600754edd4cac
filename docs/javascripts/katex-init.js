// Typeset the math of every page with the vendored KaTeX (docs/javascripts/katex, offline: no CDN).
// Markdown pages: pymdownx.arithmatex (generic mode) wraps each formula in an element of class "arithmatex"
// holding \( ... \) or \[ ... \]. Notebook pages (mkdocs-jupyter): markdown cells keep $ ... $ and $$ ... $$.
// document$ is mkdocs-material's page observable (it also fires after instant navigation).
(function () {
  function typeset() {
    var options = {
      delimiters: [
        {left: "$$", right: "$$", display: true},
        {left: "\\[", right: "\\]", display: true},
        {left: "\\(", right: "\\)", display: false},
        {left: "$", right: "$", display: false}
      ],
      throwOnError: false
    };
    document.querySelectorAll(".arithmatex, .jp-RenderedMarkdown").forEach(function (el) {
      renderMathInElement(el, options);
    });
  }
  if (typeof document$ !== "undefined") {
    document$.subscribe(typeset);
  } else {
    document.addEventListener("DOMContentLoaded", typeset);
  }
})();
