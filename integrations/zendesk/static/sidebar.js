/*
 * Zendesk's side of the Deskloop panel: the ZAF client reads the ticket, inserts the draft into
 * the comment editor, adds tags and opens similar tickets; at ticket.save the comment being sent is
 * reported to Deskloop, which compares it with the draft (the draft-versus-sent signal).
 *
 * The save hook never holds the agent up: whatever Deskloop answers (or not, within a few
 * seconds), the hook lets the save go ahead. Zendesk's webhook reports the same reply moments
 * later, so a report lost here is recovered on the server.
 */
(function () {
  "use strict";

  var SAVE_REPORT_TIMEOUT_MS = 4000;
  var session = document.body.getAttribute("data-session");
  var apiBase = document.body.getAttribute("data-api");  // /apps/api, under any path prefix
  var root = document.getElementById("deskloop-panel");
  var client = window.ZAFClient && window.ZAFClient.init();
  var panel = null;

  if (!client) {
    root.textContent = "Open Deskloop from a ticket in Zendesk.";
    return;
  }

  function api(path, payload) {
    return fetch(apiBase + path, {
      method: "POST",
      headers: { "Authorization": "Bearer " + session, "Content-Type": "application/json" },
      body: JSON.stringify(payload || {}),
    }).then(DeskloopPanel.readJson);
  }

  function resize() {
    client.invoke("resize", { width: "100%", height: Math.max(80, document.body.scrollHeight) + "px" });
  }

  client.get(["ticket.id", "ticket.subject", "ticket.description"]).then(function (data) {
    var ticketId = data["ticket.id"];
    var text = [data["ticket.subject"], data["ticket.description"]].filter(Boolean).join("\n\n");
    panel = DeskloopPanel.mount(root, {
      load: function () {
        return api("/tickets/" + encodeURIComponent(ticketId) + "/suggestion", { text: text });
      },
      insertDraft: function (draft) { return client.invoke("comment.appendText", draft); },
      applyTags: function (tags) { return client.invoke("ticket.tags.add", tags); },
      openTicket: function (item) { return client.invoke("routeTo", "ticket", item.external_id); },
      markWrong: function (suggestionId) { return api("/suggestions/" + suggestionId + "/wrong", {}); },
      changed: resize,
    });
  });

  client.on("ticket.save", function () {
    var shown = panel && panel.suggestion();
    if (!shown || !shown.suggestion_id || !shown.draft) return true;
    var report = client.get(["comment.text", "comment.type"]).then(function (comment) {
      var text = comment["comment.text"];
      if (!text || comment["comment.type"] !== "publicReply") return null;
      return client.request({
        url: window.location.origin + apiBase + "/suggestions/" + shown.suggestion_id + "/sent",
        type: "POST",
        contentType: "application/json",
        headers: { "Authorization": "Bearer {{setting.deskloop_app_token}}" },
        secure: true,
        data: JSON.stringify({ text: text, channel: "reply", session: session }),
      });
    });
    return DeskloopPanel.withTimeout(report, SAVE_REPORT_TIMEOUT_MS).then(
      function () { return true; },
      function () { return true; }
    );
  });
})();
