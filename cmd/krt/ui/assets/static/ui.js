// krt's web UI: the few things the server-rendered pages cannot do alone.
// It follows server-sent events to patch the page in place (a run's DAG,
// the runs list, a node's log) and opens a node's panel without a reload.
// Every page works without it, only not live.
"use strict";

(function () {
  const done = new Set(["Succeeded", "Failed", "Skipped", "Cancelled", "Timeout"]);
  // The CLI's symbols (krt wf graph), as the server renders them.
  const symbols = { Succeeded: "✓", Failed: "✗", Timeout: "✗", Running: "●", Waiting: "⏸", Pending: "○", Skipped: "–", Cancelled: "⊘" };

  // The runs list: fetch the table again, with its filters, on a change.
  function followRuns(box) {
    const es = new EventSource(box.dataset.events);
    let busy = false;
    es.addEventListener("changed", async () => {
      if (busy) return;
      busy = true;
      try {
        const q = new URLSearchParams(location.search);
        q.set("partial", "1");
        const r = await fetch(location.pathname + "?" + q, { credentials: "same-origin" });
        if (r.ok) box.innerHTML = await r.text();
      } finally {
        busy = false;
      }
    });
  }

  // The run page: patch each node from the run's state.
  function followRun(dag) {
    const es = new EventSource(dag.dataset.events);
    let last = null, refetching = false, again = false;
    // apply patches the page from a state, and says whether the DAG lacks
    // some of its nodes.
    const apply = (st) => {
      const phase = document.getElementById("run-phase");
      if (phase) phase.replaceChildren(badge(st.phase, st.symbol));
      const msg = document.getElementById("run-message");
      if (msg) msg.textContent = st.message || "";
      const byName = new Map();
      dag.querySelectorAll("a.node").forEach((a) => byName.set(a.dataset.node, a));
      let missing = false;
      for (const n of st.nodes) {
        const a = byName.get(n.name);
        if (!a) { missing = true; continue; }
        patchNode(a, n);
      }
      dag.querySelectorAll(".group").forEach(patchGroup);
      if (st.terminal) document.getElementById("cancel")?.closest("form")?.remove();
      return missing;
    };
    // New nodes (a forEach expanded) change the layout: ask for it. The
    // layout may be older than a state that came while it was fetched,
    // so that state is applied over it, and asked for again after it.
    const refetch = () => {
      if (refetching) { again = true; return; }
      refetching = true;
      again = false;
      fetch(dag.dataset.dag, { credentials: "same-origin" }).then((r) => r.ok ? r.text() : null).then((html) => {
        if (html) dag.innerHTML = html;
        if (last) apply(last);
      }).finally(() => {
        refetching = false;
        if (again) refetch();
      });
    };
    es.addEventListener("run", (e) => {
      last = JSON.parse(e.data);
      if (apply(last)) refetch();
    });
  }

  function badge(phase, sym) {
    const s = document.createElement("span");
    s.className = "phase ph-" + phase;
    const i = document.createElement("span");
    i.setAttribute("aria-hidden", "true");
    i.textContent = sym;
    s.append(i, " " + phase);
    return s;
  }

  function patchNode(a, n) {
    a.className = a.className.replace(/\bph-\S+/, "ph-" + n.phase);
    a.querySelector(".sym").textContent = n.symbol;
    a.querySelector(".ph").textContent = n.phase;
    const meta = [];
    if (n.cluster) meta.push("cluster " + n.cluster);
    if (n.attempt > 1) meta.push("attempt " + n.attempt);
    if (n.gate && n.phase === "Waiting") meta.push("awaits approval");
    a.querySelector(".meta").textContent = meta.join(" · ");
  }

  // A group's header: how many of its nodes are done, and its fold.
  function patchGroup(g) {
    const phases = [...g.querySelectorAll("a.node .ph")].map((p) => p.textContent);
    const n = phases.filter((p) => done.has(p)).length;
    g.querySelector(".sum").textContent = n + "/" + phases.length + " done";
    let fold = "Pending";
    if (phases.includes("Failed") || phases.includes("Timeout")) fold = "Failed";
    else if (phases.includes("Running")) fold = "Running";
    else if (phases.includes("Waiting")) fold = "Waiting";
    else if (n === phases.length && phases.length) fold = phases.every((p) => p === "Skipped") ? "Skipped" : "Succeeded";
    g.className = g.className.replace(/\bph-\S+/, "ph-" + fold);
    g.querySelector(".ghead .sym").textContent = symbols[fold];
  }

  // The node panel: opened in place, its log followed as it is written.
  let logs = null;
  function openPanel(panel, html) {
    if (html !== undefined) panel.innerHTML = html;
    if (logs) { logs.close(); logs = null; }
    const p = panel.querySelector(".panel");
    if (!p) return;
    if (p.dataset.logs) followLog(p.dataset.logs);
  }

  function followLog(url) {
    const pre = document.getElementById("log");
    const state = document.getElementById("log-state");
    const es = new EventSource(url);
    logs = es;
    es.addEventListener("open", () => { state.textContent = "following"; });
    es.addEventListener("line", (e) => {
      const atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.append(e.data + "\n");
      if (atEnd) pre.scrollTop = pre.scrollHeight;
    });
    es.addEventListener("note", (e) => { state.textContent = e.data; });
    es.addEventListener("end", () => {
      es.close();
      if (state.textContent === "following" || state.textContent === "connecting…") state.textContent = "end of log";
    });
    es.onerror = () => { if (es.readyState === EventSource.CLOSED) state.textContent = "disconnected"; };
  }

  function panelLinks(dag, panel) {
    dag.addEventListener("click", async (e) => {
      const a = e.target.closest("a.node");
      if (!a || e.ctrlKey || e.metaKey || e.shiftKey) return;
      e.preventDefault();
      const r = await fetch(a.getAttribute("href") + "?partial=1", { credentials: "same-origin" });
      if (!r.ok) return;
      openPanel(panel, await r.text());
      history.replaceState(null, "", a.getAttribute("href"));
      dag.querySelectorAll("a.node[aria-current]").forEach((x) => x.removeAttribute("aria-current"));
      a.setAttribute("aria-current", "true");
      panel.querySelector("h2")?.focus();
    });
    document.addEventListener("keydown", (e) => {
      if (e.key === "Escape" && panel.contains(document.activeElement)) {
        const cur = dag.querySelector("a.node[aria-current]");
        cur?.focus();
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const runs = document.getElementById("runs-table");
    if (runs) followRuns(runs);
    const dag = document.getElementById("dag");
    const panel = document.getElementById("panel");
    if (dag) {
      followRun(dag);
      panelLinks(dag, panel);
      openPanel(panel);
    }
  });
})();
