// The caller's feedback form (GET /public/feedback/{token}): sent as JSON to the same address.
document.getElementById("f").addEventListener("submit", async (e) => {
  e.preventDefault();
  const f = new FormData(e.target);
  const r = await fetch(location.pathname, {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({satisfaction: Number(f.get("s")), comment: f.get("c") || null, complaint: !!f.get("k")})});
  const answer = await r.json();
  document.getElementById("out").textContent = r.ok ? answer.message : answer.detail;
  if (r.ok) e.target.remove();
});
