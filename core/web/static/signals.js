// Revoke a signal from the audit table: POST .../signals/<id>/revoke, then show it as revoked.
const api = document.body.dataset.apiRoot;
const tenant = document.body.dataset.tenant;
const status = document.getElementById("signals-status");
const csrfToken = document.querySelector('meta[name="csrf-token"]').content;

function say(message, isError) {
  status.hidden = false;
  status.textContent = message;
  status.classList.toggle("alert-error", Boolean(isError));
}

document.querySelectorAll("button.revoke").forEach((button) => {
  button.addEventListener("click", async () => {
    const row = button.closest("tr");
    const id = row.dataset.signalId;
    button.disabled = true;
    try {
      const response = await fetch(`${api}/tenants/${encodeURIComponent(tenant)}/signals/${id}/revoke`, {
        method: "POST", headers: { Accept: "application/json", "X-CSRFToken": csrfToken },
      });
      const body = await response.json();
      if (!response.ok) throw new Error(body.error?.reason || `HTTP ${response.status}`);
      row.classList.add("revoked");
      row.querySelector(".change").textContent = "revoked: no longer used";
      button.remove();
      say(`Signal #${id} revoked: it no longer influences suggestions or later model versions.`);
    } catch (error) {
      button.disabled = false;
      say(`Could not revoke signal #${id}: ${error.message}`, true);
    }
  });
});
