/* Deskloop in-app help widget (docs/widget-api.md, docs/widget.md).
 *
 * Embedded with one tag:
 *   <script async src="https://deskloop.example.com/widget/v1/widget.js" data-deskloop-key="wk_..."></script>
 * Host API (calls made before the script has loaded may be queued as window.Deskloop = {q: [["identify", {...}]]}):
 *   Deskloop.setContext({plan, flags})          app state sent with each question (the tenant decides what is kept)
 *   Deskloop.identify({user_id, user_hash})     the signed identity, computed by the host's backend
 *   Deskloop.setArea("analytics")               the product area, else data-deskloop-area on <body> or <html>
 *   Deskloop.setAreaMap({"/analytics": "analytics"} or function (route) { return area; })
 *   Deskloop.open(), Deskloop.close()
 *
 * Why it looks the way it does: everything it shows sits in fixed-position elements inside one shadow
 * root (no layout shift, no style leaking either way); server text is set with textContent only; the
 * page description it sends never holds a form field's value nor anything under [data-deskloop-private].
 * An answer's guide outlines one step's element at a time with a fixed overlay (docs/widget-api.md, `guide`).
 */
(function () {
  "use strict";
  var existing = window.Deskloop;
  if (existing && existing.version) return; // loaded twice: the first one stays

  var script = document.currentScript || document.querySelector("script[data-deskloop-key]");
  if (!script) return;
  var KEY = script.getAttribute("data-deskloop-key") || "";
  var API = new URL("./", script.src).href; // .../widget/v1/
  var MAX_ERRORS = 5, MAX_ELEMENTS = 200;
  var INTERACTIVE = "a[href],button,input,select,textarea,summary,[role=button],[role=link],[role=tab]," +
    "[role=menuitem],[role=checkbox],[role=switch],[role=option],[tabindex]:not([tabindex='-1'])";
  var PRIVATE = "[data-deskloop-private]";
  var SKIPPED_TEXT = { INPUT: 1, TEXTAREA: 1, SELECT: 1, SCRIPT: 1, STYLE: 1, NOSCRIPT: 1, TEMPLATE: 1 };

  var state = { appState: null, identity: null, area: null, areaMap: null, session: null, errors: [], busy: false };

  function cut(text, max) {
    text = String(text == null ? "" : text).replace(/\s+/g, " ").trim();
    return text.length > max ? text.slice(0, max - 1) + "\u2026" : text;
  }

  // Recent script errors of the host page: messages only, the last few, truncated.
  function noteError(message) {
    if (!message) return;
    state.errors.push(cut(message, 300));
    if (state.errors.length > MAX_ERRORS) state.errors.shift();
  }
  window.addEventListener("error", function (event) {
    if (event && event.message) noteError(event.message);
  });
  window.addEventListener("unhandledrejection", function (event) {
    var reason = event && event.reason;
    noteError(reason && reason.message ? (reason.name ? reason.name + ": " : "") + reason.message : String(reason));
  });

  // ---- the page, described -------------------------------------------------------------------

  function area(route) {
    if (state.area) return state.area;
    var map = state.areaMap;
    if (typeof map === "function") {
      try { var found = map(route); if (found) return String(found); } catch (e) { /* the host's mapping failed */ }
    } else if (map) {
      var best = "";
      Object.keys(map).forEach(function (prefix) {
        if (route.indexOf(prefix) === 0 && prefix.length > best.length) best = prefix;
      });
      if (best) return String(map[best]);
    }
    return (document.body && document.body.getAttribute("data-deskloop-area")) ||
      document.documentElement.getAttribute("data-deskloop-area") || null;
  }

  function roleOf(el) {
    var role = el.getAttribute("role");
    if (role) return role;
    var tag = el.tagName;
    if (tag === "A") return "link";
    if (tag === "BUTTON" || tag === "SUMMARY") return "button";
    if (tag === "SELECT") return "combobox";
    if (tag === "TEXTAREA") return "textbox";
    if (tag === "INPUT") {
      var type = (el.getAttribute("type") || "text").toLowerCase();
      if (type === "checkbox" || type === "radio") return type;
      if (type === "submit" || type === "button" || type === "reset" || type === "image") return "button";
      return "textbox";
    }
    return tag.toLowerCase();
  }

  // Visible text, leaving out form fields (their values) and private parts.
  function textOf(node) {
    var out = "";
    for (var child = node.firstChild; child; child = child.nextSibling) {
      if (child.nodeType === 3) out += child.data;
      else if (child.nodeType === 1 && !SKIPPED_TEXT[child.tagName] && !child.hasAttribute("data-deskloop-private")) {
        out += " " + textOf(child);
      }
      if (out.length > 400) break;
    }
    return out;
  }

  function labelOf(el) {
    var label = el.getAttribute("aria-label");
    if (label) return label;
    if (el.labels && el.labels.length && !el.labels[0].closest(PRIVATE)) return textOf(el.labels[0]);
    return el.getAttribute("title") || el.getAttribute("placeholder") || "";
  }

  function quoted(value) {
    return '"' + String(value).replace(/["\\]/g, "\\$&") + '"';
  }

  // A selector that survives re-renders: an id, a test id, an aria-label, else a short path.
  function selectorOf(el) {
    if (el.id) return "#" + CSS.escape(el.id);
    var tag = el.tagName.toLowerCase();
    var testId = el.getAttribute("data-testid");
    if (testId) return "[data-testid=" + quoted(testId) + "]";
    var label = el.getAttribute("aria-label");
    if (label) return tag + "[aria-label=" + quoted(label) + "]";
    var name = el.getAttribute("name");
    if (name) return tag + "[name=" + quoted(name) + "]";
    var parts = [];
    for (var node = el; node && node.nodeType === 1 && parts.length < 5; node = node.parentElement) {
      if (node !== el && node.id) { parts.unshift("#" + CSS.escape(node.id)); break; }
      var part = node.tagName.toLowerCase();
      var parent = node.parentElement;
      if (parent) {
        var same = Array.prototype.filter.call(parent.children, function (c) { return c.tagName === node.tagName; });
        if (same.length > 1) part += ":nth-of-type(" + (same.indexOf(node) + 1) + ")";
      }
      parts.unshift(part);
      if (node.tagName === "BODY") break;
    }
    return parts.join(" > ");
  }

  function visible(el) {
    var box = el.getBoundingClientRect();
    if (box.width <= 0 || box.height <= 0) return false;
    var style = getComputedStyle(el);
    return style.visibility !== "hidden" && style.display !== "none";
  }

  function elements() {
    var found = [];
    var all = document.querySelectorAll(INTERACTIVE);
    for (var i = 0; i < all.length && found.length < MAX_ELEMENTS; i++) {
      var el = all[i];
      if (el === root || el.closest(PRIVATE) || !visible(el)) continue;
      var item = { role: cut(roleOf(el), 64), selector: cut(selectorOf(el), 500) };
      // A field's own text is its value (a textarea's content, a select's options): never sent.
      var text = SKIPPED_TEXT[el.tagName] ? "" : cut(textOf(el), 200), label = cut(labelOf(el), 200);
      if (text) item.text = text;
      if (label) item.label = label;
      found.push(item);
    }
    return found;
  }

  function context() {
    var route = location.pathname;
    var url = location.origin + location.pathname; // no query nor fragment: they may hold tokens
    var described = { url: cut(url, 2048), route: cut(route, 512), title: cut(document.title, 300),
      errors: state.errors.slice(), elements: elements() };
    var where = area(route);
    if (where) described.area = cut(where, 100);
    if (state.appState) described.app_state = state.appState;
    return described;
  }

  // ---- talking to Deskloop ---------------------------------------------------------------------

  function call(route, body) {
    body.key = KEY;
    if (state.identity) body.identity = state.identity;
    // text/plain: a "simple" request, so no preflight; the server reads JSON whatever the type.
    // keepalive: a guide's last click may leave the page while its signal is on the way.
    return fetch(API + route, { method: "POST", mode: "cors", credentials: "omit", keepalive: route === "guide",
      headers: { "Content-Type": "text/plain" }, body: JSON.stringify(body) })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          if (response.ok) return data;
          var reason = data && data.error && data.error.reason;
          var wait = response.headers.get("Retry-After");
          throw new Error(response.status === 429 ? "Too many questions at once. Try again in " + (wait || "a few") +
            " seconds." : (reason ? "Help is unavailable: " + reason : "Help is unavailable right now."));
        });
      }, function () {
        throw new Error("Help could not be reached from this page.");
      });
  }

  // ---- the panel -------------------------------------------------------------------------------

  var CSS_TEXT =
    ":host{all:initial}*{box-sizing:border-box;font:14px/1.4 system-ui,-apple-system,'Segoe UI',sans-serif}" +
    ".launcher{position:fixed;right:20px;bottom:20px;z-index:2147483000;border:0;border-radius:24px;" +
    "padding:12px 18px;background:#1f4f8f;color:#fff;font-weight:600;cursor:pointer;box-shadow:0 2px 8px #0004}" +
    ".launcher:focus-visible,button:focus-visible,input:focus-visible,textarea:focus-visible{outline:3px solid #f5a623;" +
    "outline-offset:2px}.panel{position:fixed;right:20px;bottom:76px;z-index:2147483001;width:min(360px,calc(100vw - 24px));" +
    "max-height:calc(100vh - 100px);overflow:auto;background:#fff;color:#1b1b1b;border-radius:10px;padding:16px;" +
    "box-shadow:0 6px 24px #0005}.panel[hidden],[hidden]{display:none!important}" +
    "header{display:flex;justify-content:space-between;align-items:center;margin-bottom:8px}" +
    "h2{margin:0;font-size:16px;font-weight:700}label{display:block;margin:8px 0 4px;font-weight:600}" +
    "textarea,input{width:100%;padding:8px;border:1px solid #888;border-radius:6px;background:#fff;color:#1b1b1b}" +
    "textarea{min-height:64px;resize:vertical}button{cursor:pointer;border-radius:6px;border:1px solid #1f4f8f;" +
    "background:#fff;color:#1f4f8f;padding:6px 12px;margin:8px 8px 0 0}button.primary{background:#1f4f8f;color:#fff}" +
    "button.close{border:0;margin:0;font-size:20px;line-height:1;padding:2px 8px}" +
    ".answer{white-space:pre-wrap;margin-top:12px}.answer:empty{display:none}" +
    ".error{color:#a4161a}.note{color:#444;margin-top:8px}.sr{position:fixed;width:1px;height:1px;overflow:hidden;" +
    "clip:rect(0 0 0 0);margin:0}" +
    ".guide{margin-top:12px;padding:8px;border-left:4px solid #f5a623;background:#fff8e6}.guide p{margin:0;font-weight:600}" +
    ".guide ol{margin:6px 0 0;padding-left:20px}.spot{position:fixed;z-index:2147482999;pointer-events:none;" +
    "border:3px solid #f5a623;border-radius:6px;box-shadow:0 0 0 4px #f5a62366,0 0 12px #f5a623}";

  var root = document.createElement("div");
  root.setAttribute("data-deskloop-widget", "");
  root.style.cssText = "position:fixed;right:0;bottom:0;width:0;height:0;z-index:2147483000";
  var shadow = root.attachShadow({ mode: "open" });
  if ("adoptedStyleSheets" in shadow && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
    var sheet = new CSSStyleSheet();
    sheet.replaceSync(CSS_TEXT); // not an inline <style>: a host's strict style-src does not block it
    shadow.adoptedStyleSheets = [sheet];
  } else {
    var style = document.createElement("style");
    style.textContent = CSS_TEXT;
    shadow.appendChild(style);
  }

  function make(tag, attrs, text) {
    var el = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) { el.setAttribute(name, attrs[name]); });
    if (text) el.textContent = text;
    return el;
  }
  function add(parent) {
    for (var i = 1; i < arguments.length; i++) parent.appendChild(arguments[i]);
    return parent;
  }

  var launcher = make("button", { type: "button", "class": "launcher", "aria-expanded": "false",
    "aria-controls": "deskloop-panel", "aria-haspopup": "dialog" }, "Help");
  var panel = make("div", { id: "deskloop-panel", "class": "panel", role: "dialog",
    "aria-labelledby": "deskloop-title", hidden: "" });
  var closeButton = make("button", { type: "button", "class": "close", "aria-label": "Close help" }, "\u00d7");
  var askForm = make("form", { "class": "ask" });
  var question = make("textarea", { id: "deskloop-question", name: "question", maxlength: "2000", required: "" });
  var askButton = make("button", { type: "submit", "class": "primary" }, "Ask");
  var answer = make("div", { "class": "answer", "aria-live": "polite", "data-state": "idle" });
  var feedback = make("div", { "class": "feedback", hidden: "" });
  var helpful = make("button", { type: "button" }, "Helpful");
  var notHelpful = make("button", { type: "button" }, "Not helpful");
  var human = make("button", { type: "button", hidden: "" }, "Talk to a person");
  var ticketForm = make("form", { "class": "ticket", hidden: "" });
  var email = make("input", { id: "deskloop-email", type: "email", name: "email", autocomplete: "email", maxlength: "254" });
  var message = make("textarea", { id: "deskloop-message", name: "message", maxlength: "5000" });
  var send = make("button", { type: "submit", "class": "primary" }, "Send to support");
  var note = make("p", { "class": "note", role: "status" });
  var guideBox = make("div", { "class": "guide", role: "group", "aria-label": "Guide", hidden: "" });
  var guideStep = make("p", { "class": "step" });
  var guideList = make("ol", { hidden: "" });
  var stopGuide = make("button", { type: "button" }, "Stop guide");
  var spot = make("div", { "class": "spot", "aria-hidden": "true", hidden: "" });

  add(panel,
    add(make("header"), make("h2", { id: "deskloop-title" }, "Help"), closeButton),
    add(askForm, make("label", { "for": "deskloop-question" }, "Your question"), question, askButton),
    answer,
    add(guideBox, guideStep, guideList, stopGuide),
    add(feedback, make("span", {}, "Did this answer help? "), helpful, notHelpful),
    human,
    add(ticketForm, make("label", { "for": "deskloop-email" }, "Your email"), email,
      make("label", { "for": "deskloop-message" }, "What went wrong?"), message, send),
    note);
  add(shadow, spot, launcher, panel);

  function isOpen() { return !panel.hidden; }
  function open(keepFocus) {
    if (isOpen()) return;
    panel.hidden = false;
    launcher.setAttribute("aria-expanded", "true");
    if (keepFocus !== true) question.focus();
  }
  function close() {
    if (!isOpen()) return;
    panel.hidden = true;
    launcher.setAttribute("aria-expanded", "false");
    launcher.focus();
  }

  function show(text, kind) {
    answer.textContent = text; // server text: never parsed as HTML
    answer.setAttribute("data-state", kind);
    answer.className = kind === "error" ? "answer error" : "answer";
  }
  function setNote(text, kind) {
    note.textContent = text;
    note.className = kind === "error" ? "note error" : kind === "guide" ? "note sr" : "note";
  }
  function failed(error) { show(error.message, "error"); }

  function busy(on, button) {
    state.busy = on;
    button.disabled = on;
  }

  launcher.addEventListener("click", function () { if (isOpen()) close(); else open(); });
  closeButton.addEventListener("click", close);
  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { event.preventDefault(); close(); }
  });

  askForm.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = question.value.trim();
    if (!text || state.busy) return;
    busy(true, askButton);
    feedback.hidden = true; human.hidden = true; ticketForm.hidden = true; setNote("", "");
    show("Looking for an answer\u2026", "loading");
    var body = { question: text.slice(0, 2000), context: context() };
    if (state.session) body.session = state.session;
    endGuide("abandoned");
    call("ask", body).then(function (data) {
      state.session = data.session || state.session;
      if (data.answer && !data.abstained) {
        show(data.answer, "answered");
        feedback.hidden = false;
        startGuide(data.guide);
      } else {
        show("I don\u2019t know \u2014 talk to a person?", "abstained");
        human.hidden = false;
      }
    }, failed).then(function () { busy(false, askButton); });
  });

  function offerTicket() {
    human.hidden = true;
    ticketForm.hidden = false;
    email.focus();
  }
  human.addEventListener("click", offerTicket);

  function rate(wasHelpful) {
    if (!state.session || state.busy) return;
    busy(true, wasHelpful ? helpful : notHelpful);
    call("feedback", { session: state.session, helpful: wasHelpful }).then(function (data) {
      feedback.hidden = true;
      if (wasHelpful) setNote("Thanks for telling us.", "ok");
      else { setNote(data.message || "Sorry that did not help.", "ok"); offerTicket(); }
    }, function (error) { setNote(error.message, "error"); })
      .then(function () { busy(false, wasHelpful ? helpful : notHelpful); });
  }
  helpful.addEventListener("click", function () { rate(true); });
  notHelpful.addEventListener("click", function () { rate(false); });

  ticketForm.addEventListener("submit", function (event) {
    event.preventDefault();
    if (!state.session || state.busy) return;
    busy(true, send);
    var body = { session: state.session };
    if (email.value.trim()) body.email = email.value.trim();
    if (message.value.trim()) body.message = message.value.trim().slice(0, 5000);
    call("ticket", body).then(function (data) {
      ticketForm.hidden = true;
      setNote("Sent to the support team (reference " + data.ticket + "). They will reply by email.", "ok");
    }, function (error) { setNote(error.message, "error"); })
      .then(function () { busy(false, send); });
  });

  // ---- the guide: the answer's steps, highlighted on the page --------------------------------
  // Kept in sessionStorage so a multi-page host resumes it on the next page of the same tab. A
  // step is found by the selector the server matched on the page it was asked on, else by its
  // names among this page's controls; a click on it or a route change moves on.

  var GUIDE_KEY = "deskloop-guide", STALE_MS = 30 * 60 * 1000;
  var guide = null, target = null, clickedAt = 0, lastRoute = where();

  function where() { return location.pathname + location.hash; }
  function save() {
    try {
      if (guide) sessionStorage.setItem(GUIDE_KEY, JSON.stringify(guide));
      else sessionStorage.removeItem(GUIDE_KEY);
    } catch (e) { /* storage refused: the guide lasts as long as the page */ }
  }
  function words(text) { return cut(text, 200).toLowerCase().replace(/[\W_]+/g, " ").trim(); }
  function named(el, names) {
    var own = [words(textOf(el)), words(labelOf(el))];
    return names.some(function (name) {
      var want = words(name), parts = want.split(" ");
      return want && own.some(function (have) {
        var theirs = have.split(" ");
        return have === want || (theirs.length <= parts.length + 3 &&
          parts.every(function (w) { return theirs.indexOf(w) >= 0; }));
      });
    });
  }
  function locate(step) {
    var el = null;
    if (step.selector && guide.route === location.pathname) {
      try { el = document.querySelector(step.selector); } catch (e) { el = null; }
    }
    if (el && visible(el) && !el.closest(PRIVATE)) return el;
    var all = document.querySelectorAll(INTERACTIVE);
    for (var i = 0; i < all.length; i++) {
      if (!all[i].closest(PRIVATE) && !root.contains(all[i]) && visible(all[i]) && named(all[i], step.names || [step.text])) {
        return all[i];
      }
    }
    return null;
  }
  function place() {
    if (!target || !target.isConnected) { spot.hidden = true; return; }
    var box = target.getBoundingClientRect();
    spot.style.cssText = "left:" + (box.left - 4) + "px;top:" + (box.top - 4) + "px;width:" +
      (box.width + 8) + "px;height:" + (box.height + 8) + "px";
    spot.hidden = false;
  }
  function announce(text) {
    if (guideStep.textContent === text) return;
    guideStep.textContent = text;
    setNote(text, "guide"); // read out by the panel's live region; shown once, in the guide
  }
  function render() {
    if (!guide) return;
    var step = guide.steps[guide.at], n = guide.steps.length;
    var label = "Step " + (guide.at + 1) + " of " + n + ": ";
    var el = locate(step);
    if (el !== target) { target = el; if (el) el.scrollIntoView({ block: "nearest", inline: "nearest" }); }
    guideBox.hidden = false;
    guideList.hidden = !!el || !!step.page;
    if (el) announce(label + "click " + step.text);
    else if (step.page) announce(label + step.text + " is on the " + step.page + " page. Go there to continue.");
    else announce(label + step.text + " is not on this page. The steps:");
    place();
  }
  // The customer may be past the first steps already ("Cards > Track" asked where Track is): a
  // missing step gives way to the last later step this page shows.
  function skipAhead() {
    if (!guide || locate(guide.steps[guide.at])) return;
    for (var j = guide.steps.length - 1; j > guide.at; j--) {
      if (locate(guide.steps[j])) { guide.at = j; save(); return; }
    }
  }
  function showList() {
    guideList.textContent = "";
    guide.steps.forEach(function (step) { guideList.appendChild(make("li", {}, step.text)); });
  }
  function startGuide(data) {
    if (!data || !data.steps || !data.steps.length || !state.session) return;
    guide = { session: state.session, route: location.pathname, at: 0, started: Date.now(), clicked: [],
      steps: data.steps.slice(0, 10).map(function (s) {
        return { text: cut(s.text, 60), names: (s.names || []).slice(0, 10), selector: s.selector || null,
          page: s.page || null };
      }) };
    skipAhead(); save(); showList(); render();
  }
  function endGuide(event) {
    if (!guide) return;
    var ended = guide;
    guide = null; target = null; save();
    spot.hidden = true; guideBox.hidden = true; guideStep.textContent = "";
    var body = { session: ended.session, event: event, step: Math.min(ended.at, ended.steps.length - 1) };
    if (event === "completed" && ended.clicked.length) body.clicked = ended.clicked;
    state.session = state.session || ended.session;
    return call("guide", body).then(function () {
      if (event === "completed") setNote("Done: that was the last step.", "ok");
    }, function () { /* the customer is not bothered with a lost signal */ });
  }
  function advance() {
    guide.at += 1;
    if (guide.at >= guide.steps.length) { endGuide("completed"); return; }
    save(); render();
  }

  document.addEventListener("click", function (event) {
    if (!guide || !target || !target.contains(event.target)) return;
    var name = cut(textOf(target), 200) || cut(labelOf(target), 200);
    var step = guide.steps[guide.at];
    if (name && words(name) !== words(step.text)) guide.clicked.push({ step: guide.at, text: name });
    clickedAt = Date.now();
    advance(); // saved before the click's navigation unloads the page
  }, true);

  function routeChanged() {
    var now = where();
    if (now === lastRoute) return;
    lastRoute = now;
    if (!guide) return;
    // Moved on without the highlighted click (a shortcut, the back button): the step is done when
    // its element was shown and is gone; a step that was missing may be here now.
    if (Date.now() - clickedAt > 1000 && target && !locate(guide.steps[guide.at])) advance();
    else { skipAhead(); render(); }
  }
  ["pushState", "replaceState"].forEach(function (name) {
    var original = history[name];
    history[name] = function () {
      var result = original.apply(this, arguments);
      setTimeout(routeChanged);
      return result;
    };
  });
  window.addEventListener("popstate", routeChanged);
  window.addEventListener("hashchange", routeChanged);
  window.addEventListener("scroll", function () { if (guide) place(); }, true);
  window.addEventListener("resize", function () { if (guide) place(); });
  window.addEventListener("load", function () { if (guide) place(); }); // the host's styles may move it
  setInterval(function () { if (guide) render(); }, 500); // a step's element may appear later
  stopGuide.addEventListener("click", function () {
    endGuide("abandoned");
    setNote("Guide stopped.", "ok");
    question.focus();
  });

  function resumeGuide() {
    try { guide = JSON.parse(sessionStorage.getItem(GUIDE_KEY) || "null"); } catch (e) { guide = null; }
    if (!guide || !guide.steps || !guide.steps.length) { guide = null; return; }
    if (Date.now() - guide.started > STALE_MS) { endGuide("abandoned"); return; }
    state.session = guide.session;
    open(true);
    skipAhead();
    showList();
    render();
  }

  // ---- the host's API --------------------------------------------------------------------------

  var api = {
    version: "1",
    setContext: function (appState) { state.appState = appState && typeof appState === "object" ? appState : null; },
    identify: function (who) {
      state.identity = who && who.user_id ? { user_id: String(who.user_id), user_hash: who.user_hash || undefined } : null;
    },
    setArea: function (name) { state.area = name ? String(name) : null; },
    setAreaMap: function (map) { state.areaMap = map || null; },
    open: open,
    close: close
  };
  window.Deskloop = api;
  var queued = existing && existing.q;
  if (queued && queued.length) {
    queued.forEach(function (entry) {
      if (entry && typeof api[entry[0]] === "function") api[entry[0]].apply(api, [].slice.call(entry, 1));
    });
  }

  function mount() { document.body.appendChild(root); resumeGuide(); }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);
})();
