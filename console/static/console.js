// Progressive enhancement only: every page works without this file.
// 1. "Sync now" progress: poll the integration's sync.json while a job runs.
// 2. Bulk form: the protect field checkboxes only matter for the "protect" action.
"use strict";

function pollSync(section) {
  let sawRunning = false;
  const url = section.dataset.statusUrl;
  const box = section.querySelector(".sync-progress");
  const text = section.querySelector(".sync-text");
  const bar = section.querySelector("progress");
  const link = section.querySelector(".sync-run");
  const tick = () => {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then((r) => r.json())
      .then((job) => {
        if (job.state === "idle") { return; }
        box.hidden = false;
        let line = `${job.state}: ${job.pages} page(s), ${job.courses} course(s) changed, ${job.downloads}/${job.queued} package(s)`;
        if (job.run_id) { line += ` — run #${job.run_id} ${job.status}`; }
        if (job.message) { line += ` — ${job.message}`; }
        text.textContent = line;
        section.dataset.syncState = job.state;
        if (job.state === "running") {
          sawRunning = true;
          bar.removeAttribute("value");
          setTimeout(tick, 700);
        } else {
          bar.value = 1; bar.max = 1;
          if (job.run_id) { link.href = link.dataset.runBase + job.run_id; link.hidden = false; }
          // The run changed the integration's last syncs and state: show them.
          if (sawRunning) { window.location.reload(); }
        }
      })
      .catch(() => setTimeout(tick, 2000));
  };
  tick();
}

document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("section.integration").forEach((section) => {
    const box = section.querySelector(".sync-progress");
    if (box && !box.hidden) { pollSync(section); }
  });
  const bulk = document.getElementById("bulk-form");
  if (bulk) {
    const action = bulk.querySelector("select[name=action]");
    const fields = bulk.querySelector(".fields");
    const show = () => { fields.hidden = action.value !== "protect"; };
    action.addEventListener("change", show);
    show();
  }
});
