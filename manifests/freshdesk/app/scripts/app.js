/*
 * Freshdesk's side of the Deskloop panel (platform 3.0, ticket sidebar).
 *
 * Every call to Deskloop goes through a request template (config/requests.json): Freshworks'
 * proxy adds the secure installation parameter deskloop_app_token, so the token never reaches the
 * agent's browser. The draft goes into the reply editor; when the agent sends the reply
 * (ticket.sendReply) its text is reported, and Deskloop compares it with the draft. The event's
 * payload is not documented field by field, so the text is read from the fields Freshdesk is known
 * to send, and when none is there the server learns the reply from Freshdesk's webhook instead.
 */
(function () {
  "use strict";

  var root = document.getElementById("deskloop-panel");
  var panel = null;

  /** A request template's answer as JSON, or a rejection with Deskloop's reason. */
  function call(client, template, context, payload) {
    return client.request.invokeTemplate(template, { context: context, body: JSON.stringify(payload || {}) })
      .then(function (answer) { return JSON.parse(answer.response || "{}"); }, function (failure) {
        var reason = "Deskloop could not be reached.";
        try {
          var body = JSON.parse(failure.response || "{}");
          if (body.error && body.error.reason) reason = body.error.reason;
        } catch (ignored) { /* not JSON: keep the plain reason */ }
        return Promise.reject({ status: failure.status, reason: reason });
      });
  }

  /** The reply text in a ticket.sendReply payload, plain text preferred. */
  function sentText(data) {
    data = data || {};
    var text = data.body_text || data.text || data.body || data.body_html || data.full_text || "";
    if (/<[a-z][\s\S]*>/i.test(text)) {
      text = new DOMParser().parseFromString(text, "text/html").body.textContent || "";
    }
    return text.trim();
  }

  function start(client) {
    client.data.get("ticket").then(function (data) {
      var ticket = data.ticket;
      var text = [ticket.subject, ticket.description_text].filter(Boolean).join("\n\n");
      panel = DeskloopPanel.mount(root, {
        load: function () { return call(client, "deskloopSuggestion", { ticket_id: ticket.id }, { text: text }); },
        insertDraft: function (draft) { return client.interface.trigger("click", { id: "reply", text: draft }); },
        markWrong: function (suggestionId) {
          return call(client, "deskloopWrong", { suggestion_id: suggestionId }, {});
        },
      });
    });
  }

  app.initialized().then(function (client) {
    client.events.on("app.activated", function () { start(client); });
    client.events.on("ticket.sendReply", function (event) {
      var shown = panel && panel.suggestion();
      var text = sentText(event && event.helper ? event.helper.getData() : null);
      if (!shown || !shown.suggestion_id || !shown.draft || !text) return;
      call(client, "deskloopSent", { suggestion_id: shown.suggestion_id }, { text: text, channel: "reply" })
        .catch(function () { /* the webhook reports the same reply to the server */ });
    });
  });
})();
