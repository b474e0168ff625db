// Small enhancements only; every page works without this file.
document.documentElement.classList.add("js");
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy]");
  if (!button || !navigator.clipboard) return;
  navigator.clipboard.writeText(button.getAttribute("data-copy")).then(() => {
    // Said on the button for a moment, then its own label again.
    const label = button.dataset.label || button.textContent;
    button.dataset.label = label;
    button.textContent = "Copied";
    clearTimeout(button.copiedTimer);
    button.copiedTimer = setTimeout(() => {
      button.textContent = label;
    }, 2000);
  });
});

// Bulk invite progress: poll the job while it runs, reload once it is done.
const job = document.querySelector("[data-job-url]");
if (job && job.dataset.finished !== "true") {
  const poll = () =>
    fetch(job.dataset.jobUrl, { credentials: "same-origin" })
      .then((response) => response.json())
      .then((state) => {
        document.getElementById("job-progress").value = state.processed;
        document.getElementById("job-processed").textContent = state.processed;
        document.getElementById("job-status").textContent = state.status;
        if (state.status === "succeeded" || state.status === "failed") {
          window.location.reload();
        } else {
          setTimeout(poll, 1000);
        }
      })
      .catch(() => setTimeout(poll, 3000));
  setTimeout(poll, 500);
}
