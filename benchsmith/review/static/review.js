// Keyboard shortcuts of the review pages. Loaded as a file: the CSP forbids inline script.
"use strict";
(function () {
  const $ = (sel) => document.querySelector(sel);
  const typing = (el) => el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT" || el.isContentEditable);
  const help = $("#shortcuts");

  function toggleHelp(show) {
    if (!help) return;
    help.hidden = show === undefined ? !help.hidden : !show;
  }
  const helpButton = $("#help-button");
  if (helpButton) helpButton.addEventListener("click", () => toggleHelp());
  if (help) help.addEventListener("click", (ev) => { if (ev.target === help) toggleHelp(false); });

  function submit(form) {
    if (!form) return;
    if (form.requestSubmit) form.requestSubmit(); else form.submit();
  }

  // Reject panel: 1-9 picks a reason and moves to the comment; Enter on the reason rejects.
  const reason = $("#reject-reason");
  if (reason) {
    reason.addEventListener("keydown", (ev) => {
      if (ev.key >= "1" && ev.key <= "9") {
        const opt = reason.options[Number(ev.key)];
        if (opt) { reason.value = opt.value; ev.preventDefault(); $("#reject-comment").focus(); }
      } else if (ev.key === "Enter") {
        ev.preventDefault();
        submit($("#reject-form"));
      }
    });
  }
  const editForm = $("#edit-form");
  if (editForm) {
    editForm.addEventListener("keydown", (ev) => {
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); submit(editForm); }
    });
  }

  // List view: a current row moved with j/k, ticked with x, opened with o or Enter.
  const rows = Array.from(document.querySelectorAll("tr.row"));
  let current = -1;
  function moveRow(delta) {
    if (!rows.length) return;
    if (current >= 0) rows[current].classList.remove("current");
    current = Math.max(0, Math.min(rows.length - 1, current + delta));
    rows[current].classList.add("current");
    rows[current].scrollIntoView({ block: "nearest" });
  }

  function follow(sel) {
    const link = $(sel);
    if (link) window.location.assign(link.href);
    return Boolean(link);
  }

  document.addEventListener("keydown", (ev) => {
    if (ev.key === "Escape") {
      toggleHelp(false);
      if (typing(document.activeElement)) document.activeElement.blur();
      return;
    }
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
    const page = document.body.dataset.page;
    let handled = true;
    if (ev.key === "?") toggleHelp();
    else if (ev.key === "f") follow("#start-focus") || follow("#focus-link");
    else if (page === "item" && ev.key === "a") submit($("#accept-form"));
    else if (page === "item" && ev.key === "r") reason && reason.focus();
    else if (page === "item" && ev.key === "e") {
      const panel = $("#edit-panel");
      if (panel) { panel.open = true; $("#edit-prompt").focus(); }
    }
    else if (page === "item" && ev.key === "j") follow("#next-link");
    else if (page === "item" && ev.key === "k") follow("#prev-link");
    else if (page === "queue" && ev.key === "j") moveRow(1);
    else if (page === "queue" && ev.key === "k") moveRow(-1);
    else if (page === "queue" && ev.key === "x" && current >= 0) {
      const box = rows[current].querySelector("input[type=checkbox]");
      box.checked = !box.checked;
    }
    else if (page === "queue" && (ev.key === "o" || ev.key === "Enter") && current >= 0) {
      window.location.assign(rows[current].dataset.href);
    }
    else handled = false;
    if (handled) ev.preventDefault();
  });
})();
