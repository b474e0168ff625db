// Notifications: the compose form's time zone and audience, and the live inbox.
// Every page works without this file; nothing here writes markup from data.
(() => {
  const compose = document.getElementById("compose-form");
  if (compose) {
    const at = compose.querySelector("input[name=scheduled_at]");
    const offset = compose.querySelector("input[name=tz_offset]");
    // Minutes to add to the local time for UTC, for the time chosen (DST included).
    const setOffset = () => {
      const chosen = at.value ? new Date(at.value) : new Date();
      offset.value = String((isNaN(chosen) ? new Date() : chosen).getTimezoneOffset());
    };
    setOffset();
    at.addEventListener("input", setOffset);
    compose.addEventListener("submit", setOffset);
    const hint = document.getElementById("tz-hint");
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (hint && zone) hint.textContent = "(your time, " + zone + ")";
    // Choosing a time means scheduling.
    at.addEventListener("input", () => {
      const schedule = compose.querySelector("input[name=when][value=schedule]");
      if (at.value && schedule) schedule.checked = true;
    });

    // Only the chosen audience's choices are shown.
    const showAudience = () => {
      const chosen = compose.querySelector("input[name=scope]:checked");
      compose.querySelectorAll("[data-audience]").forEach((part) => {
        const hide = !chosen || part.dataset.audience !== chosen.value;
        part.hidden = hide;
        // Classes such as .checklist set a display that outranks [hidden].
        part.style.display = hide ? "none" : "";
      });
    };
    compose.querySelectorAll("input[name=scope]").forEach((radio) => radio.addEventListener("change", showAudience));
    showAudience();

    // A member picked from the suggestions joins the list of emails.
    const picker = document.getElementById("email-picker");
    const emails = compose.querySelector("textarea[name=emails]");
    if (picker && emails) {
      picker.addEventListener("change", () => {
        const email = picker.value.trim();
        if (!email) return;
        const listed = emails.value.split(/[\s,;]+/).filter(Boolean);
        if (!listed.includes(email)) listed.push(email);
        emails.value = listed.join("\n");
        picker.value = "";
      });
    }
  }

  const list = document.getElementById("inbox-items");
  if (!list || !window.EventSource) return;
  const status = document.getElementById("live-status");
  const formatTime = (iso) => {
    const at = new Date(iso);
    return isNaN(at) ? iso : at.toISOString().slice(0, 16).replace("T", " ") + " UTC";
  };
  const form = (action, label, className) => {
    const f = document.createElement("form");
    f.method = "post";
    f.action = action;
    f.className = "inline";
    const csrf = document.createElement("input");
    csrf.type = "hidden";
    csrf.name = "csrf_token";
    csrf.value = list.dataset.csrf;
    const button = document.createElement("button");
    button.type = "submit";
    button.className = "link " + className;
    button.textContent = label;
    f.append(csrf, button);
    return f;
  };
  const cell = (className) => {
    const td = document.createElement("td");
    if (className) td.className = className;
    return td;
  };
  const add = (item) => {
    if (!item || !item.id || list.querySelector('tr[data-id="' + CSS.escape(item.id) + '"]')) return;
    const empty = document.getElementById("inbox-empty");
    if (empty) empty.remove();
    const row = document.createElement("tr");
    row.className = "inbox-item unread live";
    row.dataset.id = item.id;
    const main = cell();
    const title = document.createElement("strong");
    title.className = "item-title";
    title.textContent = item.title;
    const body = document.createElement("div");
    body.className = "item-body";
    body.textContent = item.body;
    main.append(title, body);
    if (item.link) {
      let link;
      if (/^https?:\/\//i.test(item.link)) {
        link = document.createElement("a");
        link.href = item.link;
        link.rel = "noopener noreferrer";
      } else {
        link = document.createElement("code");
      }
      link.className = "item-link";
      link.textContent = item.link;
      main.append(link);
    }
    const time = cell("item-time");
    time.textContent = formatTime(item.created_at);
    const state = cell("item-state");
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = "New";
    state.append(badge);
    const actions = cell("row-actions");
    const base = "/orgs/" + encodeURIComponent(list.dataset.org) + "/inbox/" + encodeURIComponent(item.id);
    actions.append(form(base + "/read", "Mark read", "mark-read"), form(base + "/delete", "Delete", "delete-item"));
    row.append(main, time, state, actions);
    list.prepend(row);
  };
  const source = new EventSource(list.dataset.stream);
  source.addEventListener("open", () => {
    if (status) status.textContent = "New notifications appear here as they arrive.";
    list.dataset.live = "open";
  });
  source.addEventListener("notification", (event) => {
    try {
      add(JSON.parse(event.data));
    } catch (_) {
      // Not an item: ignore it.
    }
  });
  source.addEventListener("error", () => {
    if (status) status.textContent = "Live updates paused; reload the page to see new notifications.";
  });
})();
