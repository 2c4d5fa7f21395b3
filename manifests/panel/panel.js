/*
 * The Deskloop side panel, shared by every helpdesk's app.
 *
 * The panel knows nothing about Zendesk or Freshdesk: each app mounts it with a "host" object that
 * talks to its helpdesk (load the suggestion, insert a draft into the editor, apply tags, open a
 * ticket, report a wrong suggestion). The panel owns what the agent sees: a spinner, then a
 * "still working" line when Deskloop is slow, then a message with a retry when it gives up; the
 * abstention ("this one needs a human", with the closest past tickets but no intent, tags or draft
 * to lean on); intent, tags, draft and similar tickets otherwise; the customer's page when known.
 *
 * Everything from the server is written with textContent, never as HTML.
 */
(function () {
  "use strict";

  var DEFAULT_TIMINGS = { slowAfterMs: 3000, giveUpMs: 15000 };

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else if (key === "testid") node.setAttribute("data-testid", attrs[key]);
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  function percent(value) { return Math.round((value || 0) * 100) + "%"; }

  function timings() {
    var custom = window.DeskloopPanelTimings || {};
    return {
      slowAfterMs: custom.slowAfterMs || DEFAULT_TIMINGS.slowAfterMs,
      giveUpMs: custom.giveUpMs || DEFAULT_TIMINGS.giveUpMs,
    };
  }

  /** The reason in a Deskloop error body ({"error": {"reason": ...}}), or a plain fallback. */
  function reasonOf(error) {
    if (error && error.reason) return error.reason;
    if (error && error.message) return error.message;
    return "Deskloop could not be reached.";
  }

  function mount(root, host) {
    var attempt = 0;
    var current = null;
    var changed = host.changed || function () {};

    root.classList.add("dl-panel");

    function show(children) {
      root.replaceChildren.apply(root, children);
      changed();
    }

    function status(kind, message, withRetry) {
      var parts = [];
      if (kind === "loading") parts.push(el("span", { className: "dl-spinner", "aria-hidden": "true" }));
      parts.push(el("span", { className: "dl-status-text", testid: "panel-status-text", text: message }));
      var box = el("div", { className: "dl-status dl-status-" + kind, testid: "panel-status", role: "status" }, parts);
      if (withRetry) {
        var retry = el("button", { type: "button", className: "dl-button", testid: "panel-retry", text: "Try again" });
        retry.addEventListener("click", load);
        box.appendChild(retry);
      }
      return box;
    }

    function load() {
      var mine = ++attempt;
      var t = timings();
      current = null;
      var waiting = status("loading", "Asking Deskloop\u2026");
      show([waiting]);
      var slow = setTimeout(function () {
        if (mine !== attempt) return;
        waiting.querySelector(".dl-status-text").textContent = "Still working: Deskloop is slower than usual\u2026";
        waiting.classList.add("dl-status-slow");
        changed();
      }, t.slowAfterMs);
      var giveUp = setTimeout(function () {
        if (mine !== attempt) return;
        attempt++; // a late answer is ignored: the agent has moved on to the message below
        show([status("error", "Deskloop did not answer in time. The ticket is yours as usual; try again in a moment.", true)]);
      }, t.giveUpMs);
      Promise.resolve()
        .then(host.load)
        .then(function (suggestion) {
          if (mine !== attempt) return;
          current = suggestion;
          show(render(suggestion));
        }, function (error) {
          if (mine !== attempt) return;
          show([status("error", reasonOf(error), true)]);
        })
        .then(function () { clearTimeout(slow); clearTimeout(giveUp); });
    }

    function note(box, message, kind) {
      box.textContent = message;
      box.className = "dl-note" + (kind ? " dl-note-" + kind : "");
      changed();
    }

    // Where the customer was when they wrote (the ticket's page context): the page as a link only
    // when it is http(s), the title, product area and a few app-state values, each as text.
    function pageSection(page) {
      var rows = [];
      var shown = page.title || page.url || page.route;
      if (shown) {
        rows.push(page.url && /^https?:\/\//i.test(page.url)
          ? el("a", { href: page.url, target: "_blank", rel: "noopener noreferrer", className: "dl-page-link",
                      testid: "panel-page-link", title: page.url, text: shown })
          : el("span", { className: "dl-page-link", testid: "panel-page-link", text: shown }));
      }
      if (page.area) {
        rows.push(el("span", { className: "dl-page-area", testid: "panel-page-area", text: page.area }));
      }
      var state = Object.keys(page.state || {}).map(function (key) {
        return el("li", { testid: "panel-page-state" }, [
          el("span", { className: "dl-page-key", text: key + ": " }),
          el("span", { text: String(page.state[key]) }),
        ]);
      });
      if (state.length) {
        rows.push(el("ul", { className: "dl-page-state" }, state));
      }
      return el("div", { className: "dl-section", testid: "panel-page" }, [
        el("div", { className: "dl-label", text: "Customer's page" }),
      ].concat(rows));
    }

    function render(s) {
      var feedback = el("div", { className: "dl-note", testid: "panel-note", "aria-live": "polite" });
      var parts = [];

      if (s.intent && !s.abstained) {
        parts.push(el("div", { className: "dl-intent-row" }, [
          el("span", { className: "dl-label", text: "Intent" }),
          el("span", { className: "dl-intent", testid: "panel-intent", text: s.intent }),
          el("span", { className: "dl-confidence", testid: "panel-confidence", text: percent(s.confidence),
                       title: "How sure Deskloop is" }),
        ]));
      }

      if (s.notice) {
        parts.push(el("div", { className: "dl-note", testid: "panel-notice", role: "note", text: s.notice }));
      }

      if (s.page) {
        parts.push(pageSection(s.page));
      }

      if (s.abstained) {
        parts.push(el("div", { className: "dl-abstain", testid: "panel-abstained", role: "note",
                                "data-reason": s.abstain_reason || "",
                                text: s.message || "No suggestion: this one needs a human." }));
      }

      if (s.tags && s.tags.length && !s.abstained) {
        var chips = s.tags.map(function (t) {
          var chip = el("button", { type: "button", className: "dl-tag", testid: "panel-tag", "data-tag": t.tag,
                                    title: host.applyTags ? "Apply this tag" : t.tag }, [
            el("span", { text: t.tag }), el("span", { className: "dl-tag-score", text: percent(t.confidence) }),
          ]);
          if (host.applyTags) {
            chip.addEventListener("click", function () { applyTags([t.tag], chip); });
          } else {
            chip.disabled = true;
          }
          return chip;
        });
        var tagRow = el("div", { className: "dl-tags", testid: "panel-tags" }, chips);
        if (host.applyTags && s.tags.length > 1) {
          var all = el("button", { type: "button", className: "dl-link", testid: "panel-apply-all", text: "Apply all" });
          all.addEventListener("click", function () {
            applyTags(s.tags.map(function (t) { return t.tag; }), all);
          });
          tagRow.appendChild(all);
        }
        parts.push(el("div", { className: "dl-section" }, [el("div", { className: "dl-label", text: "Tags" }), tagRow]));
      }

      function applyTags(tags, button) {
        Promise.resolve(host.applyTags(tags)).then(function () {
          tags.forEach(function (tag) {
            var chip = root.querySelector('[data-testid="panel-tag"][data-tag="' + CSS.escape(tag) + '"]');
            if (chip) chip.classList.add("dl-tag-applied");
          });
          note(feedback, "Applied: " + tags.join(", "), "ok");
        }, function (error) { note(feedback, "Could not apply tags: " + reasonOf(error), "error"); });
        if (button) button.blur();
      }

      if (!s.abstained && s.draft) {
        var insert = el("button", { type: "button", className: "dl-button dl-primary", testid: "panel-insert",
                                    text: host.insertLabel || "Insert draft" });
        insert.addEventListener("click", function () {
          Promise.resolve(host.insertDraft(s.draft)).then(function () {
            note(feedback, "Draft inserted. Edit it as you like: Deskloop learns from what you send.", "ok");
          }, function (error) { note(feedback, "Could not insert the draft: " + reasonOf(error), "error"); });
        });
        parts.push(el("div", { className: "dl-section" }, [
          el("div", { className: "dl-label", text: "Draft" }),
          el("div", { className: "dl-draft", testid: "panel-draft", text: s.draft }),
          insert,
        ]));
      }

      if (s.similar && s.similar.length) {
        var items = s.similar.map(function (item) {
          var title = "#" + item.external_id + (item.subject ? " " + item.subject : "");
          var link = item.url
            ? el("a", { href: item.url, target: "_blank", rel: "noopener noreferrer", className: "dl-similar-link",
                        testid: "panel-similar-link", text: title })
            : el("span", { className: "dl-similar-link", text: title });
          if (item.url && host.openTicket) {
            link.addEventListener("click", function (event) {
              event.preventDefault();
              host.openTicket(item);
            });
          }
          return el("li", { className: "dl-similar-item", testid: "panel-similar-item" }, [
            link, el("span", { className: "dl-similar-score", text: percent(item.score) + " similar" }),
          ]);
        });
        parts.push(el("div", { className: "dl-section" }, [
          el("div", { className: "dl-label", text: s.abstained ? "Closest past tickets" : "Similar tickets" }),
          el("ul", { className: "dl-similar", testid: "panel-similar" }, items),
        ]));
      }

      if (!s.abstained && s.suggestion_id && host.markWrong) {
        var wrong = el("button", { type: "button", className: "dl-link", testid: "panel-wrong",
                                   text: "This suggestion is wrong" });
        wrong.addEventListener("click", function () {
          wrong.disabled = true;
          Promise.resolve(host.markWrong(s.suggestion_id)).then(function () {
            note(feedback, "Thanks: Deskloop will learn from this one.", "ok");
          }, function (error) {
            wrong.disabled = false;
            note(feedback, "Could not record that: " + reasonOf(error), "error");
          });
        });
        parts.push(wrong);
      }

      parts.push(feedback);
      return parts;
    }

    load();
    return {
      /** The suggestion on screen (its id is what a sent reply is compared with), or null. */
      suggestion: function () { return current; },
      reload: load,
    };
  }

  /** Reads a fetch() answer: the JSON body, or a rejection carrying Deskloop's reason. */
  function readJson(response) {
    return response.json().catch(function () { return {}; }).then(function (body) {
      if (response.ok) return body;
      var reason = (body && body.error && body.error.reason) || ("Deskloop answered HTTP " + response.status);
      return Promise.reject({ status: response.status, reason: reason });
    });
  }

  /** A promise that rejects after ``ms`` (so a helpdesk event is never held up by Deskloop). */
  function withTimeout(promise, ms) {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () { reject({ reason: "timed out" }); }, ms);
      Promise.resolve(promise).then(function (value) { clearTimeout(timer); resolve(value); },
                                    function (error) { clearTimeout(timer); reject(error); });
    });
  }

  window.DeskloopPanel = { mount: mount, readJson: readJson, withTimeout: withTimeout };
})();
