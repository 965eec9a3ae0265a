/*
 * lmscope explorer page: sends the form to POST /api/stream, shows each token as the
 * server streams it (NDJSON lines), then renders the returned views with the lmscope
 * bundle (window.lmscope.render). Text enters the page only through textContent.
 * Hand-written, no build step; the views' own code is the shared bundle lmscope.js.
 */
(function () {
  "use strict";

  var $ = function (id) { return document.getElementById(id); };
  var form = $("lx-form"), status = $("lx-status"), stream = $("lx-stream"), views = $("lx-views");
  var runButton = $("lx-run");
  var state = { info: null, last: null, running: false, events: [] };
  window.lmscopeExplorer = state;   // for tests and for poking at the last result in the console

  function setStatus(text, isError) {
    status.textContent = text;
    status.className = "lx-status" + (isError ? " lx-error" : "");
  }

  function describe(detail) {
    if (typeof detail === "string") return detail;
    if (Array.isArray(detail)) {
      return detail.map(function (d) {
        var where = Array.isArray(d.loc) ? d.loc.filter(function (x) { return x !== "body"; }).join(".") : "";
        return (where ? where + ": " : "") + (d.msg || JSON.stringify(d));
      }).join("; ");
    }
    return JSON.stringify(detail);
  }

  function span(cls, text) {
    var s = document.createElement("span");
    s.className = cls;
    s.textContent = text;
    return s;
  }

  function loadInfo() {
    fetch("/api/info").then(function (r) { return r.json(); }).then(function (info) {
      state.info = info;
      $("lx-model").textContent = info.model + " · " + info.n_layers + " layers" + (info.masked ? " · masked LM" : "");
      var select = $("lx-saliency");
      var current = select.value;
      while (select.options.length > 1) select.remove(1);
      info.saliency_methods.forEach(function (name) {
        var o = document.createElement("option");
        o.value = name;
        o.textContent = name;
        if (info.saliency_summaries && info.saliency_summaries[name]) o.title = info.saliency_summaries[name];
        select.appendChild(o);
      });
      select.value = info.saliency_methods.indexOf(current) >= 0 ? current : "";
      $("lx-max-new").max = String(info.limits.max_new_tokens);
      $("lx-factors").max = String(info.limits.max_factors);
      $("lx-prompt").maxLength = info.limits.max_prompt_chars;
      if (!info.chat) { $("lx-chat").checked = false; $("lx-chat").disabled = true; }
      if (info.masked) { $("lx-analyze").checked = true; $("lx-analyze").disabled = true; }
    }).catch(function (err) { setStatus("could not reach the server: " + err, true); });
  }

  function request() {
    var text = $("lx-prompt").value;
    var body = {
      mode: $("lx-analyze").checked ? "analyze" : "generate",
      max_new_tokens: parseInt($("lx-max-new").value, 10) || 20,
      do_sample: $("lx-sample").checked,
      saliency: $("lx-saliency").value || null,
      lens: $("lx-lens").checked,
      candidates: $("lx-candidates").checked
    };
    if ($("lx-chat").checked) body.messages = [{ role: "user", content: text }];
    else body.prompt = text;
    if (body.do_sample) {
      var seed = $("lx-seed").value;
      if (seed !== "") body.seed = parseInt(seed, 10);
      body.temperature = parseFloat($("lx-temperature").value) || 1;
    }
    var factors = parseInt($("lx-factors").value, 10);
    if (factors > 0) body.factors = factors;
    return body;
  }

  function render(result) {
    views.textContent = "";
    result.views.forEach(function (data) {
      var box = document.createElement("div");
      box.className = "lx-view";
      views.appendChild(box);
      window.lmscope.render(box, data);
    });
  }

  function handle(event) {
    state.events.push(event.event);
    switch (event.event) {
      case "queued":
        setStatus(event.ahead > 0 ? "queued: " + event.ahead + " request(s) ahead" : "starting…");
        break;
      case "start":
        setStatus("generating…");
        break;
      case "token":
        // the text this token adds as the tokenizer decodes it (empty while a character is
        // still being spelled out byte by byte), not its display string (<0xE6> for a byte)
        var t = span("lx-out lx-streamed", event.text);
        t.setAttribute("data-token-id", String(event.token_id));
        stream.appendChild(t);
        break;
      case "text":                       // the end of a character left incomplete by the last token
        stream.appendChild(span("lx-out lx-streamed-tail", event.text));
        break;
      case "stage":
        setStatus(event.stage === "generate" ? "generating…" : "computing " + event.stage + "…");
        break;
      case "result":
        state.last = event;
        stream.textContent = "";
        stream.appendChild(span("lx-in", event.text.slice(0, event.text.length - event.output_text.length)));
        stream.appendChild(span("lx-out", event.output_text));
        render(event);
        var total = Object.keys(event.timings).reduce(function (s, k) { return s + event.timings[k]; }, 0);
        setStatus("done in " + total.toFixed(2) + " s (" + event.tokens.length + " tokens). " +
                  "Hover an output token to see why it was written.");
        break;
      case "error":
        setStatus("error " + event.status + ": " + describe(event.detail), true);
        break;
    }
  }

  function readLines(response) {
    var reader = response.body.getReader(), decoder = new TextDecoder(), buffer = "";
    function pump() {
      return reader.read().then(function (chunk) {
        if (chunk.done) {
          if (buffer.trim()) handle(JSON.parse(buffer));
          return;
        }
        buffer += decoder.decode(chunk.value, { stream: true });
        var lines = buffer.split("\n");
        buffer = lines.pop();
        lines.forEach(function (line) { if (line.trim()) handle(JSON.parse(line)); });
        return pump();
      });
    }
    return pump();
  }

  function run(event) {
    if (event) event.preventDefault();
    if (state.running) return;
    state.running = true;
    state.events = [];
    runButton.disabled = true;
    stream.textContent = "";
    views.textContent = "";
    var body = request();
    var shown = body.prompt !== undefined ? body.prompt : body.messages[0].content;
    stream.appendChild(span("lx-in", shown));
    setStatus("sending…");
    fetch("/api/stream", { method: "POST", headers: { "Content-Type": "application/json" },
                           body: JSON.stringify(body) })
      .then(function (response) {
        if (!response.ok) {
          return response.json().then(function (err) {
            setStatus("error " + response.status + ": " + describe(err.detail), true);
          });
        }
        return readLines(response);
      })
      .catch(function (err) { setStatus("request failed: " + err, true); })
      .then(function () { state.running = false; runButton.disabled = false; });
  }

  form.addEventListener("submit", run);
  $("lx-prompt").addEventListener("keydown", function (e) {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) run(e);
  });
  loadInfo();
})();
