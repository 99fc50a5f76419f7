// The kitchen board live (templates/admin/orders/order/kitchen.html): an EventSource on the
// API's kitchen/events/ (the admin session counts there for staff); on every status change the
// board is fetched again and swapped in without a reload, and a new paid order beeps (WebAudio,
// no sound file). The status line's words come translated in data-live-text and
// data-reconnecting-text. Without EventSource the page reloads itself every data-refresh-seconds.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const board = document.getElementById("kitchen-live");
  const refreshSeconds = Number(board.dataset.refreshSeconds);
  if (!window.EventSource) {
    setTimeout(() => location.reload(), refreshSeconds * 1000);
    return;
  }
  const status = board;
  let audio = null;
  function beep() {
    // A short two-tone beep made in the page: no sound file to download.
    const Context = window.AudioContext || window.webkitAudioContext;
    document.body.dataset.kitchenBeeps = String(Number(document.body.dataset.kitchenBeeps || 0) + 1);
    if (!Context) return;
    audio = audio || new Context();
    [880, 1320].forEach((hz, i) => {
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      const start = audio.currentTime + i * 0.18;
      osc.frequency.value = hz;
      gain.gain.setValueAtTime(0.2, start);
      gain.gain.exponentialRampToValueAtTime(0.001, start + 0.16);
      osc.connect(gain).connect(audio.destination);
      osc.start(start);
      osc.stop(start + 0.17);
    });
  }
  let fetching = null;
  let again = false;
  async function redraw() {
    if (fetching) { again = true; return; }
    fetching = fetch(location.href, {credentials: "same-origin", headers: {"Accept": "text/html"}});
    try {
      const response = await fetching;
      if (!response.ok) return;
      const page = new DOMParser().parseFromString(await response.text(), "text/html");
      for (const id of ["kitchen-board", "busy-mode"]) {
        const fresh = page.getElementById(id);
        const here = document.getElementById(id);
        if (fresh && here) here.replaceWith(fresh);
      }
    } finally {
      fetching = null;
      if (again) { again = false; redraw(); }
    }
  }
  const source = new EventSource(board.dataset.eventsUrl);
  source.addEventListener("open", () => { status.textContent = board.dataset.liveText || "Live"; });
  source.addEventListener("error", () => { status.textContent = board.dataset.reconnectingText || "Reconnecting…"; });
  source.addEventListener("status_changed", (message) => {
    const event = JSON.parse(message.data);
    if (event.to_status === "paid") beep();
    redraw();
  });
});
